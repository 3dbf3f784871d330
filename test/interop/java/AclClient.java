// One Apache Kafka Java client action under the security settings given as key=value arguments,
// for ACL tests: "produce" sends one record and prints "OK 1"; "consume" subscribes with the
// group and prints "OK <n>" once it read a record. A failure prints "ERROR <exception class>"
// (the cause's, for the client's wrapped ones) and exits 2, so a test can assert what a denied
// principal sees (TopicAuthorizationException, GroupAuthorizationException).
// Run as a single-file source program (Java 11+):
//   java -cp "test/interop/java/lib/*" test/interop/java/AclClient.java produce|consume BOOTSTRAP TOPIC GROUP [key=value...]

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class AclClient {
    public static void main(String[] args) {
        String mode = args[0];
        Properties common = new Properties();
        common.put("bootstrap.servers", args[1]);
        String topic = args[2];
        String group = args[3];
        for (int i = 4; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            common.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        try {
            if (mode.equals("produce")) {
                Properties pp = new Properties();
                pp.putAll(common);
                pp.put(ProducerConfig.ACKS_CONFIG, "all");
                pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "15000");
                pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
                pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
                try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp)) {
                    producer.send(new ProducerRecord<>(topic, "v".getBytes(StandardCharsets.UTF_8))).get();
                }
                System.out.println("OK 1");
            } else {
                Properties cp = new Properties();
                cp.putAll(common);
                cp.put(ConsumerConfig.GROUP_ID_CONFIG, group);
                cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
                cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
                cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
                try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp)) {
                    consumer.subscribe(List.of(topic));
                    int n = 0;
                    long deadline = System.currentTimeMillis() + 60_000;
                    while (n == 0 && System.currentTimeMillis() < deadline) n += consumer.poll(Duration.ofMillis(500)).count();
                    consumer.commitSync();
                    System.out.println(n > 0 ? "OK " + n : "NONE");
                    if (n == 0) System.exit(1);
                }
            }
        } catch (Exception e) {
            Throwable t = e;
            while (t.getCause() != null && (t instanceof java.util.concurrent.ExecutionException || t.getClass().getName().startsWith("java."))) t = t.getCause();
            System.out.println("ERROR " + t.getClass().getSimpleName() + " " + t.getMessage());
            System.exit(2);
        }
    }
}
