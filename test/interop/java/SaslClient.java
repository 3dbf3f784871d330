// The Apache Kafka Java client on a SASL listener, under the settings given as key=value
// arguments (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.*).
//   refused: an Admin call must fail with SaslAuthenticationException; prints
//            "REFUSED <exception class>: <message>" and exits 0 (1 if it connects, 2 on a timeout).
//   scram:   prints every user's SCRAM credentials through Admin.describeUserScramCredentials,
//            one "USER <name> <mechanism> <iterations>" line each.
//   run <seconds> <topic>: produces one record every 100 ms for that long with acks=all while a
//            consumer reads the topic from the beginning on its own connection; prints
//            "OK <sent> <received>" once every record was read back in order (long enough
//            runs cross several session lifetimes: the client re-authenticates by itself).
//   java -cp "test/interop/java/lib/*" test/interop/java/SaslClient.java BOOTSTRAP MODE [ARGS...] [key=value...]

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class SaslClient {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String mode = args[1];
        int first = mode.equals("run") ? 4 : 2;
        Properties common = new Properties();
        common.put("bootstrap.servers", bootstrap);
        for (int i = first; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            common.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        if (mode.equals("refused")) refused(common);
        else if (mode.equals("scram")) scram(common);
        else run(common, Integer.parseInt(args[2]), args[3]);
    }

    static void refused(Properties p) throws Exception {
        p.put("default.api.timeout.ms", "20000");
        p.put("request.timeout.ms", "20000");
        try (Admin admin = Admin.create(p)) {
            admin.describeCluster().nodes().get(25, TimeUnit.SECONDS);
            System.out.println("CONNECTED");
            System.exit(1);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            System.out.println((c instanceof SaslAuthenticationException ? "REFUSED " : "OTHER ") + c.getClass().getName() + ": " + c.getMessage());
            System.exit(c instanceof SaslAuthenticationException ? 0 : 2);
        }
    }

    static void scram(Properties p) throws Exception {
        try (Admin admin = Admin.create(p)) {
            for (var d : admin.describeUserScramCredentials().all().get(30, TimeUnit.SECONDS).values()) {
                for (var c : d.credentialInfos()) System.out.println("USER " + d.name() + " " + c.mechanism().mechanismName() + " " + c.iterations());
            }
        }
    }

    static void run(Properties common, int seconds, String topic) throws Exception {
        Properties pp = new Properties();
        pp.putAll(common);
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        Properties cp = new Properties();
        cp.putAll(common);
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<String> got = new ArrayList<>();
        int sent = 0;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp); KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp)) {
            producer.send(new ProducerRecord<>(topic, ("v" + sent).getBytes(StandardCharsets.UTF_8))).get();
            sent++;
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = System.currentTimeMillis() + seconds * 1000L;
            while (System.currentTimeMillis() < end) {
                producer.send(new ProducerRecord<>(topic, ("v" + sent).getBytes(StandardCharsets.UTF_8))).get();
                sent++;
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) got.add(new String(r.value(), StandardCharsets.UTF_8));
            }
            long deadline = System.currentTimeMillis() + 30_000;
            while (got.size() < sent && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) got.add(new String(r.value(), StandardCharsets.UTF_8));
            }
        }
        for (int i = 0; i < sent; i++) {
            if (got.size() <= i || !got.get(i).equals("v" + i)) {
                System.out.println("MISMATCH at " + i + " of " + sent + ": " + got.size() + " received");
                System.exit(1);
            }
        }
        System.out.println("OK " + sent + " " + got.size());
    }
}
