// The authorizer's rules (Kafka's StandardAuthorizer): literal, wildcard and prefixed patterns,
// DENY over ALLOW, implied operations, hosts, super users, allow.everyone.if.no.acl.found; the
// per-connection cache following ACL changes; filters (MATCH, ANY); and the store: ACLs survive
// a restart, a refused binding is not stored.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Authorizer, CACHE_ENTRIES_MAX, parseSuperUsers, type AuthorizerSettings } from '../../../src/broker/acl/authorizer.js';
import { loadBrokerConfig } from '../../../src/broker/settings.js';
import { AclOperation as Op, AclPermission, PatternType, ResourceType as Res, filterMatches, type AclBinding, type AclFilter } from '../../../src/broker/acl/acl.js';
import { Session } from '../../../src/broker/session.js';
import { makeTempDir } from '../../helpers/temp.js';

const ON: AuthorizerSettings = { authorizerClassName: 'org.apache.kafka.metadata.authorizer.StandardAuthorizer', superUsers: 'User:admin;User:root', allowEveryoneIfNoAclFound: false };

function acl(principal: string, operation: number, resourceType: number, resourceName: string, o: { pattern?: number; deny?: boolean; host?: string } = {}): AclBinding {
  return { principal, operation, resourceType, resourceName, patternType: o.pattern ?? PatternType.LITERAL, permission: o.deny ? AclPermission.DENY : AclPermission.ALLOW, host: o.host ?? '*' };
}

