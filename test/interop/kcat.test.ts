// kcat (librdkafka's command line client, Debian package `kcat`) against a broker process:
// metadata, 100,000 messages through each compression codec read back byte for byte, and a
// keyed produce.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { describeRun, requireTool, run, works, token } from './tools.js';

const installHint = 'install it with `sudo apt-get install kcat` (Debian/Ubuntu)';
const messageCount = 100_000;
const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

let broker: BrokerProcess | undefined;
let kcatPresent = false;

before(async () => {
  kcatPresent = await works('kcat', ['-V']);
  if (kcatPresent) broker = await startBroker({ args: ['--set', 'num.partitions=3'] });
});

after(async () => {
  await broker?.cleanup();
});

function kcat(args: string[], input?: Buffer | string, timeoutMs = 120_000) {
  return run('kcat', ['-b', broker!.bootstrap, ...args], { input, timeoutMs });
}

interface KcatMetadata {
  originating_broker: { id: number; name: string };
  controllerid: number;
  brokers: Array<{ id: number; name: string }>;
  topics: Array<{ topic: string; err?: string; partitions: Array<{ partition: number; leader: number; err?: string }> }>;
}

async function metadataJson(topic?: string): Promise<KcatMetadata> {
  const r = await kcat(['-L', '-J', ...(topic ? ['-t', topic] : [])], undefined, 30_000);
  assert.equal(r.code, 0, describeRun('kcat -L -J', r, broker));
  return JSON.parse(r.stdout.toString()) as KcatMetadata;
}

/** First index where the lists differ, for a readable failure on 100,000 lines. */
function firstDifference(a: string[], b: string[]): string {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return `line ${i}: got ${JSON.stringify(a[i])}, expected ${JSON.stringify(b[i])} (got ${a.length} lines, expected ${b.length})`;
  }
  return 'no difference';
}

test('kcat -L lists the broker with id 0 at its address', async (t) => {
  if (!requireTool(t, kcatPresent, 'kcat', installHint)) return;
  const r = await kcat(['-L'], undefined, 30_000);
  assert.equal(r.code, 0, describeRun('kcat -L', r, broker));
  const text = r.stdout.toString();
  assert.match(text, /^ 1 brokers:$/m, text);
  assert.ok(text.includes(`broker 0 at ${broker!.bootstrap}`), `expected "broker 0 at ${broker!.bootstrap}" in:\n${text}`);

  const md = await metadataJson();
  assert.deepEqual(md.brokers, [{ id: 0, name: broker!.bootstrap }]);
  assert.equal(md.originating_broker.id, 0);
  assert.equal(md.controllerid, 0);
});

for (const codec of codecs) {
  test(`kcat: ${messageCount} messages with compression ${codec}, acks=all, read back in order and byte-identical`, { timeout: 300_000 }, async (t) => {
    if (!requireTool(t, kcatPresent, 'kcat', installHint)) return;
    const topic = `kcat-${codec}-${token()}`;
    const salt = randomBytes(4).toString('hex');
    // Distinct payloads of varying length; some carry multi-byte UTF-8 and bytes that are
    // not text (no newline, which is kcat's delimiter).
    const lines: string[] = [];
    for (let n = 0; n < messageCount; n++) {
      let s = `msg-${n}-${salt}-${randomBytes(3).toString('hex')}`;
      if (n % 10 === 3) s += '-\u00e9\u20ac\u{1f600}';
      if (n % 97 === 5) s += '-' + 'x'.repeat(n % 3000);
      lines.push(s);
    }
    const input = Buffer.from(lines.join('\n') + '\n');

    // Partition 0 explicitly: the topic is auto-created with 3 partitions and the order is
    // only defined within one.
    const p = await kcat(['-P', '-t', topic, '-p', '0', '-z', codec, '-X', 'acks=all'], input, 240_000);
    assert.equal(p.code, 0, describeRun(`kcat -P -z ${codec}`, p, broker));
    assert.doesNotMatch(p.stderr, /Delivery failed/i, describeRun(`kcat -P -z ${codec} reported failed deliveries`, p, broker));

    const md = await metadataJson(topic);
    const tmd = md.topics.find((x) => x.topic === topic);
    assert.ok(tmd, `topic ${topic} missing from metadata: ${JSON.stringify(md)}`);
    assert.equal(tmd.err, undefined, JSON.stringify(tmd));
    assert.equal(tmd.partitions.length, 3, `auto-created topic should have num.partitions=3: ${JSON.stringify(tmd)}`);
    for (const part of tmd.partitions) assert.equal(part.leader, 0, JSON.stringify(tmd));

    const c = await kcat(['-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q'], undefined, 240_000);
    assert.equal(c.code, 0, describeRun(`kcat -C (${codec})`, c, broker));
    if (!c.stdout.equals(input)) {
      const got = c.stdout.toString().split('\n');
      if (got[got.length - 1] === '') got.pop();
      assert.fail(`consumed bytes differ from produced bytes (${c.stdout.length} vs ${input.length}): ${firstDifference(got, lines)}`);
    }

    // The partition's end offset is the message count, and nothing went to the others.
    const q = await kcat(['-Q', '-t', `${topic}:0:-1`, '-t', `${topic}:1:-1`, '-t', `${topic}:2:-1`], undefined, 30_000);
    assert.equal(q.code, 0, describeRun('kcat -Q', q, broker));
    const ends = q.stdout.toString();
    assert.match(ends, new RegExp(`\\[0\\] offset ${messageCount}\\b`), ends);
    assert.match(ends, /\[1\] offset 0\b/, ends);
    assert.match(ends, /\[2\] offset 0\b/, ends);
  });
}

