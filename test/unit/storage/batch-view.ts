// Re-exports of the batch header readers the tests use, plus one the protocol module lacks.

import { Off } from '../../../src/protocol/record-batch.js';

export { baseOffset, batchSize } from '../../../src/protocol/record-batch.js';

export function partitionLeaderEpochOf(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + Off.partitionLeaderEpoch);
}
