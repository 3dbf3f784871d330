// What the Java client shows when configured for a security protocol the broker does not
// serve yet (SASL_PLAINTEXT, SSL): it must fail fast with an error naming the problem, not
// hang. Prints "REFUSED <exception class>: <message>" for the first failure and exits 0;
// exits 1 if the call succeeds, 2 (printing HUNG) if it only times out.
//   java -cp lib/* Refusal.java <bootstrap> <security.protocol> <timeoutMs>

import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

public class Refusal {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    p.put("security.protocol", args[1]);
    if (args[1].startsWith("SASL")) {
      p.put("sasl.mechanism", "PLAIN");
      p.put("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";");
    }
    long timeoutMs = Long.parseLong(args[2]);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String(timeoutMs));
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, String(timeoutMs));
    try (Admin admin = Admin.create(p)) {
      admin.describeCluster().nodes().get(timeoutMs + 5000, TimeUnit.MILLISECONDS);
      System.out.println("CONNECTED");
      System.exit(1);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof org.apache.kafka.common.errors.TimeoutException) {
        // The client kept retrying until its time ran out: what a silent refusal looks like.
        System.out.println("HUNG " + c.getClass().getName() + ": " + c.getMessage());
        System.exit(2);
      }
      System.out.println("REFUSED " + c.getClass().getName() + ": " + c.getMessage());
      System.exit(0);
    } catch (TimeoutException e) {
      System.out.println("HUNG");
      System.exit(2);
    }
  }

  private static String String(long v) {
    return Long.toString(v);
  }
}