test('kcat: keyed produce (-K) is read back with its keys (-f "%k %s"), one partition per key', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, kcatPresent, 'kcat', installHint)) return;
  const topic = `kcat-keyed-${token()}`;
  const tok = token();
  const sent: Array<{ key: string; value: string }> = [];
  for (let n = 0; n < 2000; n++) sent.push({ key: `user-${n % 17}`, value: `${tok}-${n}` });
  const input = sent.map((m) => `${m.key}\t${m.value}`).join('\n') + '\n';

  const p = await kcat(['-P', '-t', topic, '-K', '\t', '-X', 'acks=all'], input);
  assert.equal(p.code, 0, describeRun('kcat -P -K', p, broker));

  const c = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p %o %k %s\n']);
  assert.equal(c.code, 0, describeRun('kcat -C -f', c, broker));
  const got = c.stdout.toString().split('\n').filter((l) => l !== '').map((l) => {
    const [p, o, key, value] = l.split(' ');
    return { partition: Number(p), offset: Number(o), key: key!, value: value! };
  });
  assert.equal(got.length, sent.length, `consumed ${got.length} of ${sent.length}`);

  // Same set of key/value pairs.
  const asText = (xs: Array<{ key: string; value: string }>) => xs.map((m) => `${m.key} ${m.value}`).sort();
  assert.deepEqual(asText(got), asText(sent));

  // Each key in exactly one partition; within a partition, send order and offsets 0..n-1.
  const keyPart = new Map<string, number>();
  const byPart = new Map<number, typeof got>();
  for (const m of got) {
    const prev = keyPart.get(m.key);
    if (prev !== undefined) assert.equal(m.partition, prev, `key ${m.key} in partitions ${prev} and ${m.partition}`);
    keyPart.set(m.key, m.partition);
    byPart.set(m.partition, [...(byPart.get(m.partition) ?? []), m]);
  }
  assert.ok(byPart.size > 1, `17 keys over 3 partitions all landed in one: ${[...byPart.keys()]}`);
  for (const [part, ms] of byPart) {
    ms.forEach((m, k) => assert.equal(m.offset, k, `partition ${part}: offset ${m.offset} at position ${k}`));
    const expected = sent.filter((s) => keyPart.get(s.key) === part).map((s) => `${s.key} ${s.value}`);
    assert.deepEqual(ms.map((m) => `${m.key} ${m.value}`), expected, `partition ${part}: order differs from send order`);
  }

  // The plain "%k %s" format, on the first records of one partition.
  const f = await kcat(['-C', '-t', topic, '-p', String(got[0]!.partition), '-o', 'beginning', '-c', '3', '-q', '-f', '%k %s\n']);
  assert.equal(f.code, 0, describeRun('kcat -C -f "%k %s"', f, broker));
  const first = byPart.get(got[0]!.partition)!.slice(0, 3).map((m) => `${m.key} ${m.value}\n`).join('');
  assert.equal(f.stdout.toString(), first);
});
