// The two Python clients packaged by Debian, run by the Debian interpreter:
// python3-confluent-kafka (librdkafka, idempotent producer) and python3-kafka (kafka-python,
// its own pure-Python protocol implementation). See roundtrip.ts for what each script does.

import { test, before, after } from 'node:test';
import { join } from 'node:path';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { checkRoundTrip, parseSummary } from './roundtrip.js';
import { debianPython, describeRun, pythonDir, requireTool, run, token, works } from './tools.js';

const python = debianPython();
const partitions = 3;
const count = 10_000;

let broker: BrokerProcess | undefined;

before(async () => {
  broker = await startBroker({ args: ['--set', `num.partitions=${partitions}`] });
});

after(async () => {
  await broker?.cleanup();
});

const clients = [
  { name: 'confluent-kafka', module: 'confluent_kafka', pkg: 'python3-confluent-kafka', script: 'confluent_roundtrip.py', codecs: ['none', 'zstd'] },
  { name: 'kafka-python', module: 'kafka', pkg: 'python3-kafka', script: 'kafkapython_roundtrip.py', codecs: ['none', 'gzip'] },
];

for (const c of clients) {
  for (const codec of c.codecs) {
    test(`python ${c.name}: ${count} keyed records (acks=all, compression ${codec}) round trip by assigned partitions`, { timeout: 240_000 }, async (t) => {
      const present = await works(python, ['-c', `import ${c.module}`]);
      if (!requireTool(t, present, `the Python module ${c.module} (for ${python})`, `install it with \`sudo apt-get install ${c.pkg}\``)) return;
      const topic = `py-${c.module}-${codec}-${token()}`;
      const tok = token();
      const r = await run(python, [join(pythonDir, c.script), broker!.bootstrap, topic, String(count), tok, codec], { timeoutMs: 200_000 });
      const context = describeRun(`${python} ${c.script}`, r, broker);
      const summary = parseSummary(r.stdout, context);
      checkRoundTrip(summary, tok, count, partitions, context);
      if (r.code !== 0) throw new Error(context);
    });
  }
}
