// The stream client pieces against Apache Kafka (4.4.0, from the jars bench/compare fetches from
// Maven Central into bench/compare/kafka/lib): a KIP-848 GroupMember gets the partitions; a
// StreamProducer takes over its transactional id from an older instance (InitProducerId with
// -1/-1; the library's 0/0 is fenced by Kafka) and commits records with the member's offsets in
// one TxnOffsetCommit; a stale member epoch is fenced; the RecordFetcher reads exactly the
// committed records read_committed; fetchCommittedOffsets (requireStable) returns the offsets.
// Without the jars the test is skipped with a message, except in CI, where ensureKafka copies
// them from Maven Central first (mvn), as bench/compare does.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { Admin } from '@platformatic/kafka';
import { makeTempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { GroupMember } from '../../src/client/group-member.js';
import { StreamProducer } from '../../src/client/stream-producer.js';
import { RecordFetcher, type FetchedRecord } from '../../src/client/record-fetcher.js';
import { fetchCommittedOffsets } from '../../src/client/committed-offsets.js';
import { FencedError } from '../../src/client/errors.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const lib = join(root, 'bench', 'compare', 'kafka', 'lib');
const haveJars = existsSync(lib) && readdirSync(lib).some((f) => /^kafka_2\.13-.*\.jar$/.test(f));
const skip = haveJars || process.env.CI ? false : 'Apache Kafka jars not found in bench/compare/kafka/lib: run `node bench/compare/run.mjs` once (it copies them from Maven Central with mvn), or set CI=true to have this test copy them';

interface Brokers {
  setWork(dir: string): void;
  ensureKafka(o: { benchTool: boolean }): void;
  startKafka(mode: string): Promise<{ child: ChildProcess; bootstrap: string; dir: string }>;
  stop(child: ChildProcess): Promise<void>;
  cleanup(): Promise<void>;
}

let brokers: Brokers;
let kafka: { child: ChildProcess; bootstrap: string } | undefined;
let admin: Admin;
const base = () => ({ clientId: 'client-kafka', bootstrapBrokers: [kafka!.bootstrap], retries: 10, retryDelay: 300 });

before(async () => {
  if (skip) return;
  brokers = (await import(pathToFileURL(join(root, 'bench', 'compare', 'brokers.mjs')).href)) as Brokers;
  brokers.setWork(await makeTempDir('client-kafka-'));
  brokers.ensureKafka({ benchTool: false });
  kafka = await brokers.startKafka('nofsync');
  admin = new Admin(base());
  await waitFor('Apache Kafka answering Metadata', async () => {
    try {
      return (await admin.metadata({ topics: [], forceUpdate: true })).brokers.size > 0;
    } catch {
      return false;
    }
  }, 90_000, undefined, 500);
});
after(async () => {
  if (skip) return;
  await admin?.close().catch(() => undefined);
  if (kafka) await brokers.stop(kafka.child);
  await brokers.cleanup();
});

test('Apache Kafka: KIP-848 member, transactional id takeover, offsets in the transaction, stale epoch fenced, read_committed fetch', { skip, timeout: 180_000 }, async () => {
  const input = 'ck-in';
  const output = 'ck-out';
  const groupId = 'ck-group';
  await admin.createTopics({ topics: [input, output], partitions: 2, replicas: 1 });
  const log: string[] = [];
  const m = new GroupMember({ client: admin, groupId, topics: [input], log: (l) => log.push(l) });
  const old = new StreamProducer({ client: base(), transactionalId: 'ck-tx' });
  const next = new StreamProducer({ client: base(), transactionalId: 'ck-tx' });
  const f = new RecordFetcher({ client: base(), maxWaitMs: 300 });
  try {
    await m.start();
    await waitFor('the member owns both partitions', () => m.assignment().length === 2, 60_000, () => log.join('\n'));
    const member = { groupId, memberId: m.memberId, memberEpoch: m.memberEpoch };

    // Another transactional id first, so that ck-tx's producer id is not 0: a new instance
    // that sends 0/0 (as @platformatic/kafka does) is then fenced by Kafka.
    const warmup = new StreamProducer({ client: base(), transactionalId: 'ck-warmup' });
    await warmup.init();
    await warmup.close();
    await old.init();
    assert.notEqual(old.producerId, 0n);
    await old.send({ topic: output, partition: 0, key: null, value: Buffer.from('zombie') });
    await next.init();
    assert.ok(next.producerEpoch! > old.producerEpoch! || next.producerId !== old.producerId, `the new instance got a newer epoch (${old.producerId}/${old.producerEpoch} -> ${next.producerId}/${next.producerEpoch})`);
    await assert.rejects(old.commit(), FencedError, 'the old instance is fenced');

    await assert.rejects(next.sendOffsets({ ...member, memberEpoch: member.memberEpoch + 5 }, [{ topic: input, partition: 0, offset: 1n }]), FencedError, 'a wrong member epoch is fenced');
    await next.abort();
    await next.begin();
    const offsets = await Promise.all([0, 1, 2, 3].map((i) => next.send({ topic: output, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) })));
    assert.equal(offsets.length, 4);
    await next.sendOffsets(member, [{ topic: input, partition: 0, offset: 10n }, { topic: input, partition: 1, offset: 20n }]);
    await next.commit();
    await next.begin();
    await next.send({ topic: output, partition: 1, key: null, value: Buffer.from('aborted') });
    await next.abort();

    const committed = await fetchCommittedOffsets(admin, groupId, [0, 1].map((partition) => ({ topic: input, partition })));
    assert.deepEqual([committed.get(`${input}:0`), committed.get(`${input}:1`)], [10n, 20n]);

    const got: FetchedRecord[] = [];
    f.add({ topic: output, partition: 0 }, 0n);
    f.add({ topic: output, partition: 1 }, 0n);
    await waitFor('the committed records', async () => {
      got.push(...(await f.poll()));
      return got.length >= 4 && [0, 1].every((p) => f.lag({ topic: output, partition: p }) === 0n);
    }, 60_000, () => JSON.stringify(got.map((r) => r.value!.toString())));
    assert.deepEqual(got.map((r) => r.value!.toString()).sort(), ['v0', 'v1', 'v2', 'v3'], 'exactly the committed records');
  } finally {
    await f.close();
    await old.close();
    await next.close();
    await m.close().catch(() => undefined);
  }
});
