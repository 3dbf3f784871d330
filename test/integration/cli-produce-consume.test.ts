// `rivulet produce` and `rivulet consume` as child processes against a real broker
// (3 partitions per auto-created topic), plus their error messages and exit codes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { cliPath, repoRoot } from '../helpers/paths.js';
import { assertOnlyAcksGrew, produceRequestsByAcks } from '../helpers/metrics.js';
import { waitFor } from '../helpers/wait.js';
import { runCli as rivulet, closedPort, type CliResult } from '../helpers/cli.js';
import { partitionForKey } from '../../src/cli/client-produce.js';

const jsonLines = (s: string): Array<Record<string, unknown>> =>
  s.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

let broker: BrokerProcess;
let bs: string;

before(async () => {
  broker = await startBroker({ args: ['--set', 'num.partitions=3'] });
  bs = broker.bootstrap;
});

after(async () => {
  await broker?.cleanup();
});

test('partitionForKey matches Kafka Java murmur2 vectors', () => {
  // Utils.murmur2 results from Apache Kafka's own tests, made positive as its partitioner does.
  const vectors: Array<[string, number]> = [['21', -973932308], ['foobar', -790332482], ['a-little-bit-long-string', -985981536], ['abc', 479470107]];
  for (const [key, hash] of vectors) {
    for (const n of [1, 3, 7, 16]) assert.equal(partitionForKey(Buffer.from(key), n), (hash & 0x7fffffff) % n, `${key} over ${n}`);
  }
});

test('keyed lines with headers round-trip exactly through produce and consume --format json', async () => {
  const lines = ['user-1:{"a":1}', 'user-2:second', 'user-1:third: with colon', 'user-3:', 'user-2:fifth é ✓'];
  const p = await rivulet(['produce', 'events', '-b', bs, '-k', ':', '-H', 'source=cli', '-H', 'trace=', '--acks', '-1'], { input: `${lines.join('\n')}\n` });
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /produced 5 record\(s\) to "events"/);

  const c = await rivulet(['consume', 'events', '-b', bs, '--from-beginning', '--format', 'json']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr, /consumed 5 record\(s\)/);
  const got = jsonLines(c.stdout);
  for (const r of got) {
    assert.equal(typeof r.timestamp, 'number');
    delete r.timestamp;
  }
  // Expected: each key in its Java-compatible partition, offsets from 0 in input order per partition.
  const next = new Map<number, number>();
  const expected = lines.map((l) => {
    const i = l.indexOf(':');
    const key = l.slice(0, i);
    const partition = partitionForKey(Buffer.from(key), 3);
    const offset = next.get(partition) ?? 0;
    next.set(partition, offset + 1);
    return { topic: 'events', partition, offset, key, value: l.slice(i + 1), headers: { source: 'cli', trace: '' } };
  });
  const order = (a: Record<string, unknown>, b: Record<string, unknown>): number => (a.partition as number) - (b.partition as number) || (a.offset as number) - (b.offset as number);
  assert.deepEqual(got.sort(order), expected.sort(order));
});

// The client library takes acks from each send, not from the producer's options; the
// broker's count of Produce requests by acks shows what really went over the wire.
for (const [flag, label] of [[undefined, 'all'], ['all', 'all'], ['1', '1'], ['0', '0']] as const) {
  test(`produce ${flag === undefined ? 'without --acks' : `--acks ${flag}`} sends Produce requests with acks=${label}`, async () => {
    const before = await produceRequestsByAcks(broker.httpPort);
    const p = await rivulet(['produce', `acks-${label}`, '-b', bs, ...(flag === undefined ? [] : ['--acks', flag])], { input: 'one\ntwo\n' });
    assert.equal(p.code, 0, p.stderr);
    const after = await produceRequestsByAcks(broker.httpPort);
    assertOnlyAcksGrew(before, after, label);
  });
}

