// Helper for bench/compare/run.mjs, built on the Apache Kafka Java client so both brokers are
// driven by the same client. Compiled once per run into a temp dir (javac), never into the repo.
//   create   <bootstrap> <topic> <partitions> <timeoutMs>          create a topic, wait for leaders
//   consume  <bootstrap> <topic> <group|-> <expected> <idleMs>     "-": assign all partitions at the end
//                                                                  (prints READY), else subscribe in a group
//                                                                  from the earliest offset; records the
//                                                                  end-to-end latency now - CreateTime (ms)
//   produce  <bootstrap> <topic> <count> <valueBytes> <acks> <keys> keyed records at max rate
//   txn      <bootstrap> <topic> <txns> <perTxn> <valueBytes>   transactional producer: txns transactions of
//                                                                  perTxn keyed records each, committed one after
//                                                                  another; then a read_committed consumer counts them
//   firstack <bootstrap> <topic> <deadlineMs>                      prints READY, then retries one acks=1
//                                                                  produce until acknowledged
// Every mode prints one JSON line at the end.
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.serialization.*;

public class BenchTool {
  public static void main(String[] a) throws Exception {
    switch (a[0]) {
      case "create" -> create(a[1], a[2], Integer.parseInt(a[3]), Long.parseLong(a[4]));
      case "consume" -> consume(a[1], a[2], a[3], Long.parseLong(a[4]), Long.parseLong(a[5]));
      case "produce" -> produce(a[1], a[2], Long.parseLong(a[3]), Integer.parseInt(a[4]), a[5], Integer.parseInt(a[6]));
      case "txn" -> txn(a[1], a[2], Integer.parseInt(a[3]), Integer.parseInt(a[4]), Integer.parseInt(a[5]));
      case "firstack" -> firstAck(a[1], a[2], Long.parseLong(a[3]));
      default -> throw new IllegalArgumentException(a[0]);
    }
    System.exit(0);
  }

