// Transactions with the Apache Kafka Java client (kafka-clients 4.4.0; java/TxnClient.java),
// once with the broker finalizing transaction.version 1 and once 2 (KIP-890: the 4.x client
// runs the version-2 protocol only when the broker finalizes it, and says which it runs).
//
// 1. A transactional producer commits and aborts transactions of 100 records over 3
//    partitions (every third aborted). Every record lands at the offset the layout predicts
//    (one control marker after each transaction in each partition); a read_committed consumer
//    gets exactly the committed records, once each, in order, and its position ends past the
//    markers it never receives; a read_uncommitted consumer gets the aborted ones too.
// 2. Zombie fencing: producer A is in a transaction when B, with the same transactional.id,
//    calls initTransactions. A's next send and its commit fail with the exceptions Apache Kafka
//    4.4 gives; A's records never become visible to read_committed, B's do.
//
// KAFKA_PEER_CMD runs this file against another broker, e.g. Apache Kafka (see
// test/helpers/broker-or-peer.ts).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { BrokerProcess } from '../helpers/broker.js';
import { startBrokerOrPeer } from '../helpers/broker-or-peer.js';
import { describeRun, lastJson, requireJava, runJava, token } from './tools.js';
import { checkConsumed, checkProduced, type ConsumeSummary, type ProduceSummary, type TxnPlan } from './transactions.js';

const partitions = 3;
const txns = 12;
const perTxn = 100;
const abortEvery = 3;
const plan: TxnPlan = { partitions, txns, perTxn, abortEvery };

interface JavaProduceSummary extends ProduceSummary {
  finalizedTransactionVersion: number;
  clientTv2: boolean | null;
}

interface FenceSummary {
  client: string;
  finalizedTransactionVersion: number;
  rounds: Array<{ round: string; clientTv2: boolean | null; aAcked: number; bAcked: number; aErrors: string[] }>;
  errors: string[];
}

for (const tv of [1, 2] as const) {
  describe(`transaction.version=${tv}`, () => {
    let broker: BrokerProcess | undefined;

    before(async () => {
      broker = await startBrokerOrPeer({ settings: { 'num.partitions': String(partitions), 'transaction.version': String(tv) } });
    });

    after(async () => {
      await broker?.cleanup();
    });

    test(`java transactional producer (TV${tv}): ${txns} transactions of ${perTxn} records, every ${abortEvery}rd aborted; read_committed sees exactly the committed ones`, { timeout: 180_000 }, async (t) => {
      if (!(await requireJava(t))) return;
      const topic = `txn-java-tv${tv}-${token()}`;
      const tok = token();
      const pr = await runJava('TxnClient.java', ['produce', broker!.bootstrap, topic, `txn-${tok}`, tok, String(txns), String(perTxn), String(abortEvery)], { timeoutMs: 120_000 });
      const pctx = describeRun('java TxnClient.java produce', pr, broker);
      const ps = lastJson<JavaProduceSummary>(pr.stdout, pctx);
      t.diagnostic(`${ps.client}; broker finalizes transaction.version=${ps.finalizedTransactionVersion}; client runs TV2: ${ps.clientTv2 ?? 'not exposed'}`);
      assert.deepEqual(ps.errors, [], pctx);
      assert.equal(pr.code, 0, pctx);
      assert.equal(ps.finalizedTransactionVersion, tv, `transaction.version the broker finalizes (ApiVersions / DescribeFeatures)\n${pctx}`);
      if (ps.clientTv2 !== null) assert.equal(ps.clientTv2, tv === 2, `the client runs the TV2 protocol exactly when the broker finalizes it\n${pctx}`);
      checkProduced(plan, tok, ps, pctx);

      for (const isolation of ['read_committed', 'read_uncommitted'] as const) {
        const cr = await runJava('TxnClient.java', ['consume', broker!.bootstrap, topic, isolation], { timeoutMs: 90_000 });
        const cctx = describeRun(`java TxnClient.java consume ${isolation}`, cr, broker);
        const cs = lastJson<ConsumeSummary>(cr.stdout, cctx);
        assert.equal(cr.code, 0, cctx);
        assert.equal(cs.isolation, isolation, cctx);
        checkConsumed(plan, tok, cs, cctx);
      }
    });

    test(`java zombie fencing (TV${tv}): a second producer with the same transactional.id fences the first; the zombie's records never become visible`, { timeout: 180_000 }, async (t) => {
      if (!(await requireJava(t))) return;
      const topic = `txn-fence-tv${tv}-${token()}`;
      const tok = token();
      const fr = await runJava('TxnClient.java', ['fence', broker!.bootstrap, topic, `fence-${tok}`, tok], { timeoutMs: 120_000 });
      const fctx = describeRun('java TxnClient.java fence', fr, broker);
      const fs = lastJson<FenceSummary>(fr.stdout, fctx);
      assert.deepEqual(fs.errors, [], fctx);
      assert.equal(fr.code, 0, fctx);
      assert.equal(fs.finalizedTransactionVersion, tv, fctx);
      // What Apache Kafka 4.4.0 answers, with either transaction version: the zombie's produce
      // is refused with INVALID_PRODUCER_EPOCH (its partitions carry the newer epoch of the
      // abort marker) and its commit fails with that same error; a zombie that commits
      // without sending first is refused by the coordinator: ProducerFencedException.
      const exceptions = Object.fromEntries(fs.rounds.map((r) => [r.round, r.aErrors.map((e) => e.replace(/^(\w+): (\S+?):.*$/s, '$1: $2'))]));
      assert.deepEqual(exceptions, {
        send: [
          'send: org.apache.kafka.common.errors.InvalidProducerEpochException',
          'commit: org.apache.kafka.common.errors.InvalidProducerEpochException',
        ],
        commit: ['commit: org.apache.kafka.common.errors.ProducerFencedException'],
      }, `what the zombie producer A got\n${JSON.stringify(fs.rounds, null, 1)}\n${fctx}`);
      for (const r of fs.rounds) {
        assert.equal(r.aAcked, 10, `round ${r.round}: A's records before the fencing were written\n${fctx}`);
        assert.equal(r.bAcked, 10, `round ${r.round}: B's records\n${fctx}`);
      }

      const values: Record<string, string[]> = {};
      for (const isolation of ['read_committed', 'read_uncommitted'] as const) {
        const cr = await runJava('TxnClient.java', ['consume', broker!.bootstrap, topic, isolation], { timeoutMs: 90_000 });
        const cctx = describeRun(`java TxnClient.java consume ${isolation}`, cr, broker);
        const cs = lastJson<ConsumeSummary>(cr.stdout, cctx);
        assert.deepEqual(cs.errors, [], cctx);
        assert.deepEqual(cs.positions, cs.endOffsets, cctx);
        values[isolation] = cs.records.map((r) => r[2]).sort();
      }
      const of = (who: string, round: string) => Array.from({ length: 10 }, (_, i) => `${tok}|${who}-${round}|${i}`);
      assert.deepEqual(values.read_committed, [...of('B', 'send'), ...of('B', 'commit')].sort(), 'read_committed: B\'s records only');
      // Sanity: A's first records did reach the log (aborted, not lost); its late send did not.
      assert.deepEqual(values.read_uncommitted, [...of('A', 'send'), ...of('A', 'commit'), ...of('B', 'send'), ...of('B', 'commit')].sort(), 'read_uncommitted: A\'s aborted records and B\'s');
    });
  });
}
