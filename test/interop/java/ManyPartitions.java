// The Java consumer on a topic of many partitions, which it fetches through a fetch session
// (KIP-227) when the broker grants one: a first part of the records is written before the
// consumer starts (its first, full fetch returns every partition), the rest while it polls, a
// few partitions at a time (its incremental fetches return only those).
// Run as a single-file source program (Java 11+):
//   java -cp "test/interop/java/lib/*" test/interop/java/ManyPartitions.java BOOTSTRAP TOPIC PARTITIONS PER_PARTITION TOKEN
// Prints one JSON object: { errors: [string], acked, records: [[partition, offset, seq]] (in the
// order consumed) }, where record seq of a partition has the value TOKEN|partition|seq.

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class ManyPartitions {
    static final long TIMEOUT_MS = 90_000;
    /** Records of each partition written before the consumer starts. */
    static final int FIRST = 5;
    /** Partitions written to in each later wave. */
    static final int WAVE = 16;

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        int partitions = Integer.parseInt(args[2]);
        int perPartition = Integer.parseInt(args[3]);
        String token = args[4];
        List<String> errors = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger acked = new AtomicInteger();

        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(ap)) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }

        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        pp.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT_MS / 3));
        pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT_MS / 6));
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp);
        int[] written = new int[partitions];
        java.util.function.IntConsumer send = (p) -> {
            int seq = written[p]++;
            byte[] value = (token + "|" + p + "|" + seq).getBytes(StandardCharsets.UTF_8);
            producer.send(new ProducerRecord<>(topic, p, null, value), (md, e) -> {
                if (e != null) {
                    if (errors.size() < 20) errors.add("delivery to partition " + p + " failed: " + e);
                } else {
                    acked.incrementAndGet();
                }
            });
        };
        for (int i = 0; i < FIRST; i++) for (int p = 0; p < partitions; p++) send.accept(p);
        producer.flush();

        // The later waves, while the consumer polls: a few partitions at a time.
        Thread writer = new Thread(() -> {
            Random random = new Random(42);
            List<Integer> open = new ArrayList<>();
            for (int p = 0; p < partitions; p++) open.add(p);
            try {
                Thread.sleep(1000);
                while (!open.isEmpty()) {
                    Collections.shuffle(open, random);
                    for (int k = 0; k < Math.min(WAVE, open.size()); k++) send.accept(open.get(k));
                    producer.flush();
                    open.removeIf((p) -> written[p] >= perPartition);
                    Thread.sleep(20);
                }
            } catch (Exception e) {
                errors.add("writer: " + e);
            }
        });

        int total = partitions * perPartition;
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
            for (int p = 0; p < partitions; p++) tps.add(new TopicPartition(topic, p));
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            writer.start();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS / 2);
            while (records.size() < total && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    String[] parts = new String(r.value(), StandardCharsets.UTF_8).split("\\|");
                    if (!parts[0].equals(token) || Integer.parseInt(parts[1]) != r.partition()) {
                        if (errors.size() < 20) errors.add("unexpected record at " + r.partition() + "@" + r.offset());
                        continue;
                    }
                    records.add("[" + r.partition() + "," + r.offset() + "," + parts[2] + "]");
                }
            }
        } catch (Exception e) {
            errors.add("consumer: " + e);
        }
        writer.join(TIMEOUT_MS / 3);
        producer.close(Duration.ofSeconds(10));

        StringBuilder out = new StringBuilder("{\"errors\":[");
        synchronized (errors) {
            for (int k = 0; k < errors.size(); k++) out.append(k == 0 ? "" : ",").append('"').append(errors.get(k).replace("\\", "\\\\").replace("\"", "'").replace("\n", " ")).append('"');
        }
        out.append("],\"acked\":").append(acked.get());
        out.append(",\"records\":[").append(String.join(",", records)).append("]}");
        System.out.println(out);
        System.out.flush();
        System.exit(0);
    }
}
