// src/client/scram.ts: the credential the client sends (RFC 7677's SCRAM-SHA-256 example proves
// the salted password); src/client/acl.ts: kafka-acls' names, --producer/--consumer and filters.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { ClientError } from '../../../src/client/errors.js';
import { parseScramMechanism, scramUpsertion, scramMechanismName } from '../../../src/client/scram.js';
import { aclTable, bindingsToAdd, filtersFor, Operation, parseOperation, PatternType, Permission, ResourceType, type AclSpec } from '../../../src/client/acl.js';

test('the salted password is PBKDF2 as SCRAM defines it: RFC 7677 example exchange verifies', () => {
  const u = scramUpsertion('user', 'SCRAM-SHA-256', 'pencil', 4096, Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'));
  assert.equal(u.mechanism, 1);
  assert.equal(u.iterations, 4096);
  const hmac = (k: Buffer, s: string): Buffer => createHmac('sha256', k).update(s).digest();
  const nonce = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
  const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
  const clientKey = hmac(u.saltedPassword, 'Client Key');
  const signature = hmac(createHash('sha256').update(clientKey).digest(), authMessage);
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
  assert.equal(proof.toString('base64'), 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
  assert.equal(hmac(hmac(u.saltedPassword, 'Server Key'), authMessage).toString('base64'), '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');

  const a = scramUpsertion('alice', 'SCRAM-SHA-512', 'pw', 4096);
  const b = scramUpsertion('alice', 'SCRAM-SHA-512', 'pw', 4096);
  assert.equal(a.mechanism, 2);
  assert.equal(a.saltedPassword.length, 64);
  assert.notDeepEqual(a.salt, b.salt, 'a fresh salt each time');
  assert.equal(scramMechanismName(2), 'SCRAM-SHA-512');
  assert.equal(parseScramMechanism('scram-sha-256'), 'SCRAM-SHA-256');
  assert.throws(() => parseScramMechanism('PLAIN', '--mechanism'), (e: unknown) => e instanceof ClientError && /--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, not "PLAIN" \(PLAIN users are not stored/.test(e.message));
});

const spec = (o: Partial<AclSpec>): AclSpec => ({ topics: [], groups: [], transactionalIds: [], cluster: false, allowPrincipals: [], denyPrincipals: [], allowHosts: [], denyHosts: [], operations: [], patternType: 'literal', producer: false, consumer: false, idempotent: false, ...o });
const brief = (b: { resourceType: number; resourceName: string; operation: number; permissionType: number; host: string }) => `${b.permissionType === Permission.ALLOW ? '+' : '-'}${b.resourceType}:${b.resourceName}:${b.operation}@${b.host}`;

test('kafka-acls names in any spelling; --producer and --consumer expand as kafka-acls does', () => {
  assert.equal(parseOperation('IdempotentWrite'), Operation.IDEMPOTENT_WRITE);
  assert.equal(parseOperation('idempotent-write'), Operation.IDEMPOTENT_WRITE);
  assert.equal(parseOperation('DESCRIBE_CONFIGS'), Operation.DESCRIBE_CONFIGS);
  assert.throws(() => parseOperation('Any'), /unknown operation "Any"/);

  const prod = bindingsToAdd(spec({ allowPrincipals: ['User:app'], producer: true, idempotent: true, topics: ['orders'], transactionalIds: ['tx'] }));
  assert.deepEqual(prod.map(brief).sort(), [
    `+${ResourceType.TOPIC}:orders:${Operation.WRITE}@*`, `+${ResourceType.TOPIC}:orders:${Operation.DESCRIBE}@*`, `+${ResourceType.TOPIC}:orders:${Operation.CREATE}@*`,
    `+${ResourceType.TRANSACTIONAL_ID}:tx:${Operation.WRITE}@*`, `+${ResourceType.TRANSACTIONAL_ID}:tx:${Operation.DESCRIBE}@*`,
    `+${ResourceType.CLUSTER}:kafka-cluster:${Operation.IDEMPOTENT_WRITE}@*`,
  ].sort());
  const cons = bindingsToAdd(spec({ allowPrincipals: ['User:app'], consumer: true, topics: ['orders'], groups: ['g'], patternType: 'PREFIXED' }));
  assert.deepEqual(cons.map(brief).sort(), [`+${ResourceType.TOPIC}:orders:${Operation.READ}@*`, `+${ResourceType.TOPIC}:orders:${Operation.DESCRIBE}@*`, `+${ResourceType.GROUP}:g:${Operation.READ}@*`].sort());
  assert.ok(cons.every((b) => b.resourcePatternType === PatternType.PREFIXED));

  const mixed = bindingsToAdd(spec({ allowPrincipals: ['User:a'], denyPrincipals: ['User:b'], allowHosts: ['10.0.0.1'], operations: ['Read'], topics: ['t'] }));
  assert.deepEqual(mixed.map((b) => `${brief(b)}:${b.principal}`).sort(), [`+2:t:3@10.0.0.1:User:a`, `-2:t:3@*:User:b`]);
});

test('filters: any resource and principal by default; every named combination otherwise', () => {
  const all = filtersFor({ topics: [], groups: [], transactionalIds: [], cluster: false, principals: [], hosts: [], operations: [], patternType: 'any' });
  assert.deepEqual(all, [{ resourceType: ResourceType.ANY, resourceName: null, resourcePatternType: PatternType.ANY, principal: null, host: null, operation: Operation.ANY, permissionType: Permission.ANY }]);
  const some = filtersFor({ topics: ['a', 'b'], groups: [], transactionalIds: [], cluster: true, principals: ['User:x'], hosts: [], operations: ['Read', 'Write'], patternType: 'literal', permission: Permission.DENY });
  assert.equal(some.length, 3 * 2);
  assert.ok(some.every((f) => f.principal === 'User:x' && f.permissionType === Permission.DENY && f.resourcePatternType === PatternType.LITERAL));
  assert.throws(() => filtersFor({ topics: [], groups: [], transactionalIds: [], cluster: false, principals: [], hosts: [], operations: [], patternType: 'regex' }), /unknown resource pattern type "regex"/);
});

test('the table is aligned and sorted', () => {
  const t = aclTable([
    { resourceType: ResourceType.TOPIC, resourceName: 'zeta', resourcePatternType: PatternType.LITERAL, principal: 'User:a', host: '*', operation: Operation.READ, permissionType: Permission.ALLOW },
    { resourceType: ResourceType.GROUP, resourceName: 'g', resourcePatternType: PatternType.PREFIXED, principal: 'User:bob', host: '10.0.0.1', operation: Operation.ALL, permissionType: Permission.DENY },
  ]);
  assert.equal(t, [
    'RESOURCE TYPE  NAME  PATTERN   PRINCIPAL  HOST      OPERATION  PERMISSION',
    'Group          g     Prefixed  User:bob   10.0.0.1  All        Deny',
    'Topic          zeta  Literal   User:a     *         Read       Allow',
    '',
  ].join('\n'));
});
