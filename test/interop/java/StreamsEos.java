// Kafka Streams (4.x) exactly-once under SIGKILL, for streams-eos.test.ts. Proves that a
// broker's transactions (InitProducerId fencing on restart, AddPartitionsToTxn,
// TxnOffsetCommit, EndTxn, read_committed fetch) give Kafka Streams exactly_once_v2: every
// input record is counted once, however often the application or the broker is killed.
//   fill    BOOTSTRAP INPUT OUTPUT PARTITIONS N KEYS
//           creates INPUT and OUTPUT with PARTITIONS partitions and writes N records to INPUT,
//           record i with key "k" + key(i) and value 1 (a long); prints the count per key.
//   run     BOOTSTRAP APP_ID INPUT OUTPUT STATE_DIR GUARANTEE
//           the application: INPUT -> groupByKey -> reduce(sum) in a persistent store, caching
//           off (every input record emits one update) -> OUTPUT, commit.interval.ms 100. Prints
//           "STATE <state>" lines, "PROCESSED n" (input records this process has processed,
//           committed or not) and "PROGRESS n/N" (the group's committed input offsets against
//           the end offsets); once the committed offsets reach the input's end it closes and
//           prints "DONE". GUARANTEE is exactly_once_v2 or at_least_once.
//   verify  BOOTSTRAP OUTPUT
//           reads OUTPUT with read_committed to its end; prints every key's values in order.
// Run as a single-file source program:
//   java -cp "test/interop/java/lib/*" test/interop/java/StreamsEos.java MODE ...

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;

public class StreamsEos {
    static void out(String line) {
        synchronized (System.out) {
            System.out.println(line);
            System.out.flush();
        }
    }

