// A Java producer with a given client.id that sends as fast as it can for a while, then prints
// its own throttle metrics as one JSON line: what a client over its producer_byte_rate sees.
//   java -cp lib/* QuotaProducer.java <bootstrap> <topic> <client.id> <seconds>
// Prints {"sent":<bytes acknowledged>,"seconds":<s>,"throttleAvg":<ms>,"throttleMax":<ms>,"failed":<records>,"firstError":"..."}.

import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class QuotaProducer {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, args[2]);
    p.put(ProducerConfig.ACKS_CONFIG, "1");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, "16384");
    // A small buffer: send() blocks once it is full, so what is acknowledged follows the broker's
    // pace, and the final flush drains little (a large buffer would be drained long after the run).
    p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, "262144");
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "120000");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    long seconds = Long.parseLong(args[3]);
    byte[] value = new byte[8192];
    AtomicLong acked = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    java.util.concurrent.atomic.AtomicReference<String> firstError = new java.util.concurrent.atomic.AtomicReference<>("");
    long start = System.nanoTime();
    long end = start + seconds * 1_000_000_000L;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
      while (System.nanoTime() < end) {
        producer.send(new ProducerRecord<>(args[1], value), (md, e) -> {
          if (e == null) acked.addAndGet(value.length);
          else if (failed.incrementAndGet() == 1) firstError.set(e.toString().replace('"', '\''));
        });
      }
      producer.flush();
      double avg = metric(producer, "produce-throttle-time-avg");
      double max = metric(producer, "produce-throttle-time-max");
      double took = (System.nanoTime() - start) / 1e9;
      System.out.println("{\"sent\":" + acked.get() + ",\"seconds\":" + took + ",\"throttleAvg\":" + (Double.isNaN(avg) ? 0 : avg) + ",\"throttleMax\":" + (Double.isNaN(max) ? 0 : max) + ",\"failed\":" + failed.get() + ",\"firstError\":\"" + firstError.get() + "\"}");
    }
  }

  private static double metric(KafkaProducer<byte[], byte[]> producer, String name) {
    for (java.util.Map.Entry<MetricName, ? extends Metric> e : producer.metrics().entrySet()) {
      if (e.getKey().group().equals("producer-metrics") && e.getKey().name().equals(name)) return ((Number) e.getValue().metricValue()).doubleValue();
    }
    return Double.NaN;
  }
}