async function withAuthorizer(settings: AuthorizerSettings, acls: AclBinding[], fn: (a: Authorizer, dir: string) => Promise<void> | void): Promise<void> {
  const dir = await makeTempDir('rivulet-acl-');
  try {
    const a = new Authorizer(dir, settings);
    await a.load();
    const problems = await a.create(acls);
    assert.deepEqual(problems, acls.map(() => null));
    await fn(a, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('literal, wildcard and prefixed patterns; principal and User:*', () =>
  withAuthorizer(ON, [
    acl('User:alice', Op.READ, Res.TOPIC, 'orders'),
    acl('User:bob', Op.WRITE, Res.TOPIC, '*'),
    acl('User:carol', Op.READ, Res.TOPIC, 'logs-', { pattern: PatternType.PREFIXED }),
    acl('User:*', Op.READ, Res.GROUP, 'shared'),
  ], (a) => {
    assert.equal(a.decide('User:alice', '10.0.0.1', Op.READ, Res.TOPIC, 'orders'), true);
    assert.equal(a.decide('User:alice', '10.0.0.1', Op.READ, Res.TOPIC, 'orders2'), false, 'literal means the exact name');
    assert.equal(a.decide('User:alice', '10.0.0.1', Op.WRITE, Res.TOPIC, 'orders'), false, 'READ does not give WRITE');
    assert.equal(a.decide('User:bob', '10.0.0.1', Op.WRITE, Res.TOPIC, 'anything'), true, 'LITERAL * covers every topic');
    assert.equal(a.decide('User:bob', '10.0.0.1', Op.WRITE, Res.GROUP, 'anything'), false, 'but not another resource type');
    assert.equal(a.decide('User:carol', '10.0.0.1', Op.READ, Res.TOPIC, 'logs-app'), true);
    assert.equal(a.decide('User:carol', '10.0.0.1', Op.READ, Res.TOPIC, 'log'), false, 'a prefix must be whole');
    assert.equal(a.decide('User:dave', '10.0.0.1', Op.READ, Res.GROUP, 'shared'), true, 'User:* is every principal');
    assert.equal(a.decide('User:dave', '10.0.0.1', Op.READ, Res.TOPIC, 'orders'), false);
  }));

test('DENY wins over ALLOW, and ALL covers every operation', () =>
  withAuthorizer(ON, [
    acl('User:alice', Op.ALL, Res.TOPIC, '*'),
    acl('User:alice', Op.WRITE, Res.TOPIC, 'audit', { deny: true }),
    acl('User:*', Op.ALL, Res.TOPIC, 'secret-', { pattern: PatternType.PREFIXED, deny: true }),
  ], (a) => {
    assert.equal(a.decide('User:alice', 'h', Op.DELETE, Res.TOPIC, 'x'), true);
    assert.equal(a.decide('User:alice', 'h', Op.WRITE, Res.TOPIC, 'audit'), false);
    assert.equal(a.decide('User:alice', 'h', Op.READ, Res.TOPIC, 'audit'), true, 'a DENY of WRITE leaves READ');
    assert.equal(a.decide('User:alice', 'h', Op.READ, Res.TOPIC, 'secret-1'), false, 'a prefixed DENY ALL of User:*');
  }));

test('implied operations: DESCRIBE from READ, WRITE, DELETE, ALTER; DESCRIBE_CONFIGS from ALTER_CONFIGS; DENY implies nothing', () =>
  withAuthorizer(ON, [
    acl('User:r', Op.READ, Res.TOPIC, 't'),
    acl('User:w', Op.WRITE, Res.TOPIC, 't'),
    acl('User:d', Op.DELETE, Res.TOPIC, 't'),
    acl('User:a', Op.ALTER, Res.TOPIC, 't'),
    acl('User:c', Op.ALTER_CONFIGS, Res.TOPIC, 't'),
    acl('User:x', Op.CREATE, Res.TOPIC, 't'),
    acl('User:n', Op.ALL, Res.TOPIC, 't'),
    acl('User:n', Op.READ, Res.TOPIC, 't', { deny: true }),
  ], (a) => {
    for (const p of ['User:r', 'User:w', 'User:d', 'User:a']) assert.equal(a.decide(p, 'h', Op.DESCRIBE, Res.TOPIC, 't'), true, p);
    assert.equal(a.decide('User:x', 'h', Op.DESCRIBE, Res.TOPIC, 't'), false, 'CREATE does not imply DESCRIBE');
    assert.equal(a.decide('User:c', 'h', Op.DESCRIBE_CONFIGS, Res.TOPIC, 't'), true);
    assert.equal(a.decide('User:c', 'h', Op.DESCRIBE, Res.TOPIC, 't'), false);
    assert.equal(a.decide('User:n', 'h', Op.DESCRIBE, Res.TOPIC, 't'), true, 'a DENY of READ does not deny DESCRIBE');
  }));

test('hosts: * or the exact peer address (an IPv4 peer of a dual-stack listener included)', () =>
  withAuthorizer(ON, [acl('User:alice', Op.READ, Res.TOPIC, 't', { host: '10.0.0.1' })], (a) => {
    assert.equal(a.decide('User:alice', '10.0.0.1', Op.READ, Res.TOPIC, 't'), true);
    assert.equal(a.decide('User:alice', '10.0.0.2', Op.READ, Res.TOPIC, 't'), false);
    const mapped = new Session('SSL', '::ffff:10.0.0.1', 5000, 'SSL');
    mapped.principal = 'User:alice';
    assert.equal(a.authorize(mapped, Op.READ, Res.TOPIC, 't'), true);
  }));

test('super users are allowed everything; off, everything is allowed', async () => {
  await withAuthorizer(ON, [acl('User:admin', Op.ALL, Res.TOPIC, '*', { deny: true })], (a) => {
    assert.equal(a.decide('User:admin', 'h', Op.DELETE, Res.TOPIC, 'x'), true, 'a super user is not subject to DENY');
    assert.equal(a.decide('User:root', 'h', Op.ALTER, Res.CLUSTER, 'kafka-cluster'), true);
    assert.equal(a.decide('User:admin2', 'h', Op.ALTER, Res.CLUSTER, 'kafka-cluster'), false);
  });
  await withAuthorizer({ ...ON, authorizerClassName: '' }, [], (a) => {
    assert.equal(a.enabled, false);
    assert.equal(a.authorize(new Session('PLAINTEXT', '127.0.0.1', 1), Op.WRITE, Res.TOPIC, 'x'), true);
  });
});

test('allow.everyone.if.no.acl.found: only for resources no ACL names', async () => {
  const acls = [acl('User:alice', Op.READ, Res.TOPIC, 'owned')];
  await withAuthorizer({ ...ON, allowEveryoneIfNoAclFound: true }, acls, (a) => {
    assert.equal(a.decide('User:bob', 'h', Op.WRITE, Res.TOPIC, 'free'), true);
    assert.equal(a.decide('User:bob', 'h', Op.READ, Res.TOPIC, 'owned'), false, 'an ACL of another principal closes the resource');
  });
  await withAuthorizer(ON, acls, (a) => assert.equal(a.decide('User:bob', 'h', Op.WRITE, Res.TOPIC, 'free'), false, 'default false'));
});

test('authorizeAny (IDEMPOTENT_WRITE by topic) follows Kafka\'s authorizeByResourceType: a dominated ALLOW does not count', async () => {
  const session = (principal: string, host = '10.0.0.1'): Session => {
    const s = new Session('PLAINTEXT', host, 5000);
    s.principal = principal;
    return s;
  };
  const any = (acls: AclBinding[], principal: string, settings: AuthorizerSettings = ON) =>
    new Promise<boolean>((resolve, reject) => withAuthorizer(settings, acls, (a) => resolve(a.authorizeAny(session(principal), Op.WRITE, Res.TOPIC))).catch(reject));
  const P = PatternType.PREFIXED;
  assert.equal(await any([acl('User:a', Op.WRITE, Res.TOPIC, 't')], 'User:a'), true, 'an ALLOW on one topic');
  assert.equal(await any([acl('User:a', Op.WRITE, Res.TOPIC, 't'), acl('User:a', Op.WRITE, Res.TOPIC, 't', { deny: true })], 'User:a'), false, 'the same literal denied');
  assert.equal(await any([acl('User:a', Op.WRITE, Res.TOPIC, 'team-t'), acl('User:*', Op.ALL, Res.TOPIC, 'team-', { pattern: P, deny: true })], 'User:a'), false, 'a literal under a denied prefix');
  assert.equal(await any([acl('User:a', Op.WRITE, Res.TOPIC, 'team-', { pattern: P }), acl('User:a', Op.WRITE, Res.TOPIC, 'te', { pattern: P, deny: true })], 'User:a'), false, 'a prefix under a shorter denied prefix');
  assert.equal(await any([acl('User:a', Op.WRITE, Res.TOPIC, 'te', { pattern: P }), acl('User:a', Op.WRITE, Res.TOPIC, 'team-', { pattern: P, deny: true })], 'User:a'), true, 'a longer denied prefix leaves part of an allowed one');
  assert.equal(await any([acl('User:a', Op.WRITE, Res.TOPIC, 't'), acl('User:a', Op.WRITE, Res.TOPIC, 'u'), acl('User:a', Op.WRITE, Res.TOPIC, 't', { deny: true })], 'User:a'), true, 'one undominated ALLOW is enough');
  assert.equal(await any([acl('User:a', Op.WRITE, Res.TOPIC, 't'), acl('User:a', Op.WRITE, Res.TOPIC, '*', { deny: true })], 'User:a'), false, 'a LITERAL * DENY');
  assert.equal(await any([acl('User:a', Op.WRITE, Res.TOPIC, 't'), acl('User:a', Op.WRITE, Res.TOPIC, 't', { deny: true, host: '10.9.9.9' })], 'User:a'), true, 'a DENY for another host');
  assert.equal(await any([acl('User:a', Op.WRITE, Res.TOPIC, 't'), acl('User:a', Op.READ, Res.TOPIC, 't', { deny: true })], 'User:a'), true, 'a DENY of another operation');
  assert.equal(await any([acl('User:a', Op.READ, Res.TOPIC, 't')], 'User:a'), false, 'READ is not WRITE');
  assert.equal(await any([acl('User:a', Op.WRITE, Res.TOPIC, '*', { deny: true })], 'User:admin'), true, 'a super user');
  assert.equal(await any([acl('User:b', Op.READ, Res.GROUP, 'g')], 'User:a', { ...ON, allowEveryoneIfNoAclFound: true }), true, 'no topic ACL at all, allow.everyone.if.no.acl.found');
});

test('cached decisions follow ACL changes and the session principal', () =>
  withAuthorizer(ON, [], async (a) => {
    const s = new Session('SSL', '127.0.0.1', 5000, 'SSL');
    s.principal = 'User:alice';
    assert.equal(a.authorize(s, Op.READ, Res.TOPIC, 't'), false);
    await a.create([acl('User:alice', Op.READ, Res.TOPIC, 't')]);
    assert.equal(a.authorize(s, Op.READ, Res.TOPIC, 't'), true, 'a new ACL applies to an open connection');
    s.principal = 'User:bob';
    assert.equal(a.authorize(s, Op.READ, Res.TOPIC, 't'), false, 'another principal on the same session');
    s.principal = 'User:alice';
    const removed = await a.delete([{ resourceType: Res.ANY, resourceName: null, patternType: PatternType.ANY, principal: 'User:alice', host: null, operation: Op.ANY, permission: AclPermission.ANY }]);
    assert.equal(removed[0]!.length, 1);
    assert.equal(a.authorize(s, Op.READ, Res.TOPIC, 't'), false, 'a removed ACL stops applying');
    assert.equal(s.principal, 'User:alice');
    assert.equal(a.operations(s, Res.TOPIC, 't'), 0);
    await a.create([acl('User:alice', Op.WRITE, Res.TOPIC, 't')]);
    assert.equal(a.operations(s, Res.TOPIC, 't'), (1 << Op.WRITE) | (1 << Op.DESCRIBE));
  }));

test('the decision cache is bounded per connection over every type and operation', () =>
  withAuthorizer(ON, [acl('User:alice', Op.ALL, Res.TOPIC, '*')], (a) => {
    const s = new Session('PLAINTEXT', '127.0.0.1', 5000);
    s.principal = 'User:alice';
    let decisions = 0;
    const decide = a.decide.bind(a);
    a.decide = (...args: Parameters<Authorizer['decide']>) => {
      decisions++;
      return decide(...args);
    };
    const half = Math.ceil(CACHE_ENTRIES_MAX / 2) + 10;
    assert.equal(a.authorize(s, Op.READ, Res.TOPIC, 'first'), true);
    decisions = 0;
    assert.equal(a.authorize(s, Op.READ, Res.TOPIC, 'first'), true);
    assert.equal(decisions, 0, 'a decision is cached');
    // Half the bound under one key, half under another: more than the bound in all.
    for (let i = 0; i < half; i++) a.authorize(s, Op.READ, Res.TOPIC, `r-${i}`);
    for (let i = 0; i < half; i++) a.authorize(s, Op.WRITE, Res.TOPIC, `w-${i}`);
    decisions = 0;
    assert.equal(a.authorize(s, Op.READ, Res.TOPIC, 'first'), true);
    assert.equal(decisions, 1, 'the cache started over once it held the bound in all');
  }));

test('a change listener that throws does not undo or refuse the change', () =>
  withAuthorizer(ON, [], async (_a, dir) => {
    const logged: string[] = [];
    const a = new Authorizer(dir, ON, { error: (msg: string) => void logged.push(msg) });
    await a.load();
    let after = 0;
    a.changeListeners.add(() => {
      throw new Error('listener broke');
    });
    a.changeListeners.add(() => void after++);
    assert.deepEqual(await a.create([acl('User:alice', Op.READ, Res.TOPIC, 't')]), [null]);
    assert.equal(a.decide('User:alice', 'h', Op.READ, Res.TOPIC, 't'), true, 'the ACL is in force');
    assert.equal(after, 1, 'the other listeners still run');
    assert.equal(logged.length, 1, 'the failure is logged');
    const removed = await a.delete([{ resourceType: Res.ANY, resourceName: null, patternType: PatternType.ANY, principal: null, host: null, operation: Op.ANY, permission: AclPermission.ANY }]);
    assert.equal(removed[0]!.length, 1);
    assert.equal(a.decide('User:alice', 'h', Op.READ, Res.TOPIC, 't'), false);
  }));

test('filters: MATCH finds every pattern that applies to a name; LITERAL and PREFIXED only their own', () => {
  const lit = acl('User:a', Op.READ, Res.TOPIC, 'orders');
  const star = acl('User:a', Op.READ, Res.TOPIC, '*');
  const pre = acl('User:a', Op.READ, Res.TOPIC, 'ord', { pattern: PatternType.PREFIXED });
  const other = acl('User:a', Op.READ, Res.TOPIC, 'payments');
  const f = (patternType: number, resourceName: string | null): AclFilter => ({ resourceType: Res.TOPIC, resourceName, patternType, principal: null, host: null, operation: Op.ANY, permission: AclPermission.ANY });
  const hits = (filter: AclFilter) => [lit, star, pre, other].filter((b) => filterMatches(filter, b));
  assert.deepEqual(hits(f(PatternType.MATCH, 'orders')), [lit, star, pre]);
  assert.deepEqual(hits(f(PatternType.LITERAL, 'orders')), [lit]);
  assert.deepEqual(hits(f(PatternType.PREFIXED, null)), [pre]);
  assert.deepEqual(hits(f(PatternType.ANY, null)), [lit, star, pre, other]);
  assert.deepEqual(hits(f(PatternType.ANY, 'payments')), [other]);
});

test('the store: ACLs survive a restart; refused bindings are not stored', async () => {
  const dir = await makeTempDir('rivulet-acl-');
  try {
    const a = new Authorizer(dir, ON);
    await a.load();
    const problems = await a.create([
      acl('User:alice', Op.READ, Res.TOPIC, 'orders'),
      acl('User:alice', Op.READ, Res.TOPIC, 'orders'),
      { ...acl('User:alice', Op.READ, Res.TOPIC, 'x'), patternType: PatternType.MATCH },
      acl('User:alice', Op.ALTER, Res.CLUSTER, 'not-the-cluster'),
      acl('alice', Op.READ, Res.TOPIC, 'x'),
      { ...acl('User:alice', Op.READ, Res.TOPIC, 'x'), resourceType: Res.ANY },
      acl('User:bob', Op.WRITE, Res.TOPIC, 'pay', { pattern: PatternType.PREFIXED, deny: true, host: '10.0.0.9' }),
    ]);
    assert.equal(problems[0], null);
    assert.equal(problems[1], null, 'a duplicate is accepted and stored once');
    for (const i of [2, 3, 4, 5]) assert.match(problems[i] ?? '', /\w/, `binding ${i} is refused with a reason`);
    assert.equal(problems[6], null);
    assert.match(await readFile(join(dir, 'acls.json'), 'utf8'), /"User:bob"/);
    const b = new Authorizer(dir, ON);
    await b.load();
    assert.deepEqual(b.all(), [acl('User:alice', Op.READ, Res.TOPIC, 'orders'), acl('User:bob', Op.WRITE, Res.TOPIC, 'pay', { pattern: PatternType.PREFIXED, deny: true, host: '10.0.0.9' })]);
    assert.equal(b.decide('User:alice', 'h', Op.READ, Res.TOPIC, 'orders'), true, 'the reloaded ACLs are enforced');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('hosts are stored canonical: IPv6 in any spelling and IPv4-mapped addresses match the peers they name', () =>
  withAuthorizer(ON, [
    acl('User:a', Op.READ, Res.TOPIC, 'v6', { host: '0:0:0:0:0:0:0:1' }),
    acl('User:a', Op.READ, Res.TOPIC, 'mapped', { host: '::FFFF:10.0.0.7' }),
    acl('User:a', Op.READ, Res.TOPIC, 'hex-mapped', { host: '::ffff:a00:8' }),
    acl('User:a', Op.READ, Res.TOPIC, 'upper', { host: 'FE80::AB' }),
    acl('User:a', Op.READ, Res.TOPIC, 'v6', { host: '::1' }),
  ], async (a, dir) => {
    const peer = (address: string): Session => {
      const s = new Session('PLAINTEXT', address, 5000);
      s.principal = 'User:a';
      return s;
    };
    assert.equal(a.authorize(peer('::1'), Op.READ, Res.TOPIC, 'v6'), true, '0:0:0:0:0:0:0:1 is ::1');
    assert.equal(a.authorize(peer('10.0.0.7'), Op.READ, Res.TOPIC, 'mapped'), true, '::ffff:10.0.0.7 is 10.0.0.7');
    assert.equal(a.authorize(peer('::ffff:10.0.0.7'), Op.READ, Res.TOPIC, 'mapped'), true, 'from a dual-stack listener too');
    assert.equal(a.authorize(peer('10.0.0.8'), Op.READ, Res.TOPIC, 'hex-mapped'), true, '::ffff:a00:8 is 10.0.0.8');
    assert.equal(a.authorize(peer('fe80::ab'), Op.READ, Res.TOPIC, 'upper'), true, 'hex digits in any case');
    assert.deepEqual(a.all().map((b) => b.host), ['::1', '10.0.0.7', '10.0.0.8', 'fe80::ab'], 'stored canonical, and ::1 twice is one ACL');
    const removed = await a.delete([{ resourceType: Res.TOPIC, resourceName: 'v6', patternType: PatternType.LITERAL, principal: null, host: '0:0::1', operation: Op.ANY, permission: AclPermission.ANY }]);
    assert.equal(removed[0]!.length, 1, 'a filter host is read the same way');
    assert.match(await readFile(join(dir, 'acls.json'), 'utf8'), /"10\.0\.0\.7"/);
  }));

test('acls.json: an entry CreateAcls would refuse stops the load, naming the file and the entry', async () => {
  const dir = await makeTempDir('rivulet-acl-');
  try {
    const good = acl('User:alice', Op.READ, Res.TOPIC, 'orders');
    const load = async (acls: unknown[]): Promise<Authorizer> => {
      await writeFile(join(dir, 'acls.json'), JSON.stringify({ version: 1, acls }));
      const a = new Authorizer(dir, ON);
      await a.load();
      return a;
    };
    for (const bad of [
      { ...good, patternType: PatternType.MATCH },
      { ...good, principal: 'alice' },
      { ...good, operation: 'READ' },
      { ...good, host: undefined },
      { ...good, resourceName: '' },
      null,
    ]) {
      await assert.rejects(load([good, bad]), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'RIV_ERR_DATA_FILE', e.message);
        assert.match(e.message, /acls\.json/);
        assert.match(e.message, /ACL 2/);
        return true;
      }, JSON.stringify(bad));
    }
    const a = await load([good, { ...good, resourceName: 'payments', host: '::FFFF:10.0.0.1' }]);
    assert.deepEqual(a.all().map((b) => b.host), ['*', '10.0.0.1'], 'a valid file loads, hosts canonical');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('settings: Kafka\'s authorizer class names turn ACLs on; anything else, or a malformed super user, stops the start with what to write', () => {
  const load = (flags: Record<string, string>) => loadBrokerConfig({ flags, env: {} });
  assert.equal(load({}).authorizerClassName, '', 'off by default');
  assert.equal(load({ 'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer' }).authorizerClassName, 'org.apache.kafka.metadata.authorizer.StandardAuthorizer');
  assert.equal(load({ 'allow.everyone.if.no.acl.found': 'true' }).allowEveryoneIfNoAclFound, true);
  assert.throws(() => load({ 'authorizer.class.name': 'com.example.MyAuthorizer' }), /must be empty \(ACLs off\) or org\.apache\.kafka\.metadata\.authorizer\.StandardAuthorizer/);
  assert.throws(() => load({ 'super.users': 'User:admin;bob' }), /super\.users.*User:name separated by ';'.*"bob"/);
  assert.deepEqual(parseSuperUsers(load({ 'super.users': 'User:admin; User:CN=ops,O=acme' }).superUsers), ['User:admin', 'User:CN=ops,O=acme']);
});
