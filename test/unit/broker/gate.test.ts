import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session, ANONYMOUS } from '../../../src/broker/session.js';
import { refusal } from '../../../src/broker/gate.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';

test('a PLAINTEXT session acts as User:ANONYMOUS and the gate admits every API', () => {
  const s = new Session('PLAINTEXT', '127.0.0.1', 40000);
  assert.equal(s.principal, ANONYMOUS);
  assert.equal(s.remote, '127.0.0.1:40000');
  for (const key of Object.values(ApiKey)) assert.equal(refusal(s, key), null);
});

test('the gate refuses a session that has not authenticated, naming the API and the listener', () => {
  const s = new Session('SASL_PLAINTEXT', '127.0.0.1', 40000);
  s.authenticated = false;
  assert.match(refusal(s, ApiKey.Metadata) ?? '', /API key 3 before authentication on listener SASL_PLAINTEXT/);
});

test('closing a session wakes each close waiter once', () => {
  const s = new Session('PLAINTEXT', '::1', 1);
  let calls = 0;
  s.closeWaiters.add({ finished: false, wake: () => calls++ });
  s.close();
  s.close();
  assert.equal(calls, 1);
  assert.equal(s.closed, true);
  assert.equal(s.closeWaiters.length, 0);
});
