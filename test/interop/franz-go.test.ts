// franz-go's own consumer-group integration tests, in their KIP-848 variants, against the
// broker: `go test github.com/twmb/franz-go/pkg/kgo` (v1.22.3, the version bench/latency
// uses) run from test/interop/go with KGO_SEEDS naming a broker this file starts. franz-go
// turns its 848 variants on when the broker announces ConsumerGroupHeartbeat v1.
//   TestGroupETL/{range,sticky}/848 and sticky/848/static: chains of groups whose members join
//     and leave while they consume and produce; nothing consumed twice, everything in order
//   TestTxnEtl/{range,sticky}/848 and sticky/848/static: the same with transactional producers
//     committing the group's offsets in their transactions (TxnOffsetCommit within the epoch)
//   TestGroupSimple/848: produce and consume through a server-assigned group
// The classic variants the pattern selects run too. Not run: Test848RegexBrokerResolves, which
// expects Kafka's internal __consumer_offsets topic in Metadata (this broker does not expose it).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { interopDir, requireTool, run, works } from './tools.js';

let broker: BrokerProcess | undefined;
after(async () => {
  await broker?.cleanup();
});

const MUST_PASS = [
  'TestGroupETL/range/848', 'TestGroupETL/sticky/848', 'TestGroupETL/sticky/848/static',
  'TestTxnEtl/range/848', 'TestTxnEtl/sticky/848', 'TestTxnEtl/sticky/848/static',
  'TestGroupSimple/848',
];

test('franz-go v1.22.3 group tests, KIP-848 variants', { timeout: 900_000 }, async (t) => {
  if (!requireTool(t, await works('go', ['version']), 'Go 1.26+', 'install it from go.dev/dl (franz-go v1.22 needs Go 1.26)')) return;
  broker = await startBroker({ args: ['--set', 'group.initial.rebalance.delay.ms=0', '--set', 'group.consumer.heartbeat.interval.ms=1000'] });
  const r = await run('go', ['test', 'github.com/twmb/franz-go/pkg/kgo', '-run', 'TestGroupSimple|TestGroupETL/(range|sticky)/848|TestTxnEtl/(range|sticky)/848', '-count=1', '-v', '-timeout', '12m'], {
    cwd: join(interopDir, 'go'),
    // GOPROXY=off: the modules are downloaded beforehand (.ci/run); the test reaches only 127.0.0.1.
    env: { KGO_SEEDS: broker.bootstrap, KGO_TEST_RF: '1', KGO_TEST_RECORDS: '20000', KGO_LOG_LEVEL: 'none', GOPROXY: 'off' },
    timeoutMs: 840_000,
  });
  const out = r.stdout.toString() + r.stderr;
  const results = [...out.matchAll(/--- (PASS|FAIL|SKIP): (\S+)/g)].map((m) => `${m[1]} ${m[2]}`);
  t.diagnostic(results.join('\n'));
  const tail = () => `${out.split('\n').filter((l) => !/deleting (group|topic)/.test(l)).slice(-60).join('\n')}\n--- broker ---\n${broker!.output().split('\n').slice(-30).join('\n')}`;
  for (const name of MUST_PASS) assert.ok(results.includes(`PASS ${name}`), `${name} passed\n${tail()}`);
  assert.equal(r.code, 0, `go test exited ${r.code}${r.timedOut ? ' (timed out)' : ''}\n${tail()}`);
});
