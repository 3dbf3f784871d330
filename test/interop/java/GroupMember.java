// A consumer-group member with the Apache Kafka Java client, for the group acceptance tests
// (see test/helpers/group-harness.ts for the stdout contract).
//   javac -cp "test/interop/java/lib/*" -d OUT test/interop/java/GroupMember.java
//   java -cp "OUT:test/interop/java/lib/*" GroupMember BOOTSTRAP TOPIC GROUP NAME [key=value ...]
// TOPIC may be re:PATTERN, a regular expression the broker resolves (group.protocol=consumer).
// The key=value pairs are consumer properties (e.g. group.instance.id=..., or
// partition.assignment.strategy=..., group.protocol=consumer), plus member.commit=sync (default: commitSync after
// every non-empty poll, after the records were printed) or member.commit=auto.
// Closes the consumer when stdin ends (a static member does not leave the group then).

import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.SubscriptionPattern;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class GroupMember {
    static final PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);

    static String json(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                default:
                    if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
            }
        }
        return b.append('"').toString();
    }

    static String parts(Collection<TopicPartition> ps) {
        List<Integer> l = new ArrayList<>();
        for (TopicPartition tp : ps) l.add(tp.partition());
        java.util.Collections.sort(l);
        return l.toString().replace(" ", "");
    }

    static synchronized void print(String line) {
        out.println(line);
        out.flush();
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1], group = args[2], name = args[3];
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "java-" + name);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, "20000");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG, "300");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        String commit = "sync";
        for (int i = 4; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            String k = args[i].substring(0, eq), v = args[i].substring(eq + 1);
            if (k.equals("member.commit")) commit = v;
            else p.put(k, v);
        }
        // The consumer protocol (KIP-848) takes session and heartbeat times from the broker, and
        // the Java client refuses these settings with it.
        if (!"consumer".equalsIgnoreCase(p.getProperty(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic"))) {
            p.putIfAbsent(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
            p.putIfAbsent(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
        }
        if (commit.equals("auto")) p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "true");
        final boolean syncCommit = commit.equals("sync");

        AtomicBoolean stop = new AtomicBoolean(false);
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p);
        Thread stdin = new Thread(() -> {
            try {
                InputStream in = System.in;
                byte[] buf = new byte[256];
                while (in.read(buf) >= 0) { /* until end of file */ }
            } catch (Exception e) { /* closed */ }
            stop.set(true);
            consumer.wakeup();
        });
        stdin.setDaemon(true);
        stdin.start();

        ConsumerRebalanceListener listener = new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> ps) {
                print("{\"ev\":\"revoked\",\"partitions\":" + parts(ps) + "}");
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> ps) {
                print("{\"ev\":\"lost\",\"partitions\":" + parts(ps) + "}");
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> ps) {
                ConsumerGroupMetadata md = consumer.groupMetadata();
                print("{\"ev\":\"assigned\",\"partitions\":" + parts(consumer.assignment()) + ",\"gen\":" + md.generationId()
                    + ",\"member\":" + json(md.memberId()) + ",\"instance\":" + json(md.groupInstanceId().orElse(null)) + "}");
            }
        };
        // "re:PATTERN" subscribes by a regular expression the broker resolves (consumer protocol, KIP-848).
        if (topic.startsWith("re:")) consumer.subscribe(new SubscriptionPattern(topic.substring(3)), listener);
        else consumer.subscribe(List.of(topic), listener);

        int lastGen = -2;
        String lastMember = null;
        try {
            while (!stop.get()) {
                ConsumerRecords<byte[], byte[]> recs;
                try {
                    recs = consumer.poll(Duration.ofMillis(200));
                } catch (WakeupException e) {
                    break;
                }
                StringBuilder sb = new StringBuilder();
                for (ConsumerRecord<byte[], byte[]> r : recs) {
                    String v = r.value() == null ? null : new String(r.value(), StandardCharsets.UTF_8);
                    sb.append("{\"ev\":\"rec\",\"t\":").append(json(r.topic())).append(",\"p\":").append(r.partition()).append(",\"o\":").append(r.offset())
                        .append(",\"v\":").append(json(v)).append("}\n");
                }
                if (sb.length() > 0) {
                    synchronized (GroupMember.class) {
                        out.print(sb);
                        out.flush();
                    }
                    if (syncCommit) {
                        try {
                            consumer.commitSync();
                        } catch (WakeupException e) {
                            break;
                        } catch (Exception e) {
                            print("{\"ev\":\"error\",\"msg\":" + json("commitSync: " + e) + "}");
                        }
                    }
                }
                ConsumerGroupMetadata md = consumer.groupMetadata();
                if (md.generationId() != lastGen || !md.memberId().equals(lastMember)) {
                    lastGen = md.generationId();
                    lastMember = md.memberId();
                    if (lastGen >= 0) print("{\"ev\":\"gen\",\"gen\":" + lastGen + ",\"member\":" + json(lastMember) + "}");
                }
            }
        } catch (Exception e) {
            print("{\"ev\":\"error\",\"msg\":" + json("poll: " + e) + "}");
        } finally {
            try {
                consumer.close(Duration.ofSeconds(10));
                print("{\"ev\":\"closed\"}");
            } catch (Exception e) {
                print("{\"ev\":\"error\",\"msg\":" + json("close: " + e) + "}");
            }
        }
        System.exit(0);
    }
}
