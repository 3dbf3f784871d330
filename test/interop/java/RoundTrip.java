// Round trip with the Apache Kafka Java client: see test/interop/roundtrip.ts for the contract.
// Run as a single-file source program (Java 11+):
//   java -cp "test/interop/java/lib/*" test/interop/java/RoundTrip.java BOOTSTRAP TOPIC COUNT TOKEN COMPRESSION

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class RoundTrip {
    static final long TIMEOUT_MS = 90_000;

    static String keyOf(int i) {
        return "key-" + (i % 13);
    }

    static String valueOf(String token, int i) {
        return token + "|" + i + "|" + "\u00e9".repeat(i % 7) + "z".repeat(i % 50);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String text(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    /**
     * The client's version, from the properties file kafka-clients ships. Its reader,
     * AppInfoParser, is not public API: 4.4.0 moved it to org.apache.kafka.common.utils.internals.
     */
    static String clientVersion() {
        try (InputStream in = KafkaProducer.class.getResourceAsStream("/kafka/kafka-version.properties")) {
            Properties p = new Properties();
            if (in != null) p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    static String json(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
            }
        }
        return b.append('"').toString();
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        int count = Integer.parseInt(args[2]);
        String token = args[3];
        String compression = args[4];

        List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        long[][] delivered = new long[count][];
        AtomicInteger acked = new AtomicInteger();

        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        pp.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
        pp.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT_MS / 3));
        pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT_MS / 6));
        pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Long.toString(TIMEOUT_MS / 6));
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp)) {
            for (int n = 0; n < count; n++) {
                final int i = n;
                ProducerRecord<byte[], byte[]> rec = new ProducerRecord<>(topic, utf8(keyOf(i)), utf8(valueOf(token, i)));
                rec.headers().add("seq", utf8(Integer.toString(i)));
                try {
                    producer.send(rec, (md, e) -> {
                        if (e != null) {
                            if (errors.size() < 20) errors.add("delivery of record " + i + " failed: " + e);
                        } else {
                            delivered[i] = new long[] {md.partition(), md.offset()};
                            acked.incrementAndGet();
                        }
                    });
                } catch (Exception e) {
                    errors.add("send of record " + i + " threw: " + e);
                    break;
                }
            }
            producer.flush();
        } catch (Exception e) {
            errors.add("producer: " + e);
        }

        int partitionCount = 0;
        List<String> records = new ArrayList<>();
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cp.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT_MS / 6));
        cp.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT_MS / 6));
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo pi : consumer.partitionsFor(topic)) tps.add(new TopicPartition(topic, pi.partition()));
            partitionCount = tps.size();
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS / 3);
            while (records.size() < count && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    Header seq = r.headers().lastHeader("seq");
                    records.add("[" + r.partition() + "," + r.offset() + "," + json(text(r.key())) + ","
                            + json(text(r.value())) + "," + json(seq == null ? null : text(seq.value())) + "]");
                }
            }
        } catch (Exception e) {
            errors.add("consumer: " + e);
        }

        StringBuilder out = new StringBuilder();
        out.append("{\"client\":").append(json("kafka-clients " + clientVersion()));
        out.append(",\"topic\":").append(json(topic));
        out.append(",\"partitions\":").append(partitionCount);
        out.append(",\"acked\":").append(acked.get());
        out.append(",\"errors\":[");
        synchronized (errors) {
            for (int k = 0; k < errors.size(); k++) out.append(k == 0 ? "" : ",").append(json(errors.get(k)));
        }
        out.append("],\"delivered\":[");
        for (int k = 0; k < count; k++) {
            long[] d = delivered[k];
            out.append(k == 0 ? "" : ",").append(d == null ? "null" : "[" + d[0] + "," + d[1] + "]");
        }
        out.append("],\"records\":[").append(String.join(",", records)).append("]}");
        System.out.println(out);
        System.out.flush();
        // Kafka client threads are daemons, but leave no doubt.
        System.exit(0);
    }
}
