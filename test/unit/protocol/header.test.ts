// Request and response headers and whole frames.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../../src/protocol/reader.js';
import {
  encodeRequest,
  encodeResponse,
  isFlexible,
  readRequestHeader,
  responseHeaderFlexible,
} from '../../../src/protocol/header.js';
import { ApiKey, codecs } from '../../../src/protocol/generated/index.js';
import { goldenFrame, goldenIndex } from './helpers.js';

const apiVersions = codecs[ApiKey.ApiVersions]!;
const metadata = codecs[ApiKey.Metadata]!;
const produce = codecs[ApiKey.Produce]!;

test('ApiVersions responses use header v0 at every version, flexible ones included', () => {
  for (let v = apiVersions.minVersion; v <= apiVersions.maxVersion; v++) {
    assert.equal(responseHeaderFlexible(ApiKey.ApiVersions, v), false, `v${v}`);
  }
  assert.equal(isFlexible(ApiKey.ApiVersions, 3), true, 'its request header is v2 from v3');
  assert.equal(isFlexible(ApiKey.ApiVersions, 2), false);
  // Other APIs switch to header v1 with their first flexible version.
  assert.equal(responseHeaderFlexible(ApiKey.Metadata, 8), false);
  assert.equal(responseHeaderFlexible(ApiKey.Metadata, 9), true);
  assert.equal(responseHeaderFlexible(ApiKey.Produce, 9), true);
  assert.equal(responseHeaderFlexible(ApiKey.SaslHandshake, 1), false, 'never flexible');
  assert.equal(isFlexible(999, 0), false, 'unknown API');
});

test('an ApiVersions v3 response frame has no header tag buffer', () => {
  const body = { errorCode: 0, apiKeys: [{ apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 4 }], throttleTimeMs: 0 };
  const write = apiVersions.writeResponse[3]!;
  const frame = Buffer.concat(encodeResponse(42, responseHeaderFlexible(ApiKey.ApiVersions, 3), write, body));
  assert.equal(frame.readInt32BE(0), frame.length - 4);
  assert.equal(frame.readInt32BE(4), 42, 'correlation id');
  // The body starts right after the correlation id: error_code INT16 0, then a compact array of 1.
  assert.equal(frame.readInt16BE(8), 0);
  assert.equal(frame[10], 2);
  const r = new Reader(frame, 8);
  const decoded = apiVersions.readResponse[3]!(r);
  assert.equal(r.bad, false, r.reason);
  assert.equal(r.remaining, 0);
  assert.deepEqual(decoded.apiKeys, body.apiKeys);
  const withTags = Buffer.concat(encodeResponse(42, true, write, body));
  assert.equal(withTags.length, frame.length + 1, 'header v1 would add one byte');
});

test('a Metadata v12 response frame carries an empty header tag buffer', () => {
  const body = { throttleTimeMs: 0, brokers: [], clusterId: null, controllerId: -1, topics: [] };
  const frame = Buffer.concat(encodeResponse(7, responseHeaderFlexible(ApiKey.Metadata, 12), metadata.writeResponse[12]!, body));
  assert.equal(frame.readInt32BE(0), frame.length - 4);
  assert.equal(frame.readInt32BE(4), 7);
  assert.equal(frame[8], 0, 'header tag buffer');
  const r = new Reader(frame, 9);
  metadata.readResponse[12]!(r);
  assert.equal(r.bad, false, r.reason);
  assert.equal(r.remaining, 0);
});

test('request header v2 keeps client_id a non-compact NULLABLE_STRING', () => {
  const clientId = 'client-é';
  const n = Buffer.byteLength(clientId);
  const body = { topics: null, allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false };
  const frame = Buffer.concat(encodeRequest({ apiKey: ApiKey.Metadata, apiVersion: 12, correlationId: 99, clientId }, metadata.writeRequest[12]!, body));
  assert.equal(frame.readInt32BE(0), frame.length - 4);
  assert.equal(frame.readInt16BE(4), ApiKey.Metadata);
  assert.equal(frame.readInt16BE(6), 12);
  assert.equal(frame.readInt32BE(8), 99);
  assert.equal(frame.readInt16BE(12), n, 'INT16 length, not a compact uvarint length + 1');
  assert.equal(frame.toString('utf8', 14, 14 + n), clientId);
  assert.equal(frame[14 + n], 0, 'then the header tag buffer');
  const r = new Reader(frame, 4);
  assert.deepEqual(readRequestHeader(r), { apiKey: ApiKey.Metadata, apiVersion: 12, correlationId: 99, clientId });
  r.skipTaggedFields();
  assert.equal(r.pos, 15 + n);
  const decoded = metadata.readRequest[12]!(r);
  assert.equal(r.bad, false);
  assert.equal(decoded.topics, null);
  assert.equal(decoded.allowAutoTopicCreation, true);
});

test('a real client sends header v2 the same way (golden platformatic Metadata v12)', () => {
  const e = goldenIndex().find((x) => x.client === 'platformatic' && x.apiKey === ApiKey.Metadata && x.version >= 9);
  assert.ok(e, 'golden frame present');
  const frame = goldenFrame(e);
  const n = Buffer.byteLength(e.clientId);
  assert.equal(frame.readInt16BE(12), n);
  assert.equal(frame.toString('utf8', 14, 14 + n), e.clientId);
  assert.equal(frame[14 + n], 0);
});

test('request header v1: no tag buffer, null client id is -1', () => {
  const frame = Buffer.concat(encodeRequest({ apiKey: ApiKey.Metadata, apiVersion: 8, correlationId: 1, clientId: null }, metadata.writeRequest[8]!, { topics: [] }));
  assert.equal(frame.readInt16BE(12), -1);
  // Metadata v8 body: topics INT32 0, allow_auto_topic_creation, two include_* booleans.
  assert.equal(frame.length, 14 + 4 + 1 + 1 + 1);
  const r = new Reader(frame, 4);
  assert.equal(readRequestHeader(r).clientId, null);
  assert.equal(isFlexible(ApiKey.Metadata, 8), false);
  assert.equal(r.pos, 14, 'body starts straight after the client id');
});

test('header v2 with unknown tagged fields still finds the body', () => {
  const frame = Buffer.concat(encodeRequest({ apiKey: ApiKey.Metadata, apiVersion: 12, correlationId: 5, clientId: 'c' }, metadata.writeRequest[12]!, { topics: [] }));
  const tagAt = 14 + 1;
  const tagged = Buffer.concat([frame.subarray(0, tagAt), Buffer.from('0103020102', 'hex'), frame.subarray(tagAt + 1)]);
  tagged.writeInt32BE(tagged.length - 4, 0);
  const r = new Reader(tagged, 4);
  readRequestHeader(r);
  r.skipTaggedFields();
  const m = metadata.readRequest[12]!(r);
  assert.equal(r.bad, false, r.reason);
  assert.equal(r.remaining, 0);
  assert.deepEqual(m.topics, []);
});

test('frame size counts record data passed by reference', () => {
  const records = Buffer.alloc(70, 1);
  const body = { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records }] }] };
  const chunks = encodeRequest({ apiKey: ApiKey.Produce, apiVersion: 9, correlationId: 3, clientId: 'p' }, produce.writeRequest[9]!, body);
  const frame = Buffer.concat(chunks);
  assert.equal(frame.readInt32BE(0), frame.length - 4);
  assert.ok(chunks.includes(records), 'records spliced by reference');
  const response = encodeResponse(3, true, produce.writeResponse[9]!, { responses: [], throttleTimeMs: 0 });
  assert.equal(Buffer.concat(response).readInt32BE(0), Buffer.concat(response).length - 4);
});
