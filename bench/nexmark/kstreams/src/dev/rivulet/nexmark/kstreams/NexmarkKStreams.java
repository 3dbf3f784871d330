package dev.rivulet.nexmark.kstreams;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

/**
 * Runs one Nexmark query (q0-q8) as a Kafka Streams application until SIGTERM.
 *   java -cp 'classes:lib/*' dev.rivulet.nexmark.kstreams.NexmarkKStreams --query q5
 *       [--bootstrap 127.0.0.1:9092] [--guarantee at_least_once|exactly_once_v2]
 *       [--application-id nexmark-q5-kstreams] [--commit-interval-ms 100] [--state-dir DIR]
 *       [--threads 1] [--grace-ms 0] [--output-partitions N] [--linger-ms 100] [--join-grace-ms 0]
 * The input topics must exist (the Nexmark generator writes them); the output topic is created
 * with the partitions of the query's first input unless it exists. Prints "STATE <state>"
 * lines on stdout; exits 0 after a clean close, 1 when the application failed, 2 on bad usage.
 */
public final class NexmarkKStreams {
    private NexmarkKStreams() {}

    static final String USAGE = "usage: NexmarkKStreams --query q0..q8 [--bootstrap host:port] [--guarantee at_least_once|exactly_once_v2]"
            + " [--application-id ID] [--commit-interval-ms 100] [--state-dir DIR] [--threads 1] [--grace-ms 0] [--output-partitions N] [--linger-ms 100] [--join-grace-ms 0]";

    static final Set<String> OPTIONS = Set.of("--query", "--bootstrap", "--guarantee", "--application-id", "--commit-interval-ms",
            "--state-dir", "--threads", "--grace-ms", "--output-partitions", "--linger-ms", "--join-grace-ms");

    static void out(String line) {
        synchronized (System.out) {
            System.out.println(line);
            System.out.flush();
        }
    }

    static void usage(String problem) {
        System.err.println(problem);
        System.err.println(USAGE);
        System.exit(2);
    }

    static Map<String, String> parse(String[] args) {
        Map<String, String> o = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!OPTIONS.contains(args[i])) usage("unknown option " + args[i]);
            if (i + 1 >= args.length) usage(args[i] + " needs a value");
            o.put(args[i], args[++i]);
        }
        return o;
    }

    static long number(Map<String, String> o, String name, long dflt) {
        String v = o.get(name);
        if (v == null) return dflt;
        try {
            long n = Long.parseLong(v);
            if (n >= 0) return n;
        } catch (NumberFormatException e) {
            // reported below
        }
        usage(name + " must be a non-negative integer, got " + v);
        return dflt;
    }

    public static void main(String[] args) throws Exception {
        // slf4j-simple reads its level once, at the first logger: quiet unless asked otherwise
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        Map<String, String> o = parse(args);
        String query = o.get("--query");
        if (query == null || !Queries.NAMES.contains(query)) usage("--query must be one of " + Queries.NAMES + ", got " + query);
        String bootstrap = o.getOrDefault("--bootstrap", "127.0.0.1:9092");
        String guarantee = o.getOrDefault("--guarantee", "at_least_once");
        if (!guarantee.equals(StreamsConfig.AT_LEAST_ONCE) && !guarantee.equals(StreamsConfig.EXACTLY_ONCE_V2)) {
            usage("--guarantee must be at_least_once or exactly_once_v2, got " + guarantee);
        }
        String appId = o.getOrDefault("--application-id", "nexmark-" + query + "-kstreams");
        long commitMs = number(o, "--commit-interval-ms", 100);
        long threads = number(o, "--threads", 1);
        long graceMs = number(o, "--grace-ms", 0);
        long outputPartitions = number(o, "--output-partitions", 0);
        long lingerMs = number(o, "--linger-ms", 100);
        long joinGraceMs = number(o, "--join-grace-ms", 0);

        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.toString(commitMs));
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Long.toString(Math.max(1, threads)));
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, "1");
        // Kafka Streams' own producer default (100 ms; flushed at every commit anyway). Rivulet
        // Streams sends queued records at once, but 5 ms here made q0's latency at 2000/s worse
        // on this broker, not better (p50 0.9-1.2 s against 50-70 ms: many small requests).
        p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), Long.toString(lingerMs));
        // source topics double as the changelogs of the tables built on them
        p.put(StreamsConfig.TOPOLOGY_OPTIMIZATION_CONFIG, StreamsConfig.OPTIMIZE);
        if (o.containsKey("--state-dir")) p.put(StreamsConfig.STATE_DIR_CONFIG, o.get("--state-dir"));

        int bidPartitions = prepareTopics(bootstrap, query, (int) outputPartitions);

        StreamsBuilder builder = new StreamsBuilder();
        Queries.build(builder, query, graceMs, bidPartitions, joinGraceMs);
        Topology topology = builder.build(p);

        KafkaStreams streams = new KafkaStreams(topology, p);
        CountDownLatch closed = new CountDownLatch(1);
        int[] exit = {0};
        streams.setStateListener((now, was) -> {
            out("STATE " + now);
            if (now == KafkaStreams.State.ERROR) exit[0] = 1;
            if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) closed.countDown();
        });
        streams.setUncaughtExceptionHandler((Throwable e) -> {
            out("ERROR " + e);
            e.printStackTrace();
            exit[0] = 1;
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        Thread hook = new Thread(() -> {
            try {
                boolean done = streams.close(Duration.ofSeconds(30));
                out(done ? "CLOSED" : "ERROR the close timed out after 30 s");
            } catch (RuntimeException e) {
                out("ERROR the close failed: " + e);
                e.printStackTrace();
            }
            closed.countDown();
        }, "nexmark-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        out("QUERY " + query + " " + guarantee + " application " + appId + " on " + bootstrap);
        streams.start();
        closed.await();
        if (exit[0] != 0) {
            streams.close(Duration.ofSeconds(30));
            // halt: the shutdown hook would close again and wait on a latch already counted down
            Runtime.getRuntime().halt(exit[0]);
        }
    }

    /**
     * Fails clearly when an input topic is missing; creates the output topic when it is.
     * Returns the partitions of nexmark-bid (0 when the query does not read it).
     */
    static int prepareTopics(String bootstrap, String query, int outputPartitions) throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        try (Admin admin = Admin.create(p)) {
            List<String> inputs = Queries.inputs(query);
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<String> missing = new ArrayList<>();
            for (String t : inputs) if (!existing.contains(t)) missing.add(t);
            if (!missing.isEmpty()) {
                System.err.println("input topic(s) " + missing + " of " + query + " do not exist on " + bootstrap
                        + ": write the Nexmark events first (the generator creates " + Model.PERSON_TOPIC + ", " + Model.AUCTION_TOPIC + ", " + Model.BID_TOPIC + ")");
                System.exit(1);
            }
            Map<String, TopicDescription> described = admin.describeTopics(inputs).allTopicNames().get(30, TimeUnit.SECONDS);
            int bidPartitions = described.containsKey(Model.BID_TOPIC) ? described.get(Model.BID_TOPIC).partitions().size() : 0;
            String output = Model.outputTopic(query);
            if (existing.contains(output)) return bidPartitions;
            int partitions = outputPartitions == 0 ? described.get(inputs.get(0)).partitions().size() : outputPartitions;
            try {
                admin.createTopics(List.of(new NewTopic(output, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) throw e;
            }
            return bidPartitions;
        }
    }
}