  static void create(String bs, String topic, int partitions, long timeoutMs) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bs);
    p.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "50");
    p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "100");
    long deadline = System.currentTimeMillis() + timeoutMs;
    try (Admin admin = Admin.create(p)) {
      while (true) {
        try {
          admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(5, TimeUnit.SECONDS);
          break;
        } catch (ExecutionException | TimeoutException e) {
          if (e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException) break;
          if (System.currentTimeMillis() > deadline) throw e;
          Thread.sleep(100);
        }
      }
      while (true) {
        try {
          var d = admin.describeTopics(List.of(topic)).allTopicNames().get(5, TimeUnit.SECONDS).get(topic);
          if (d.partitions().size() == partitions && d.partitions().stream().allMatch(x -> x.leader() != null && x.leader().id() >= 0)) break;
        } catch (ExecutionException | TimeoutException e) {
          if (System.currentTimeMillis() > deadline) throw e;
        }
        if (System.currentTimeMillis() > deadline) throw new RuntimeException("no leaders for " + topic);
        Thread.sleep(100);
      }
    }
    System.out.println("{\"created\":\"" + topic + "\"}");
  }

  static void consume(String bs, String topic, String group, long expected, long idleMs) throws Exception {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bs);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "500");
    boolean assign = group.equals("-");
    if (!assign) {
      p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
      p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    }
    long startMs = System.currentTimeMillis();
    int[] lat = new int[1 << 16];
    long count = 0, bytes = 0, firstMs = 0, lastMs = 0;
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      if (assign) {
        List<TopicPartition> tps = new ArrayList<>();
        for (PartitionInfo pi : c.partitionsFor(topic, Duration.ofSeconds(30))) tps.add(new TopicPartition(topic, pi.partition()));
        c.assign(tps);
        c.seekToEnd(tps);
        for (TopicPartition tp : tps) c.position(tp, Duration.ofSeconds(30));
        System.out.println("READY");
        System.out.flush();
      } else {
        c.subscribe(List.of(topic));
      }
      startMs = System.currentTimeMillis();
      long lastSeen = startMs;
      while (expected <= 0 || count < expected) {
        ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(100));
        long now = System.currentTimeMillis();
        if (rs.isEmpty()) {
          if (now - lastSeen > idleMs && (count > 0 || now - startMs > Math.max(idleMs, 30000))) break;
          continue;
        }
        lastSeen = now;
        if (firstMs == 0) firstMs = now;
        lastMs = now;
        for (ConsumerRecord<byte[], byte[]> r : rs) {
          if (count == lat.length) lat = Arrays.copyOf(lat, lat.length * 2);
          lat[(int) count++] = (int) Math.max(0, now - r.timestamp());
          bytes += (r.value() == null ? 0 : r.value().length) + (r.key() == null ? 0 : r.key().length);
        }
      }
    }
    int[] s = Arrays.copyOf(lat, (int) count);
    Arrays.sort(s);
    System.out.println("{\"count\":" + count + ",\"bytes\":" + bytes + ",\"startMs\":" + startMs + ",\"firstMs\":" + firstMs
        + ",\"lastMs\":" + lastMs + ",\"p50\":" + pct(s, 50) + ",\"p99\":" + pct(s, 99) + ",\"p999\":" + pct(s, 99.9)
        + ",\"max\":" + (s.length == 0 ? -1 : s[s.length - 1]) + "}");
  }

  static int pct(int[] s, double q) {
    if (s.length == 0) return -1;
    int i = (int) Math.ceil(q / 100.0 * s.length) - 1;
    return s[Math.max(0, Math.min(s.length - 1, i))];
  }

  static void produce(String bs, String topic, long n, int valueBytes, String acks, int keys) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bs);
    p.put(ProducerConfig.ACKS_CONFIG, acks);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    byte[][] keyBytes = new byte[keys][];
    for (int i = 0; i < keys; i++) keyBytes[i] = ("key-" + i).getBytes();
    Random rnd = new Random(42);
    byte[][] values = new byte[64][];
    for (int i = 0; i < values.length; i++) { values[i] = new byte[valueBytes]; for (int j = 0; j < valueBytes; j++) values[i][j] = (byte) (65 + rnd.nextInt(26)); }
    int[] lat = new int[(int) n];
    AtomicLong done = new AtomicLong(), errors = new AtomicLong();
    long t0 = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> pr = new KafkaProducer<>(p)) {
      for (long i = 0; i < n; i++) {
        final int idx = (int) i;
        final long sent = System.nanoTime();
        pr.send(new ProducerRecord<>(topic, keyBytes[(int) (i % keys)], values[(int) (i % values.length)]), (md, e) -> {
          if (e != null) errors.incrementAndGet();
          lat[idx] = (int) ((System.nanoTime() - sent) / 1000);
          done.incrementAndGet();
        });
      }
      pr.flush();
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    int[] s = lat.clone();
    Arrays.sort(s);
    double mb = n * (double) valueBytes / (1024 * 1024);
    System.out.println(String.format(Locale.ROOT,
        "{\"count\":%d,\"errors\":%d,\"secs\":%.3f,\"msgPerSec\":%.1f,\"mbPerSec\":%.2f,\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}",
        n, errors.get(), secs, n / secs, mb / secs, pct(s, 50) / 1000.0, pct(s, 99) / 1000.0, pct(s, 99.9) / 1000.0, s[s.length - 1] / 1000.0));
  }

  static void txn(String bs, String topic, int txns, int perTxn, int valueBytes) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bs);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "bench-txn-" + System.nanoTime());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    byte[] value = new byte[valueBytes];
    Arrays.fill(value, (byte) 'x');
    int[] commitLat = new int[txns];
    long t0;
    try (KafkaProducer<byte[], byte[]> pr = new KafkaProducer<>(p)) {
      pr.initTransactions();
      t0 = System.nanoTime();
      for (int t = 0; t < txns; t++) {
        pr.beginTransaction();
        for (int i = 0; i < perTxn; i++) pr.send(new ProducerRecord<>(topic, ("key-" + (i % 1000)).getBytes(), value));
        long c0 = System.nanoTime();
        pr.commitTransaction();
        commitLat[t] = (int) ((System.nanoTime() - c0) / 1000);
      }
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    // Every committed record must be readable by a read_committed consumer (the markers are skipped).
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bs);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    long seen = 0;
    try (KafkaConsumer<byte[], byte[]> cons = new KafkaConsumer<>(c)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (PartitionInfo pi : cons.partitionsFor(topic)) tps.add(new TopicPartition(topic, pi.partition()));
      cons.assign(tps);
      cons.seekToBeginning(tps);
      long deadline = System.currentTimeMillis() + 60_000;
      while (seen < (long) txns * perTxn && System.currentTimeMillis() < deadline) seen += cons.poll(Duration.ofMillis(200)).count();
    }
    int[] s = commitLat.clone();
    Arrays.sort(s);
    long n = (long) txns * perTxn;
    System.out.println(String.format(Locale.ROOT,
        "{\"txns\":%d,\"count\":%d,\"seen\":%d,\"secs\":%.3f,\"txnPerSec\":%.1f,\"msgPerSec\":%.1f,\"commitP50\":%.3f,\"commitP99\":%.3f}",
        txns, n, seen, secs, txns / secs, n / secs, pct(s, 50) / 1000.0, pct(s, 99) / 1000.0));
  }

  static void firstAck(String bs, String topic, long deadlineMs) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bs);
    p.put(ProducerConfig.ACKS_CONFIG, "1");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "300");
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "1000");
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "1000");
    p.put(ProducerConfig.RECONNECT_BACKOFF_MS_CONFIG, "2");
    p.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "5");
    p.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "2");
    p.put(ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, "5");
    p.put(ProducerConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MS_CONFIG, "50");
    p.put(ProducerConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS_CONFIG, "100");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    long deadline = System.currentTimeMillis() + deadlineMs;
    int attempts = 0;
    try (KafkaProducer<byte[], byte[]> pr = new KafkaProducer<>(p)) {
      System.out.println("READY");
      System.out.flush();
      while (true) {
        attempts++;
        try {
          pr.send(new ProducerRecord<>(topic, "hello".getBytes())).get(1500, TimeUnit.MILLISECONDS);
          break;
        } catch (Exception e) {
          if (System.currentTimeMillis() > deadline) throw e;
        }
      }
      System.out.println("{\"ackMs\":" + System.currentTimeMillis() + ",\"attempts\":" + attempts + "}");
      System.out.flush();
    }
  }
}
