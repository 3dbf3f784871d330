// Runs Apache Kafka's command-line tools (TopicCommand, AclCommand, ConfigCommand, from the
// kafka-tools jar) one after another in one JVM, so a test can run dozens of them without
// paying a JVM start for each. Reads one command a line on stdin: the tool's class name in
// org.apache.kafka.tools, then its arguments, separated by tabs. For each it calls the tool's
// main exactly as the kafka-*.sh scripts do, with Exit's procedure replaced so the tool's exit
// code is caught instead of ending the JVM, and prints one line:
//   RESULT <exit code (of its first Exit.exit; 0 if it returns)> <base64 of what the tool printed on stdout> <base64 of its stderr>
//   java -cp target/tool-shell:lib/* ToolShell

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import org.apache.kafka.common.utils.internals.Exit;

public class ToolShell {
  static final class Exited extends RuntimeException {
    final int code;
    Exited(int code) {
      super("exit " + code, null, false, false);
      this.code = code;
    }
  }

  static volatile Integer firstExit;

  public static void main(String[] args) throws Exception {
    PrintStream out = System.out;
    PrintStream err = System.err;
    // The first Exit.exit ends the tool, as it would end its process; a tool that catches the
    // exception (TopicCommand's catch-all) and exits again does not change that code.
    Exit.setExitProcedure((code, message) -> {
      if (firstExit == null) firstExit = code;
      throw new Exited(code);
    });
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isEmpty()) continue;
      String[] parts = line.split("\t", -1);
      ByteArrayOutputStream toolOut = new ByteArrayOutputStream();
      ByteArrayOutputStream toolErr = new ByteArrayOutputStream();
      System.setOut(new PrintStream(toolOut, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(toolErr, true, StandardCharsets.UTF_8));
      int code = 0;
      firstExit = null;
      try {
        Method main = Class.forName("org.apache.kafka.tools." + parts[0]).getMethod("main", String[].class);
        main.invoke(null, (Object) Arrays.copyOfRange(parts, 1, parts.length));
      } catch (InvocationTargetException e) {
        Throwable cause = e.getCause();
        if (cause instanceof Exited x) code = x.code;
        else {
          cause.printStackTrace();
          code = 99;
        }
      } catch (Exited x) {
        code = x.code;
      } catch (Throwable t) {
        t.printStackTrace();
        code = 98;
      } finally {
        System.out.flush();
        System.err.flush();
        System.setOut(out);
        System.setErr(err);
      }
      if (firstExit != null) code = firstExit;
      Base64.Encoder b64 = Base64.getEncoder();
      out.println("RESULT " + code + " " + b64.encodeToString(toolOut.toByteArray()) + " " + b64.encodeToString(toolErr.toByteArray()));
      out.flush();
    }
  }
}
