// Produce and Fetch count their responses' error codes through their own visitors (the
// connection's generic walk is too slow for them): each must visit every code there is.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { produce } from '../../../src/broker/handlers/00-produce.js';
import { fetch } from '../../../src/broker/handlers/01-fetch.js';
import type { FetchResponse, ProduceResponse } from '../../../src/protocol/generated/index.js';

function visited<R>(visit: (r: R, v: (code: number) => void) => void, response: R): number[] {
  const codes: number[] = [];
  visit(response, (c) => codes.push(c));
  return codes.filter((c) => c !== 0).sort((a, b) => a - b);
}

test('the Produce visitor sees every partition of every topic', () => {
  const part = (index: number, errorCode: number) => ({ index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage: null });
  const res: ProduceResponse = {
    responses: [
      { name: 'a', partitionResponses: [part(0, 0), part(1, 3)] },
      { name: 'b', partitionResponses: [part(0, 87)] },
    ],
    throttleTimeMs: 0,
  };
  assert.deepEqual(visited(produce.errorCodes!, res), [3, 87]);
});

test('the Fetch visitor sees the top-level code and every partition', () => {
  const part = (partitionIndex: number, errorCode: number) => ({ partitionIndex, errorCode, highWatermark: 0, records: [] });
  const res = {
    errorCode: 56,
    responses: [
      { topic: 'a', partitions: [part(0, 1), part(1, 0)] },
      { topic: 'b', partitions: [part(0, 100)] },
    ],
  } as unknown as FetchResponse;
  assert.deepEqual(visited(fetch.errorCodes!, res), [1, 56, 100]);
});
