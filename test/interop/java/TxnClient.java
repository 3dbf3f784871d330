// Transactions with the Apache Kafka Java client (kafka-clients 4.x), for transactions-java.test.ts.
// Proves, with the modes below, that a broker's transaction coordinator and read_committed
// fetch behave as Kafka's do for the Java client (produce and consume follow the contract of
// test/interop/transactions.ts, shared with python/txn_confluent.py):
//   produce  BOOTSTRAP TOPIC TXN_ID TOKEN TXNS PER_TXN ABORT_EVERY
//            a transactional producer writes TXNS transactions of PER_TXN records, record i of
//            the run going to partition i % partitions with value TOKEN|txn|i; transaction t is
//            aborted when (t + 1) % ABORT_EVERY == 0, committed otherwise.
//   consume  BOOTSTRAP TOPIC ISOLATION      (read_committed | read_uncommitted)
//            assign() + seekToBeginning(), reads until the position of every partition reaches
//            its end offset; prints the records, the end offsets and the final positions.
//   fence    BOOTSTRAP TOPIC TXN_ID TOKEN
//            producer A begins a transaction and sends 10 records, producer B (same
//            transactional.id) calls initTransactions, then A sends again and commits (round
//            "send") or just commits (round "commit"): prints the exceptions A got; then B
//            commits 10 records of its own.
// Each mode prints one JSON object on stdout (last line). Run as a single-file source program:
//   java -cp "test/interop/java/lib/*" test/interop/java/TxnClient.java MODE ...

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.FeatureMetadata;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class TxnClient {
    static final long TIMEOUT_MS = 60_000;

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

    static String jsonList(List<String> items) {
        StringBuilder b = new StringBuilder("[");
        synchronized (items) {
            for (int k = 0; k < items.size(); k++) b.append(k == 0 ? "" : ",").append(json(items.get(k)));
        }
        return b.append(']').toString();
    }

    static String clientVersion() {
        try (InputStream in = KafkaProducer.class.getResourceAsStream("/kafka/kafka-version.properties")) {
            Properties p = new Properties();
            if (in != null) p.load(in);
            return "kafka-clients " + p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "kafka-clients unknown";
        }
    }

    /** An exception and its causes, class names and messages, for the summary. */
    static String describe(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (b.length() > 0) b.append(" <- ");
            b.append(t.getClass().getName()).append(": ").append(t.getMessage());
            if (t.getCause() == t) break;
        }
        return b.toString();
    }

    static Properties producerProps(String bootstrap, String txnId) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "30000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT_MS / 2));
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT_MS / 4));
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Long.toString(TIMEOUT_MS / 2));
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return p;
    }

    /** transaction.version as the broker finalizes it (Admin describeFeatures), or -1 when not finalized. */
    static int finalizedTransactionVersion(String bootstrap, List<String> errors) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        try (Admin admin = Admin.create(p)) {
            FeatureMetadata fm = admin.describeFeatures().featureMetadata().get(30, TimeUnit.SECONDS);
            FinalizedVersionRange r = fm.finalizedFeatures().get("transaction.version");
            return r == null ? -1 : r.maxVersionLevel();
        } catch (Exception e) {
            errors.add("describeFeatures: " + describe(e));
            return -2;
        }
    }

    /**
     * Whether this producer runs transactions as KIP-890 version 2 (the client decides from the
     * broker's finalized features). Not public API: read through reflection; null when that fails.
     */
    static Boolean clientUsesTv2(KafkaProducer<?, ?> producer) {
        try {
            Field f = KafkaProducer.class.getDeclaredField("transactionManager");
            f.setAccessible(true);
            Object tm = f.get(producer);
            Method m = tm.getClass().getDeclaredMethod("isTransactionV2Enabled");
            m.setAccessible(true);
            return (Boolean) m.invoke(tm);
        } catch (Exception | Error e) {
            return null;
        }
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "produce": produce(args); break;
            case "consume": consume(args); break;
            case "fence": fence(args); break;
            default: throw new IllegalArgumentException("mode " + args[0]);
        }
        System.out.flush();
        System.exit(0);
    }

    static void produce(String[] args) {
        String bootstrap = args[1], topic = args[2], txnId = args[3], token = args[4];
        int txns = Integer.parseInt(args[5]), perTxn = Integer.parseInt(args[6]), abortEvery = Integer.parseInt(args[7]);
        List<String> errors = Collections.synchronizedList(new ArrayList<>());
        List<String> outcomes = new ArrayList<>();
        List<String> acks = Collections.synchronizedList(new ArrayList<>());
        int partitions = 0;
        Boolean tv2 = null;
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps(bootstrap, txnId))) {
            producer.initTransactions();
            tv2 = clientUsesTv2(producer);
            partitions = producer.partitionsFor(topic).size();
            int i = 0;
            for (int t = 0; t < txns; t++) {
                boolean abort = (t + 1) % abortEvery == 0;
                producer.beginTransaction();
                List<Future<RecordMetadata>> sent = new ArrayList<>();
                for (int k = 0; k < perTxn; k++, i++) {
                    int p = i % partitions;
                    sent.add(producer.send(new ProducerRecord<>(topic, p, "k" + i, token + "|" + t + "|" + i)));
                }
                producer.flush();
                // Every record of the transaction is acknowledged (written to the log) before
                // the transaction ends, aborted ones too.
                for (Future<RecordMetadata> f : sent) {
                    RecordMetadata md = f.get();
                    acks.add(md.partition() + "@" + md.offset());
                }
                if (abort) producer.abortTransaction();
                else producer.commitTransaction();
                outcomes.add(abort ? "abort" : "commit");
            }
        } catch (Exception e) {
            errors.add("producer: " + describe(e));
        }
        int tv = finalizedTransactionVersion(bootstrap, errors);
        System.out.println("{\"client\":" + json(clientVersion()) + ",\"partitions\":" + partitions
                + ",\"finalizedTransactionVersion\":" + tv + ",\"clientTv2\":" + tv2
                + ",\"outcomes\":" + jsonList(outcomes) + ",\"acks\":" + jsonList(acks) + ",\"errors\":" + jsonList(errors) + "}");
    }

    static void consume(String[] args) {
        String bootstrap = args[1], topic = args[2], isolation = args[3];
        List<String> errors = new ArrayList<>();
        StringBuilder records = new StringBuilder("[");
        StringBuilder ends = new StringBuilder("{");
        StringBuilder positions = new StringBuilder("{");
        int n = 0;
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        cp.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "200");
        cp.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT_MS / 2));
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo pi : consumer.partitionsFor(topic)) tps.add(new TopicPartition(topic, pi.partition()));
            tps.sort((a, b) -> a.partition() - b.partition());
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            // For read_committed, endOffsets is the last stable offset.
            Map<TopicPartition, Long> end = consumer.endOffsets(tps);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS / 2);
            for (;;) {
                boolean done = true;
                for (TopicPartition tp : tps) if (consumer.position(tp) < end.get(tp)) done = false;
                if (done || System.nanoTime() > deadline) break;
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    records.append(n++ == 0 ? "" : ",").append('[').append(r.partition()).append(',').append(r.offset())
                            .append(',').append(json(r.value())).append(']');
                }
            }
            // One more poll: nothing may arrive past the end offsets.
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(300))) {
                records.append(n++ == 0 ? "" : ",").append('[').append(r.partition()).append(',').append(r.offset())
                        .append(',').append(json(r.value())).append(']');
            }
            for (TopicPartition tp : tps) {
                ends.append(ends.length() == 1 ? "" : ",").append('"').append(tp.partition()).append("\":").append(end.get(tp));
                positions.append(positions.length() == 1 ? "" : ",").append('"').append(tp.partition()).append("\":").append(consumer.position(tp));
            }
        } catch (Exception e) {
            errors.add("consumer: " + describe(e));
        }
        System.out.println("{\"isolation\":" + json(isolation) + ",\"endOffsets\":" + ends + "},\"positions\":" + positions
                + "},\"records\":" + records + "],\"errors\":" + jsonList(errors) + "}");
    }

    static void fence(String[] args) throws Exception {
        String bootstrap = args[1], topic = args[2], txnId = args[3], token = args[4];
        List<String> errors = Collections.synchronizedList(new ArrayList<>());
        StringBuilder rounds = new StringBuilder("[");
        // Round "send": the zombie sends again before it commits (the partition refuses the old
        // epoch). Round "commit": it commits straight away (the coordinator refuses EndTxn).
        for (String round : new String[] {"send", "commit"}) {
            String id = txnId + "-" + round;
            List<String> aErrors = Collections.synchronizedList(new ArrayList<>());
            int aAcked = 0, bAcked = 0;
            Boolean tv2 = null;
            KafkaProducer<String, String> a = new KafkaProducer<>(producerProps(bootstrap, id));
            KafkaProducer<String, String> b = new KafkaProducer<>(producerProps(bootstrap, id));
            try {
                a.initTransactions();
                tv2 = clientUsesTv2(a);
                a.beginTransaction();
                List<Future<RecordMetadata>> sent = new ArrayList<>();
                for (int i = 0; i < 10; i++) sent.add(a.send(new ProducerRecord<>(topic, i % 3, "a" + i, token + "|A-" + round + "|" + i)));
                a.flush();
                for (Future<RecordMetadata> f : sent) { f.get(); aAcked++; }

                // The zombie's successor: same transactional.id, a newer epoch.
                b.initTransactions();

                // A carries on as if nothing happened.
                if (round.equals("send")) {
                    try {
                        Future<RecordMetadata> f = a.send(new ProducerRecord<>(topic, 0, "a-late", token + "|A-" + round + "|late"));
                        a.flush();
                        f.get(30, TimeUnit.SECONDS);
                        aErrors.add("send: acknowledged");
                    } catch (java.util.concurrent.ExecutionException e) {
                        aErrors.add("send: " + describe(e.getCause()));
                    } catch (Exception e) {
                        aErrors.add("send threw: " + describe(e));
                    }
                }
                try {
                    a.commitTransaction();
                    aErrors.add("commit: succeeded");
                } catch (Exception e) {
                    aErrors.add("commit: " + describe(e));
                }

                b.beginTransaction();
                sent.clear();
                for (int i = 0; i < 10; i++) sent.add(b.send(new ProducerRecord<>(topic, i % 3, "b" + i, token + "|B-" + round + "|" + i)));
                b.flush();
                for (Future<RecordMetadata> f : sent) { f.get(); bAcked++; }
                b.commitTransaction();
            } catch (Exception e) {
                errors.add("fence round " + round + ": " + describe(e));
            } finally {
                a.close(Duration.ofSeconds(5));
                b.close(Duration.ofSeconds(5));
            }
            rounds.append(rounds.length() == 1 ? "" : ",").append("{\"round\":").append(json(round)).append(",\"clientTv2\":").append(tv2)
                    .append(",\"aAcked\":").append(aAcked).append(",\"bAcked\":").append(bAcked).append(",\"aErrors\":").append(jsonList(aErrors)).append('}');
        }
        int tv = finalizedTransactionVersion(bootstrap, errors);
        System.out.println("{\"client\":" + json(clientVersion()) + ",\"finalizedTransactionVersion\":" + tv
                + ",\"rounds\":" + rounds + "],\"errors\":" + jsonList(errors) + "}");
    }
}