    /** Uneven key popularity, so that the counts differ from key to key. */
    static int keyOf(int i, int keys) {
        return i % 3 == 0 ? i % 5 : i % keys;
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "fill": fill(args); break;
            case "run": runApp(args); break;
            case "verify": verify(args); break;
            default: throw new IllegalArgumentException("mode " + args[0]);
        }
        System.out.flush();
        System.exit(0);
    }

    static Admin admin(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        return Admin.create(p);
    }

    static void fill(String[] args) throws Exception {
        String bootstrap = args[1], input = args[2], output = args[3];
        int partitions = Integer.parseInt(args[4]), n = Integer.parseInt(args[5]), keys = Integer.parseInt(args[6]);
        try (Admin admin = admin(bootstrap)) {
            admin.createTopics(List.of(new NewTopic(input, partitions, (short) 1), new NewTopic(output, partitions, (short) 1)))
                    .all().get(30, TimeUnit.SECONDS);
        }
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.LINGER_MS_CONFIG, "10");
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, LongSerializer.class.getName());
        TreeMap<String, Integer> counts = new TreeMap<>();
        try (KafkaProducer<String, Long> producer = new KafkaProducer<>(pp)) {
            for (int i = 0; i < n; i++) {
                String key = "k" + keyOf(i, keys);
                counts.merge(key, 1, Integer::sum);
                producer.send(new ProducerRecord<>(input, key, 1L), (md, e) -> {
                    if (e != null) out("ERROR produce: " + e);
                });
            }
            producer.flush();
        }
        StringBuilder b = new StringBuilder("{\"counts\":{");
        int k = 0;
        for (Map.Entry<String, Integer> e : counts.entrySet()) b.append(k++ == 0 ? "" : ",").append('"').append(e.getKey()).append("\":").append(e.getValue());
        out(b.append("}}").toString());
    }

    static void runApp(String[] args) throws Exception {
        String bootstrap = args[1], appId = args[2], input = args[3], output = args[4], stateDir = args[5], guarantee = args[6];
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "100");
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, "0");
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "1");
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, "1");
        p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
        p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.LongSerde.class.getName());
        // A killed instance leaves a member behind; its session must end soon for the next
        // instance's rebalance to complete (the broker's group.min.session.timeout.ms allows it).
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), "2000");
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), "500");
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG), "500");
        p.put(StreamsConfig.producerPrefix(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG), "500");
        p.put(StreamsConfig.adminClientPrefix(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG), "500");

        AtomicLong processed = new AtomicLong();
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(input, Consumed.with(Serdes.String(), Serdes.Long()))
                .peek((k, v) -> processed.incrementAndGet())
                .groupByKey()
                .reduce(Long::sum, Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("sums").withCachingDisabled())
                .toStream()
                .to(output, Produced.with(Serdes.String(), Serdes.Long()));

        KafkaStreams streams = new KafkaStreams(builder.build(), p);
        streams.setStateListener((now, was) -> out("STATE " + now));
        streams.setUncaughtExceptionHandler((Throwable e) -> {
            out("THREAD_ERROR " + e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        streams.start();
        Thread reporter = new Thread(() -> {
            long last = -1;
            try {
                for (;;) {
                    long now = processed.get();
                    if (now != last) out("PROCESSED " + now);
                    last = now;
                    Thread.sleep(20);
                }
            } catch (InterruptedException e) {
                // closing
            }
        });
        reporter.setDaemon(true);
        reporter.start();

        // Done when the group's committed offsets (moved by the transactions) reach the input's end.
        try (Admin admin = admin(bootstrap)) {
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            int partitions = admin.describeTopics(List.of(input)).allTopicNames().get(30, TimeUnit.SECONDS).get(input).partitions().size();
            for (int q = 0; q < partitions; q++) latest.put(new TopicPartition(input, q), OffsetSpec.latest());
            long total = -1;
            String last = "";
            for (;;) {
                Thread.sleep(250);
                try {
                    if (total < 0) {
                        total = 0;
                        for (ListOffsetsResult.ListOffsetsResultInfo i : admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).values()) total += i.offset();
                    }
                    Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(appId).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
                    long done = 0;
                    for (OffsetAndMetadata o : committed.values()) if (o != null) done += o.offset();
                    String now = "PROGRESS " + done + "/" + total;
                    if (!now.equals(last)) out(now);
                    last = now;
                    if (done >= total) break;
                } catch (Exception e) {
                    out("WAITING " + e.getClass().getSimpleName());
                }
            }
        }
        streams.close(Duration.ofSeconds(30));
        out("DONE");
    }

    static void verify(String[] args) throws Exception {
        String bootstrap = args[1], output = args[2];
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cp.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, LongDeserializer.class.getName());
        Map<String, List<Long>> values = new TreeMap<>();
        Map<String, Integer> partitionOf = new HashMap<>();
        List<String> errors = new ArrayList<>();
        long records = 0;
        try (KafkaConsumer<String, Long> consumer = new KafkaConsumer<>(cp)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo pi : consumer.partitionsFor(output)) tps.add(new TopicPartition(output, pi.partition()));
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            // The last stable offset: every transaction of the application is over by now.
            Map<TopicPartition, Long> end = consumer.endOffsets(tps);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            for (;;) {
                boolean done = true;
                for (TopicPartition tp : tps) if (consumer.position(tp) < end.get(tp)) done = false;
                if (done) break;
                if (System.nanoTime() > deadline) {
                    errors.add("not at the end offsets " + end + " after 60 s");
                    break;
                }
                for (ConsumerRecord<String, Long> r : consumer.poll(Duration.ofMillis(200))) {
                    records++;
                    values.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value());
                    Integer was = partitionOf.put(r.key(), r.partition());
                    if (was != null && was != r.partition()) errors.add("key " + r.key() + " in partitions " + was + " and " + r.partition());
                }
            }
        }
        StringBuilder b = new StringBuilder("{\"records\":" + records + ",\"errors\":[");
        for (int k = 0; k < errors.size(); k++) b.append(k == 0 ? "" : ",").append('"').append(errors.get(k).replace("\"", "'")).append('"');
        b.append("],\"values\":{");
        int k = 0;
        for (Map.Entry<String, List<Long>> e : values.entrySet()) {
            b.append(k++ == 0 ? "" : ",").append('"').append(e.getKey()).append("\":[");
            List<Long> vs = e.getValue();
            for (int j = 0; j < vs.size(); j++) b.append(j == 0 ? "" : ",").append(vs.get(j));
            b.append(']');
        }
        out(b.append("}}").toString());
    }
}
