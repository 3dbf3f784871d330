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
  const s = new Session('SASL_PLAINTEXT', '127.0.0.1', 40000, 'SASL_PLAINTEXT');
  assert.equal(s.authenticated, false, 'a SASL session starts unauthenticated');
  const r = refusal(s, ApiKey.Metadata);
  assert.equal(r?.reason, 'unauthenticated');
  assert.match(r?.message ?? '', /API key 3 before authentication on SASL listener SASL_PLAINTEXT/);
  for (const key of [ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate]) assert.equal(refusal(s, key), null, `API key ${key} is allowed before authentication`);
});

test('an SSL session is authenticated from the start; a SASL_SSL one is not', () => {
  assert.equal(new Session('SSL', '127.0.0.1', 1, 'SSL').authenticated, true);
  assert.equal(new Session('SASL_SSL', '127.0.0.1', 1, 'SASL_SSL').authenticated, false);
});

test('KIP-368: an expired session may only re-authenticate; before expiry everything passes', () => {
  const s = new Session('SASL_SSL', '127.0.0.1', 1, 'SASL_SSL');
  s.authenticated = true;
  s.expiresAt = performance.now() + 60_000;
  assert.equal(refusal(s, ApiKey.Produce), null);
  s.expiresAt = performance.now() - 1;
  assert.equal(refusal(s, ApiKey.Produce)?.reason, 'session_expired');
  assert.equal(refusal(s, ApiKey.ApiVersions)?.reason, 'session_expired', 'as Kafka: only SaslHandshake and SaslAuthenticate after expiry');
  assert.equal(refusal(s, ApiKey.SaslHandshake), null);
  assert.equal(refusal(s, ApiKey.SaslAuthenticate), null);
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