test('--partition, --offset, --from-beginning, default end position, -n and formats', async () => {
  const p = await rivulet(['produce', 'pinned', '-b', bs, '-p', '1'], { input: 'zero\none\ntwo\nthree\n' });
  assert.equal(p.code, 0, p.stderr);

  const all = await rivulet(['consume', 'pinned', '-b', bs, '--from-beginning']);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.stdout, 'zero\none\ntwo\nthree\n');

  const fromOffset = await rivulet(['consume', 'pinned', '-b', bs, '-p', '1', '--offset', '2', '--format', 'json']);
  assert.equal(fromOffset.code, 0, fromOffset.stderr);
  assert.deepEqual(jsonLines(fromOffset.stdout).map((r) => [r.partition, r.offset, r.key, r.value]), [[1, 2, null, 'two'], [1, 3, null, 'three']]);

  const other = await rivulet(['consume', 'pinned', '-b', bs, '-p', '0', '--from-beginning']);
  assert.equal(other.code, 0, other.stderr);
  assert.equal(other.stdout, '');

  const atEnd = await rivulet(['consume', 'pinned', '-b', bs]);
  assert.equal(atEnd.code, 0, atEnd.stderr);
  assert.equal(atEnd.stdout, '');
  assert.match(atEnd.stderr, /--from-beginning/);

  const limited = await rivulet(['consume', 'pinned', '-b', bs, '--from-beginning', '-n', '2', '--format', 'kv', '--separator', '|']);
  assert.equal(limited.code, 0, limited.stderr);
  assert.equal(limited.stdout, 'null|zero\nnull|one\n');

  const clamped = await rivulet(['consume', 'pinned', '-b', bs, '-p', '1', '--offset', '99']);
  assert.equal(clamped.code, 0, clamped.stderr);
  assert.equal(clamped.stdout, '');
  assert.match(clamped.stderr, /starting at 4 instead of 99/);

  const byTime = await rivulet(['consume', 'pinned', '-b', bs, '--timestamp', '0']);
  assert.equal(byTime.stdout, 'zero\none\ntwo\nthree\n', byTime.stderr);
  const future = await rivulet(['consume', 'pinned', '-b', bs, '--timestamp', '2999-01-01T00:00:00Z']);
  assert.equal(future.code, 0, future.stderr);
  assert.equal(future.stdout, '');
});

test('consume --group --from-beginning prints every record, then resumes from the committed offsets', async () => {
  // One fetch returns all four records; the run must not end before each is printed.
  const p = await rivulet(['produce', 'grouped', '-b', bs, '-p', '2', '--acks', '-1'], { input: 'a\nb\nc\nd\n' });
  assert.equal(p.code, 0, p.stderr);
  const first = await rivulet(['consume', 'grouped', '-b', bs, '--group', 'cli-g', '--from-beginning']);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, 'a\nb\nc\nd\n');
  const more = await rivulet(['produce', 'grouped', '-b', bs, '-p', '2', '--acks', '-1'], { input: 'e\nf\n' });
  assert.equal(more.code, 0, more.stderr);
  const second = await rivulet(['consume', 'grouped', '-b', bs, '--group', 'cli-g', '--from-beginning']);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, 'e\nf\n');
});

for (const codec of ['gzip', 'snappy', 'lz4']) {
  test(`--compression ${codec} round-trips`, async () => {
    const topic = `compressed-${codec}`;
    const input = Array.from({ length: 50 }, (_, i) => `k${i % 5}=value number ${i}`).join('\n');
    const p = await rivulet(['produce', topic, '-b', bs, '-k', '=', '--compression', codec, '--acks', '1'], { input });
    assert.equal(p.code, 0, p.stderr);
    const c = await rivulet(['consume', topic, '-b', bs, '--from-beginning', '--format', 'kv', '--separator', '=']);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(c.stdout.split('\n').filter(Boolean).sort(), input.split('\n').sort());
  });
}

test('--follow waits past the end offsets seen at start, and -n ends it', async () => {
  const topic = 'followed';
  assert.equal((await rivulet(['produce', topic, '-b', bs, '-p', '0'], { input: 'first\n' })).code, 0);
  let produced: Promise<CliResult> | undefined;
  const c = await rivulet(['consume', topic, '-b', bs, '-p', '0', '--from-beginning', '-f', '-n', '3'], {
    onStart: (child, out) => {
      child.stdin!.end();
      // Produce only once the consumer has printed the old record, so the new ones arrive while it waits.
      produced = waitFor('the first record', () => out.stdout().includes('first\n')).then(() => rivulet(['produce', topic, '-b', bs, '-p', '0'], { input: 'second\nthird\n' }));
    },
  });
  assert.equal((await produced!).code, 0);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, 'first\nsecond\nthird\n');
});

test('SIGINT stops a following consumer cleanly with exit code 0', async () => {
  const topic = 'interrupted';
  assert.equal((await rivulet(['produce', topic, '-b', bs, '-p', '2'], { input: 'only\n' })).code, 0);
  const c = await rivulet(['consume', topic, '-b', bs, '--from-beginning', '--follow'], {
    onStart: (child, out) => {
      child.stdin!.end();
      void waitFor('the record', () => out.stdout().includes('only\n')).then(() => child.kill('SIGINT'));
    },
  });
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, 'only\n');
  assert.match(c.stderr, /consumed 1 record\(s\) \(interrupted\)/);
});

