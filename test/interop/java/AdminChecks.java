// The Java Admin client's view of what Kafka's tools and client suites check beyond the
// command-line tools. One check per run; prints one JSON line, exits 0 unless the client
// itself fails unexpectedly.
//   java -cp lib/* AdminChecks.java <bootstrap> cluster-ops
//       the cluster's authorized operations (DescribeCluster)
//   java -cp lib/* AdminChecks.java <bootstrap> admin-commit <group> <topic>
//       alterConsumerGroupOffsets (an OffsetCommit with generation -1, no member id): "ok" or the error's class
//   java -cp lib/* AdminChecks.java <bootstrap> broker-configs <topic>
//       sets log.retention.ms on broker 0 and message.max.bytes as the cluster default, then
//       describes broker 0 and the topic: value and source of those configs
//   java -cp lib/* AdminChecks.java <bootstrap> group-configs <group>
//       sets consumer and share group configs, one bad value, then describes the group

import java.util.*;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.config.ConfigResource;

public class AdminChecks {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    try (Admin admin = Admin.create(p)) {
      switch (args[1]) {
        case "cluster-ops" -> {
          Set<AclOperation> ops = admin.describeCluster(new DescribeClusterOptions().includeAuthorizedOperations(true)).authorizedOperations().get();
          System.out.println("{\"ops\":" + quoted(new TreeSet<>(ops.stream().map(Enum::name).toList())) + "}");
        }
        case "admin-commit" -> {
          String result;
          try {
            admin.alterConsumerGroupOffsets(args[2], Map.of(new TopicPartition(args[3], 0), new OffsetAndMetadata(5))).all().get();
            result = "ok";
          } catch (ExecutionException e) {
            result = e.getCause().getClass().getSimpleName();
          }
          System.out.println("{\"result\":\"" + result + "\"}");
        }
        case "broker-configs" -> {
          ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, "0");
          ConfigResource cluster = new ConfigResource(ConfigResource.Type.BROKER, "");
          ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, args[2]);
          admin.incrementalAlterConfigs(Map.of(
            broker, List.of(new AlterConfigOp(new ConfigEntry("log.retention.ms", "3600000"), AlterConfigOp.OpType.SET)),
            cluster, List.of(new AlterConfigOp(new ConfigEntry("message.max.bytes", "2000000"), AlterConfigOp.OpType.SET)))).all().get();
          String refused;
          try {
            admin.incrementalAlterConfigs(Map.of(broker, List.of(new AlterConfigOp(new ConfigEntry("log.dirs", "/elsewhere"), AlterConfigOp.OpType.SET)))).all().get();
            refused = "accepted";
          } catch (ExecutionException e) {
            refused = e.getCause().getClass().getSimpleName() + ": " + e.getCause().getMessage();
          }
          Map<ConfigResource, Config> d = admin.describeConfigs(List.of(broker, topic), new DescribeConfigsOptions().includeSynonyms(true)).all().get();
          StringBuilder out = new StringBuilder("{\"refused\":\"" + refused.replace("\"", "'") + "\"");
          for (String name : List.of("log.retention.ms", "message.max.bytes", "log.segment.bytes")) out.append(",\"broker:").append(name).append("\":").append(entry(d.get(broker).get(name)));
          for (String name : List.of("retention.ms", "max.message.bytes", "segment.bytes")) out.append(",\"topic:").append(name).append("\":").append(entry(d.get(topic).get(name)));
          System.out.println(out.append("}"));
        }
        case "group-configs" -> {
          ConfigResource group = new ConfigResource(ConfigResource.Type.GROUP, args[2]);
          admin.incrementalAlterConfigs(Map.of(group, List.of(
            new AlterConfigOp(new ConfigEntry("consumer.session.timeout.ms", "50000"), AlterConfigOp.OpType.SET),
            new AlterConfigOp(new ConfigEntry("share.record.lock.duration.ms", "20000"), AlterConfigOp.OpType.SET),
            new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET)))).all().get();
          String refused;
          try {
            admin.incrementalAlterConfigs(Map.of(group, List.of(new AlterConfigOp(new ConfigEntry("consumer.session.timeout.ms", "1000"), AlterConfigOp.OpType.SET)))).all().get();
            refused = "accepted";
          } catch (ExecutionException e) {
            refused = e.getCause().getClass().getSimpleName() + ": " + e.getCause().getMessage();
          }
          Config c = admin.describeConfigs(List.of(group)).all().get().get(group);
          StringBuilder out = new StringBuilder("{\"refused\":\"" + refused.replace("\"", "'") + "\",\"count\":" + c.entries().size());
          for (String name : List.of("consumer.session.timeout.ms", "consumer.heartbeat.interval.ms", "share.record.lock.duration.ms", "share.auto.offset.reset")) {
            out.append(",\"").append(name).append("\":").append(entry(c.get(name)));
          }
          System.out.println(out.append("}"));
        }
        default -> throw new IllegalArgumentException("unknown check " + args[1]);
      }
    }
  }

  private static String entry(ConfigEntry e) {
    if (e == null) return "null";
    return "{\"value\":\"" + e.value() + "\",\"source\":\"" + e.source() + "\",\"readOnly\":" + e.isReadOnly() + "}";
  }

  private static String quoted(Collection<String> xs) {
    StringJoiner j = new StringJoiner(",", "[", "]");
    for (String x : xs) j.add("\"" + x + "\"");
    return j.toString();
  }
}
