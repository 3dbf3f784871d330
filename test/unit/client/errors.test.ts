// src/client/errors.ts: library errors become one message a person can act on, with the
// caller's hints; the toolkit's own errors pass through.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientError, ClientErrorCode, explainError, findProtocolError, isUnknownTopic, leafErrors, UnknownTopicError } from '../../../src/client/errors.js';
import { parseBootstrap } from '../../../src/client/connection.js';

const multiple = (...errors: Error[]): Error => Object.assign(new Error('Multiple errors'), { errors });
const protocolError = (apiId: string, message: string): Error => Object.assign(new Error(message), { apiId });

test('leaf errors, protocol errors and unknown topics are found inside nested library errors', () => {
  const e = multiple(multiple(protocolError('TOPIC_ALREADY_EXISTS', 'Topic exists.')), new Error('Unknown topic ghost.'));
  assert.equal(leafErrors(e).length, 2);
  assert.equal(findProtocolError(e, 'TOPIC_ALREADY_EXISTS')?.apiId, 'TOPIC_ALREADY_EXISTS');
  assert.equal(findProtocolError(e, 'NOT_COORDINATOR'), undefined);
  assert.ok(isUnknownTopic(e));
});

test('explanations: unreachable cluster and unknown topic, with and without the caller hints', () => {
  const down = multiple(Object.assign(new Error('Connection to 127.0.0.1:1 failed.'), { code: 'PLT_KFK_NETWORK', cause: new Error('connect ECONNREFUSED 127.0.0.1:1') }));
  assert.equal(explainError(down, '127.0.0.1:1'), 'cannot reach the Kafka cluster: nothing answered at 127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1). Is the broker running?');
  assert.match(explainError(down, '127.0.0.1:1', { unreachable: 'Check --bootstrap-server.' }), /Is the broker running\? Check --bootstrap-server\.$/);
  assert.equal(explainError(new UnknownTopicError('ghost'), 'b:1'), 'topic "ghost" does not exist.');
  assert.equal(explainError(new Error('Unknown topic ghost.'), 'b:1', { listTopics: 'rivulet topic list' }), 'topic "ghost" does not exist (list topics with: rivulet topic list).');
  assert.equal(explainError(multiple(protocolError('NON_EMPTY_GROUP', 'The group is not empty.')), 'b:1'), 'the broker answered with an error: NON_EMPTY_GROUP (The group is not empty)');
  assert.equal(explainError(new ClientError('as is', { code: ClientErrorCode.unexpectedAnswer }), 'b:1'), 'as is');
});

test('bootstrap lists: host:port entries, bracketed IPv6; errors name the setting and carry invalidArgument', () => {
  assert.deepEqual(parseBootstrap(' a:1, [::1]:9092 ,'), ['a:1', '[::1]:9092']);
  assert.throws(() => parseBootstrap('localhost', '--bootstrap-server'), (e: unknown) => e instanceof ClientError && e.code === ClientErrorCode.invalidArgument && e.message === 'invalid --bootstrap-server entry "localhost": expected host:port, e.g. localhost:9092');
  assert.throws(() => parseBootstrap(' , '), /bootstrap servers is empty: expected host:port/);
});
