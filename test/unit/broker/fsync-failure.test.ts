// Case 2 of the hardening issue, end to end inside the test process: a produce whose write
// lands but whose fsync fails is answered KAFKA_STORAGE_ERROR, the partition is recovered
// from disk, and the producer's retries leave exactly one copy of each record, whether the
// producer is idempotent or not. The broker's logs run on file operations that fail on demand.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { Broker } from '../../../src/broker/broker.js';
import { defaultBrokerConfig, type BrokerConfig } from '../../../src/broker/config.js';
import { Logger } from '../../../src/broker/logger.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';
import { makeTempDir } from '../../helpers/temp.js';
import { WireClient } from '../../helpers/wire-client.js';
import { buildBatch, type BatchOptions } from '../../helpers/batches.js';
import { produceBody } from '../../helpers/requests.js';
import { readPartition } from '../../helpers/read-all.js';
import { sleep } from '../../helpers/wait.js';
import { FaultyOps, errno } from '../storage/helpers.js';

test('case 2: a produce whose fsync fails is told KAFKA_STORAGE_ERROR, and retries leave one copy of each record', async () => {
  const dataDir = await makeTempDir('rivulet-fsync-');
  const ops = new FaultyOps();
  const config: BrokerConfig = { ...defaultBrokerConfig(), host: '127.0.0.1', port: 0, httpPort: 0, logLevel: 'error', dataDir };
  // Logged errors are expected here (the injected failures); keep the output quiet.
  const broker = new Broker(config, { openLog: (dir, cfg) => PartitionLog.open(dir, cfg, { fileOps: ops }), logger: new Logger('error') });
  broker.logger.error = () => undefined;
  await broker.start();
  const c = await WireClient.connect(broker.port);
  try {
    const produce = async (value: string, opts: BatchOptions = {}): Promise<{ errorCode: number; baseOffset: number }> => {
      const res = await c.request(ApiKey.Produce, 9, produceBody('t', buildBatch([{ key: null, value: Buffer.from(value) }], opts)));
      return res.responses[0].partitionResponses[0];
    };
    /** What a client does with a retriable error: send the same batch again until it is stored. */
    const produceRetrying = async (value: string, opts: BatchOptions = {}): Promise<number> => {
      for (let i = 0; i < 200; i++) {
        const r = await produce(value, opts);
        if (r.errorCode === ErrorCode.NONE) return r.baseOffset;
        assert.equal(r.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
        await sleep(10);
      }
      assert.fail(`${value} was never stored`);
    };
    assert.equal((await produce('a')).errorCode, ErrorCode.NONE);

    // Not idempotent: the failed copy must not stay readable beside the retried one.
    ops.failSyncs.push(errno('EIO'));
    assert.equal((await produce('b')).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.equal(await produceRetrying('b'), 1);

    // Idempotent: the retry of the failed sequence is stored once, at the next offset.
    const pid = { producerId: 4242, producerEpoch: 0 };
    assert.equal(await produceRetrying('c', { ...pid, baseSequence: 0 }), 2);
    ops.failSyncs.push(errno('ENOSPC'));
    assert.equal((await produce('d', { ...pid, baseSequence: 1 })).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.equal(await produceRetrying('d', { ...pid, baseSequence: 1 }), 3);
    // A retry of a batch already stored is answered with its offset, not stored again.
    assert.equal(await produceRetrying('d', { ...pid, baseSequence: 1 }), 3);

    const values = (await readPartition(broker.port, 't', 0)).map((r) => r.value!.toString());
    assert.deepEqual(values, ['a', 'b', 'c', 'd']);
  } finally {
    c.close();
    await broker.stop();
  }
  // The next start finds the same records: nothing told "failed" comes back from the files.
  const again = new Broker(config, { openLog: (dir, cfg) => PartitionLog.open(dir, cfg), logger: new Logger('error') });
  await again.start();
  try {
    assert.deepEqual((await readPartition(again.port, 't', 0)).map((r) => r.value!.toString()), ['a', 'b', 'c', 'd']);
  } finally {
    await again.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
