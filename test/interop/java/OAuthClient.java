// The Apache Kafka Java client with sasl.mechanism=OAUTHBEARER and a login callback handler of
// ours (sasl.login.callback.handler.class) that hands the client JWTs the test signed, read from
// files named in the JAAS option tokenFiles (comma-separated): the n-th token request gets the
// n-th file, the last one repeated. The client's own refreshing login asks again before a
// token expires, so a later file is how a test gives it a fresh token.
//
// Run as a single-file source program (Java 11+), from test/interop/java:
//   java -cp "lib/*" OAuthClient.java roundtrip BOOTSTRAP TOPIC COUNT TOKENFILES [key=value...]
//       produces COUNT records and reads them back; prints "OK <count>"
//   java -cp "lib/*" OAuthClient.java refused BOOTSTRAP TOKENFILES [key=value...]
//       expects authentication to fail; prints "REFUSED <exception class>: <message>" (exit 0),
//       "CONNECTED" (exit 1) if it works, "HUNG ..." (exit 2) if it only times out
//   java -cp "lib/*" OAuthClient.java reauth BOOTSTRAP TOPIC SECONDS TOKENFILES [key=value...]
//       produces one record every 250 ms for SECONDS seconds through one producer, then prints a
//       JSON summary: records sent, the client's re-authentication metrics (KIP-368) and how many
//       tokens the handler handed out
// The key=value arguments are client settings (security.protocol=SASL_SSL, ssl.truststore.*).

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.auth.SaslExtensionsCallback;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerToken;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerTokenCallback;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class OAuthClient {
    static final AtomicInteger TOKENS_HANDED_OUT = new AtomicInteger();

    /** Hands the client the JWT of the next file of the JAAS option tokenFiles. */
    public static class FileTokenHandler implements AuthenticateCallbackHandler {
        private List<String> files = List.of();
        private int calls = 0;

        @Override
        public void configure(Map<String, ?> configs, String saslMechanism, List<AppConfigurationEntry> jaasConfigEntries) {
            Object opt = jaasConfigEntries.get(0).getOptions().get("tokenFiles");
            if (opt == null) throw new IllegalArgumentException("JAAS option tokenFiles is required");
            files = Arrays.asList(opt.toString().split(","));
        }

        @Override
        public synchronized void handle(Callback[] callbacks) throws IOException, UnsupportedCallbackException {
            for (Callback cb : callbacks) {
                if (cb instanceof OAuthBearerTokenCallback) {
                    String file = files.get(Math.min(calls, files.size() - 1));
                    calls++;
                    TOKENS_HANDED_OUT.incrementAndGet();
                    ((OAuthBearerTokenCallback) cb).token(tokenOf(Files.readString(Path.of(file)).trim()));
                } else if (!(cb instanceof SaslExtensionsCallback)) {
                    throw new UnsupportedCallbackException(cb);
                }
            }
        }

        @Override
        public void close() {}
    }

    private static long claim(String json, String name, long otherwise) {
        Matcher m = Pattern.compile("\"" + name + "\":(\\d+)").matcher(json);
        return m.find() ? Long.parseLong(m.group(1)) : otherwise;
    }

    /**
     * The client-side view of a JWT. The client does not check the token (the broker does); an
     * already expired token is given an hour of lifetime here so that the client still sends it.
     */
    static OAuthBearerToken tokenOf(String jwt) {
        String[] parts = jwt.split("\\.");
        String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
        Matcher sub = Pattern.compile("\"sub\":\"([^\"]*)\"").matcher(payload);
        String principal = sub.find() ? sub.group(1) : "unknown";
        long now = System.currentTimeMillis();
        long exp = claim(payload, "exp", 0) * 1000;
        long lifetime = exp > now ? exp : now + 3_600_000;
        long iat = claim(payload, "iat", now / 1000) * 1000;
        return new OAuthBearerToken() {
            public String value() { return jwt; }
            public Set<String> scope() { return Set.of(); }
            public long lifetimeMs() { return lifetime; }
            public String principalName() { return principal; }
            public Long startTimeMs() { return iat; }
        };
    }

    static Properties common(String bootstrap, String tokenFiles, String[] args, int from) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("security.protocol", "SASL_PLAINTEXT");
        p.put("sasl.mechanism", "OAUTHBEARER");
        p.put("sasl.jaas.config", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required tokenFiles=\"" + tokenFiles + "\";");
        // A Class object, not a name: this program's classes live in the source launcher's loader.
        p.put("sasl.login.callback.handler.class", FileTokenHandler.class);
        for (int i = from; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            p.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        return p;
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "roundtrip": roundTrip(args); break;
            case "refused": refused(args); break;
            case "reauth": reauth(args); break;
            default: throw new IllegalArgumentException("mode must be roundtrip, refused or reauth");
        }
    }

    static void roundTrip(String[] args) throws Exception {
        String topic = args[2];
        int count = Integer.parseInt(args[3]);
        Properties base = common(args[1], args[4], args, 5);
        Properties pp = new Properties();
        pp.putAll(base);
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp)) {
            for (int i = 0; i < count; i++) producer.send(new ProducerRecord<>(topic, ("v" + i).getBytes(StandardCharsets.UTF_8))).get();
        }
        Properties cp = new Properties();
        cp.putAll(base);
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<String> got = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long deadline = System.currentTimeMillis() + 60_000;
            while (got.size() < count && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) got.add(new String(r.value(), StandardCharsets.UTF_8));
            }
        }
        for (int i = 0; i < count; i++) {
            if (got.size() <= i || !got.get(i).equals("v" + i)) {
                System.out.println("MISMATCH at " + i + ": " + got);
                System.exit(1);
            }
        }
        System.out.println("OK " + got.size());
    }

    static void refused(String[] args) throws Exception {
        Properties p = common(args[1], args[2], args, 3);
        p.put("default.api.timeout.ms", "20000");
        p.put("request.timeout.ms", "20000");
        try (Admin admin = Admin.create(p)) {
            admin.describeCluster().nodes().get(25_000, TimeUnit.MILLISECONDS);
            System.out.println("CONNECTED");
            System.exit(1);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof org.apache.kafka.common.errors.TimeoutException) {
                System.out.println("HUNG " + c.getClass().getName() + ": " + c.getMessage());
                System.exit(2);
            }
            System.out.println("REFUSED " + c.getClass().getName() + ": " + c.getMessage());
            System.exit(0);
        } catch (java.util.concurrent.TimeoutException e) {
            System.out.println("HUNG");
            System.exit(2);
        }
    }

    static double metric(Map<MetricName, ? extends Metric> metrics, String name) {
        double total = 0;
        for (Map.Entry<MetricName, ? extends Metric> e : metrics.entrySet()) {
            if (e.getKey().name().equals(name) && e.getKey().group().equals("producer-metrics")) total += ((Number) e.getValue().metricValue()).doubleValue();
        }
        return total;
    }

    static void reauth(String[] args) throws Exception {
        String topic = args[2];
        long seconds = Long.parseLong(args[3]);
        Properties pp = common(args[1], args[4], args, 5);
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        // Refresh the token half-way through its life, however short it is.
        pp.putIfAbsent("sasl.login.refresh.window.factor", "0.5");
        pp.putIfAbsent("sasl.login.refresh.window.jitter", "0");
        pp.putIfAbsent("sasl.login.refresh.min.period.seconds", "0");
        pp.putIfAbsent("sasl.login.refresh.buffer.seconds", "0");
        int sent = 0;
        String error = "";
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp)) {
            long end = System.currentTimeMillis() + seconds * 1000;
            while (System.currentTimeMillis() < end) {
                try {
                    producer.send(new ProducerRecord<>(topic, ("r" + sent).getBytes(StandardCharsets.UTF_8))).get(20, TimeUnit.SECONDS);
                    sent++;
                } catch (Exception e) {
                    error = e.toString();
                    break;
                }
                Thread.sleep(250);
            }
            Map<MetricName, ? extends Metric> m = producer.metrics();
            System.out.println("{\"sent\":" + sent
                + ",\"reauthentications\":" + (long) metric(m, "successful-reauthentication-total")
                + ",\"failedReauthentications\":" + (long) metric(m, "failed-reauthentication-total")
                + ",\"authentications\":" + (long) metric(m, "successful-authentication-total")
                + ",\"tokensHandedOut\":" + TOKENS_HANDED_OUT.get()
                + ",\"error\":\"" + error.replace("\\", "\\\\").replace("\"", "'").replace("\n", " ") + "\"}");
        }
    }
}
