// A share group member (KIP-932) with the Apache Kafka Java client's KafkaShareConsumer, for
// test/interop/share-groups-java.test.ts.
//   javac -cp "test/interop/java/lib/*" -d OUT test/interop/java/ShareMember.java
//   java -cp "OUT:test/interop/java/lib/*" ShareMember BOOTSTRAP TOPIC GROUP MODE [key=value ...]
// MODE accept: acknowledges every record it prints (ACCEPT, explicit mode) and commits the
//   acknowledgements (commitSync) after each poll; closes the consumer gracefully once stdin
//   ends.
// MODE hold: prints the records of its first non-empty poll and then never acknowledges nor
//   polls again (the test SIGKILLs it): its records are locked to it until the lock expires.
// Prints one JSON object per line: {"ev":"rec","o":12,"v":"tok|12","d":1} (offset, value,
// delivery count), {"ev":"error","msg":"..."}, {"ev":"closed"}. The key=value pairs are
// consumer properties.

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;

public class ShareMember {
    static final PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);

    static synchronized void print(String line) {
        out.println(line);
        out.flush();
    }

    static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1], group = args[2], mode = args[3];
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("group.id", group);
        props.put("client.id", "share-" + mode);
        props.put("key.deserializer", StringDeserializer.class.getName());
        props.put("value.deserializer", StringDeserializer.class.getName());
        props.put("share.acknowledgement.mode", "explicit");
        for (int i = 4; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            props.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        KafkaShareConsumer<String, String> consumer = new KafkaShareConsumer<>(props);
        AtomicBoolean stop = new AtomicBoolean(false);
        Thread stdin = new Thread(() -> {
            try {
                while (System.in.read() >= 0) { /* until end of input */ }
            } catch (Exception e) { /* treat as end */ }
            stop.set(true);
            consumer.wakeup();
        });
        stdin.setDaemon(true);
        stdin.start();
        consumer.subscribe(List.of(topic));
        try {
            while (!stop.get()) {
                ConsumerRecords<String, String> records;
                try {
                    records = consumer.poll(Duration.ofMillis(500));
                } catch (WakeupException e) {
                    break;
                }
                if (records.isEmpty()) continue;
                for (ConsumerRecord<String, String> r : records) {
                    print("{\"ev\":\"rec\",\"o\":" + r.offset() + ",\"v\":" + json(r.value()) + ",\"d\":" + r.deliveryCount().map(String::valueOf).orElse("-1") + "}");
                    if (mode.equals("accept")) consumer.acknowledge(r, AcknowledgeType.ACCEPT);
                }
                if (mode.equals("hold")) {
                    // Keep the records locked: never poll again (polling would acknowledge or renew).
                    while (true) Thread.sleep(60_000);
                }
                consumer.commitSync(Duration.ofSeconds(30));
            }
        } catch (Exception e) {
            print("{\"ev\":\"error\",\"msg\":" + json(String.valueOf(e)) + "}");
        } finally {
            consumer.close(Duration.ofSeconds(10));
            print("{\"ev\":\"closed\"}");
        }
    }
}