test('unknown topic: consume exits 1 and names the topic', async () => {
  const c = await rivulet(['consume', 'no-such-topic', '-b', bs, '--from-beginning']);
  assert.equal(c.code, 1);
  assert.match(c.stderr, /^rivulet: topic "no-such-topic" does not exist/m);
  assert.equal(c.stdout, '');
});

test('unreachable bootstrap server: exit 1, the address and that nothing answered', async () => {
  const port = await closedPort();
  const addr = `127.0.0.1:${port}`;
  for (const args of [['consume', 'x', '--from-beginning'], ['produce', 'x'], ['topic', 'list']]) {
    const r = await rivulet([...args, '-b', addr], { input: 'a\n' });
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`cannot reach the Kafka cluster: nothing answered at 127\\.0\\.0\\.1:${port} \\(connect ECONNREFUSED`));
  }
});

test('RIVULET_BOOTSTRAP is the default bootstrap server', async () => {
  const port = await closedPort();
  const { code, stderr } = await rivulet(['topic', 'list'], { env: { RIVULET_BOOTSTRAP: `127.0.0.1:${port}` } });
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`nothing answered at 127\\.0\\.0\\.1:${port}`));
});

test('--version prints the package version, and --help lists every command (from the bundle users run)', async () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
  assert.equal(join(repoRoot, pkg.bin.rivulet!), cliPath, 'the tests run what `rivulet` runs');
  const v = await rivulet(['--version']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), pkg.version);
  const h = await rivulet(['--help']);
  assert.equal(h.code, 0, h.stderr);
  for (const cmd of ['start', 'topic', 'produce', 'consume', 'group', 'bench']) assert.match(h.stdout, new RegExp(`^\\s+${cmd}\\b`, 'm'), `${cmd} is listed`);
});

test('usage errors exit 2 with a message', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['consume', 't', '--format', 'xml'], /argument 'xml' is invalid/],
    [['consume', 't', '--from-beginning', '--offset', '3'], /choose one start position, not --from-beginning and --offset/],
    [['consume', 't', '--offset', '-1'], /--offset must be from 0/],
    [['consume', 't', '--timestamp', 'yesterday'], /--timestamp must be milliseconds since the epoch or an ISO date/],
    [['consume', 't', '--group', 'g', '-p', '0'], /--partition cannot be used with --group/],
    [['produce', 't', '--acks', '2'], /argument '2' is invalid/],
    [['produce', 't', '--compression', 'brotli'], /argument 'brotli' is invalid/],
    [['produce', 't', '-p', 'x'], /--partition must be an integer, not "x"/],
    [['produce', 't', '-H', 'novalue'], /--header expects key=value, got "novalue"/],
    [['produce', 'bad/name'], /invalid topic name "bad\/name"/],
    [['topic', 'list', '-b', 'localhost'], /invalid --bootstrap-server entry "localhost": expected host:port/],
    [['consume'], /missing required argument 'topic'/],
  ];
  for (const [args, re] of cases) {
    const r = await rivulet([...args, ...(args.includes('-b') ? [] : ['-b', bs])], { input: '' });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});

test('produce input and partition errors exit 1 with a clear message', async () => {
  const noSep = await rivulet(['produce', 'events', '-b', bs, '-k', '\t'], { input: 'k\tv\nno separator here\n' });
  assert.equal(noSep.code, 1);
  assert.match(noSep.stderr, /line 2 has no key separator "\\t"/);

  const badPartition = await rivulet(['produce', 'events', '-b', bs, '-p', '7'], { input: 'x\n' });
  assert.equal(badPartition.code, 1);
  assert.match(badPartition.stderr, /partition 7 does not exist: topic "events" has 3 partition\(s\)/);

  // A record over the broker's max.message.bytes (1 MiB default) is refused: exit 1, the broker's reason.
  const tooLarge = await rivulet(['produce', 'large', '-b', bs, '-p', '0', '--batch-size', '1'], { input: `small\n${'x'.repeat(1_500_000)}\n` });
  assert.equal(tooLarge.code, 1);
  assert.match(tooLarge.stderr, /delivery failed: 1 of 2 record\(s\) read were not acknowledged: .*MESSAGE_TOO_LARGE/);

  const badConsumePartition = await rivulet(['consume', 'events', '-b', bs, '-p', '3']);
  assert.equal(badConsumePartition.code, 1);
  assert.match(badConsumePartition.stderr, /partition 3 does not exist/);
});
