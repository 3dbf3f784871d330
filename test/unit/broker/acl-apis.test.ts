// ACLs on every API, through the broker's real connections (in-process broker, ACLs on):
//
// 1. The table in docs/security.md is walked: for each row, the API is sent by a principal that
//    holds every other ACL its case needs but not the row's (expect the row's error, or the
//    resource filtered out), then with the row's ACL too (expect no authorization error, or the
//    resource listed). So the documented rules and the code cannot drift apart.
// 2. Deny by default: with no ACL for the principal, every API key of the dispatch table (a new
//    API cannot be forgotten: it needs a row and a request here) is sent naming existing
//    resources; no answer carries data (records, offsets, names it was not given, configs,
//    ACLs, transactions) and nothing changes (topics, offsets, groups, configs, ACLs and
//    transactions compared before and after).
//
// Both principals are User:ANONYMOUS on the PLAINTEXT listener, told apart by address: the
// admin connects from 127.0.0.2 and holds ALL on everything from that host only; the principal
// under test connects from 127.0.0.1.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startInProcessBroker, type InProcessBroker } from '../../helpers/in-process.js';
import { WireClient } from '../../helpers/wire-client.js';
import { makeBatch } from '../../helpers/batches.js';
import { createTopicsBody, produceBody, fetchBody } from '../../helpers/requests.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { handlerTable } from '../../../src/broker/handlers/index.js';
import { AclOperation, AclPermission, PatternType, ResourceType, CLUSTER_NAME } from '../../../src/broker/acl/acl.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const ADMIN_HOST = '127.0.0.2';
const USER_HOST = '127.0.0.1';
const AUTH_ERRORS = new Set<number>([ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.GROUP_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
const codeByName = new Map<string, number>(Object.entries(ErrorCode) as [string, number][]);

export interface Row {
  key: number;
  api: string;
  operation: string;
  resource: string;
  case: string;
  denied: string;
}

/** The rows of the table under "What each API checks" in docs/security.md. */
export function securityTable(markdown: string): Row[] {
  const rows: Row[] = [];
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells.length !== 6 || !/^\d+$/.test(cells[0]!)) continue;
    const [key, api, operation, resource, kase, denied] = cells as [string, string, string, string, string, string];
    rows.push({ key: Number(key), api, operation, resource, case: kase, denied });
  }
  return rows;
}

const rows = securityTable(readFileSync(join(root, 'docs', 'security.md'), 'utf8'));
const served = handlerTable.map((e, key) => (e === undefined ? -1 : key)).filter((k) => k >= 0);

/** What the builders need: the admin connection, ids made at setup, and fresh names. */
interface World {
  admin: WireClient;
  topicId: string;
  producerId: number;
  producerEpoch: number;
  fresh(prefix: string): string;
}

type Build = (w: World) => Promise<{ version: number; body: object }>;
const v = (version: number, body: object): Promise<{ version: number; body: object }> => Promise.resolve({ version, body });
const maxVersion = (key: number): number => handlerTable[key]!.maxVersion;

/** The request each row's case sends, by `key/case`. Every request names the walk's resources (walk-*). */
const builders: Record<string, Build> = {
  '0/records': () => v(9, produceBody('walk-t', makeBatch())),
  '0/transactional': (w) => v(9, { ...produceBody('walk-t', makeBatch({ producerId: w.producerId, producerEpoch: w.producerEpoch, baseSequence: 0, transactional: true })), transactionalId: 'walk-x' }),
  '1/any': () => v(12, fetchBody('walk-t')),
  '2/any': () => v(maxVersion(2), { replicaId: -1, topics: [{ name: 'walk-t', partitions: [{ partitionIndex: 0, timestamp: -1 }] }] }),
  '3/named': () => v(12, { topics: [{ name: 'walk-t' }], allowAutoTopicCreation: false }),
  '3/all': () => v(12, { topics: null, allowAutoTopicCreation: false }),
  '3/auto-create': (w) => v(12, { topics: [{ name: w.fresh('walk-auto') }], allowAutoTopicCreation: true }),
  '8/any': () => v(maxVersion(8), { groupId: 'walk-g', generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 'walk-t', partitions: [{ partitionIndex: 0, committedOffset: 0, committedMetadata: '' }] }] }),
  '9/named': () => v(maxVersion(9), { groups: [{ groupId: 'walk-g', topics: [{ name: 'walk-t', partitionIndexes: [0] }] }] }),
  '9/all': () => v(maxVersion(9), { groups: [{ groupId: 'walk-g', topics: null }] }),
  '10/group': () => v(maxVersion(10), { keyType: 0, coordinatorKeys: ['walk-g'] }),
  '10/transaction': () => v(maxVersion(10), { keyType: 1, coordinatorKeys: ['walk-x'] }),
  '11/any': () => v(maxVersion(11), { groupId: 'walk-jg', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId: '', protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] }),
  '12/any': () => v(maxVersion(12), { groupId: 'walk-g', generationId: 1, memberId: 'm' }),
  '13/any': () => v(maxVersion(13), { groupId: 'walk-g', members: [{ memberId: 'm', groupInstanceId: null }] }),
  '14/any': () => v(maxVersion(14), { groupId: 'walk-g', generationId: 1, memberId: 'm', protocolType: 'consumer', protocolName: 'range', assignments: [] }),
  '15/any': () => v(maxVersion(15), { groups: ['walk-g'], includeAuthorizedOperations: true }),
  '16/by-group': () => v(maxVersion(16), {}),
  '16/by-cluster': () => v(maxVersion(16), {}),
  '17/any': () => v(1, { mechanism: 'PLAIN' }),
  '18/any': () => v(3, { clientSoftwareName: 'acl-test', clientSoftwareVersion: '1.0' }),
  '36/any': () => v(2, { authBytes: Buffer.alloc(0) }),
  '19/by-topic': (w) => v(7, createTopicsBody(w.fresh('walk-new'))),
  '19/by-cluster': (w) => v(7, createTopicsBody(w.fresh('walk-new'))),
  '20/any': async (w) => {
    const name = w.fresh('walk-del');
    const r = await w.admin.request(ApiKey.CreateTopics, 7, createTopicsBody(name));
    assert.equal(r.topics[0].errorCode, 0);
    return v(6, { topics: [{ name, topicId: '00000000-0000-0000-0000-000000000000' }], timeoutMs: 5000 });
  },
  '21/any': () => v(maxVersion(21), { topics: [{ name: 'walk-t', partitions: [{ partitionIndex: 0, offset: 0 }] }], timeoutMs: 5000 }),
  '22/transactional': () => v(maxVersion(22), { transactionalId: 'walk-x2', transactionTimeoutMs: 60000 }),
  '22/idempotent-by-cluster': () => v(maxVersion(22), { transactionalId: null, transactionTimeoutMs: 60000 }),
  '22/idempotent-by-topic': () => v(maxVersion(22), { transactionalId: null, transactionTimeoutMs: 60000 }),
  '23/any': () => v(maxVersion(23), { topics: [{ topic: 'walk-t', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] }),
  '24/v3': (w) => v(3, { v3AndBelowTransactionalId: 'walk-x', v3AndBelowProducerId: w.producerId, v3AndBelowProducerEpoch: w.producerEpoch, v3AndBelowTopics: [{ name: 'walk-t', partitions: [0] }] }),
  '24/v4': (w) => v(4, { transactions: [{ transactionalId: 'walk-x', producerId: w.producerId, producerEpoch: w.producerEpoch, verifyOnly: true, topics: [{ name: 'walk-t', partitions: [0] }] }] }),
  '25/any': (w) => v(maxVersion(25), { transactionalId: 'walk-x', producerId: w.producerId, producerEpoch: w.producerEpoch, groupId: 'walk-g' }),
  '26/any': (w) => v(maxVersion(26), { transactionalId: 'walk-x', producerId: w.producerId, producerEpoch: w.producerEpoch, committed: false }),
  '27/by-alter': () => v(maxVersion(27), { markers: [{ producerId: 999, producerEpoch: 0, transactionResult: false, coordinatorEpoch: 0, topics: [{ name: 'walk-t', partitionIndexes: [7] }] }] }),
  '27/by-cluster-action': () => v(maxVersion(27), { markers: [{ producerId: 999, producerEpoch: 0, transactionResult: false, coordinatorEpoch: 0, topics: [{ name: 'walk-t', partitionIndexes: [7] }] }] }),
  '28/any': (w) => v(maxVersion(28), { transactionalId: 'walk-x', groupId: 'walk-g', producerId: w.producerId, producerEpoch: w.producerEpoch, topics: [{ name: 'walk-t', partitions: [{ partitionIndex: 0, committedOffset: 0, committedMetadata: '' }] }] }),
  '29/any': () => v(maxVersion(29), { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }),
  '30/any': () => v(maxVersion(30), { creations: [{ resourceType: 2, resourceName: 'walk-t', resourcePatternType: 3, principal: 'User:nobody', host: '*', operation: 3, permissionType: 3 }] }),
  '31/any': () => v(maxVersion(31), { filters: [{ resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: 'User:nobody', hostFilter: null, operation: 1, permissionType: 1 }] }),
  '32/topic': () => v(maxVersion(32), { resources: [{ resourceType: 2, resourceName: 'walk-t', configurationKeys: null }], includeSynonyms: false }),
  '32/broker': () => v(maxVersion(32), { resources: [{ resourceType: 4, resourceName: '0', configurationKeys: null }], includeSynonyms: false }),
  '32/group': () => v(maxVersion(32), { resources: [{ resourceType: 32, resourceName: 'walk-g', configurationKeys: null }], includeSynonyms: false }),
  '33/topic': () => v(maxVersion(33), { resources: [{ resourceType: 2, resourceName: 'walk-t', configs: [{ name: 'retention.ms', value: '3600000' }] }], validateOnly: true }),
  '33/broker': () => v(maxVersion(33), { resources: [{ resourceType: 4, resourceName: '0', configs: [] }], validateOnly: true }),
  '33/group': () => v(maxVersion(33), { resources: [{ resourceType: 32, resourceName: 'walk-g', configs: [] }], validateOnly: true }),
  '34/any': () => v(maxVersion(34), { dirs: [{ path: '/nowhere', topics: [{ name: 'walk-t', partitions: [0] }] }] }),
  '35/any': () => v(maxVersion(35), { topics: null }),
  '37/any': () => v(maxVersion(37), { topics: [{ name: 'walk-t', count: 2, assignments: null }], timeoutMs: 5000, validateOnly: true }),
  '42/any': (w) => v(maxVersion(42), { groupsNames: [w.fresh('walk-dg')] }),
  '43/any': () => v(maxVersion(43), { electionType: 0, topicPartitions: [{ topic: 'walk-t', partitions: [0] }], timeoutMs: 5000 }),
  '44/topic': () => v(maxVersion(44), { resources: [{ resourceType: 2, resourceName: 'walk-t', configs: [{ name: 'retention.ms', configOperation: 0, value: '3600000' }] }], validateOnly: true }),
  '44/broker': () => v(maxVersion(44), { resources: [{ resourceType: 4, resourceName: '0', configs: [] }], validateOnly: true }),
  '44/group': () => v(maxVersion(44), { resources: [{ resourceType: 32, resourceName: 'walk-g', configs: [] }], validateOnly: true }),
  '45/any': () => v(maxVersion(45), { timeoutMs: 5000, topics: [{ name: 'walk-t', partitions: [{ partitionIndex: 0, replicas: null }] }] }),
  '46/any': () => v(maxVersion(46), { timeoutMs: 5000, topics: null }),
  '47/any': async (w) => {
    // Offsets of their own group, committed again each time (an allowed OffsetDelete removes them).
    const c = await w.admin.request(ApiKey.OffsetCommit, 9, { groupId: 'walk-od', generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 'walk-t', partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: '' }] }] });
    assert.equal(c.topics[0].partitions[0].errorCode, 0);
    return v(maxVersion(47), { groupId: 'walk-od', topics: [{ name: 'walk-t', partitions: [{ partitionIndex: 0 }] }] });
  },
  // APIs 48-51 come from other branches; their requests are ready for when the broker serves them.
  '48/any': () => v(maxVersion(48), { components: [{ entityType: 'user', matchType: 0, match: 'walk-u' }], strict: false }),
  '49/any': () => v(maxVersion(49), { entries: [{ entity: [{ entityType: 'user', entityName: 'walk-u' }], ops: [{ key: 'producer_byte_rate', value: 1024, remove: false }] }], validateOnly: true }),
  '50/any': () => v(maxVersion(50), { users: [{ name: 'walk-u' }] }),
  '51/any': () => v(maxVersion(51), { deletions: [{ name: 'walk-u', mechanism: 1 }], upsertions: [] }),
  '55/any': () => v(maxVersion(55), { topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }] }),
  '57/any': () => v(maxVersion(57), { timeoutMs: 5000, featureUpdates: [{ feature: 'transaction.version', maxVersionLevel: 2, upgradeType: 1 }], validateOnly: true }),
  '60/any': () => v(maxVersion(60), { includeClusterAuthorizedOperations: true }),
  '61/any': () => v(maxVersion(61), { topics: [{ name: 'walk-t', partitionIndexes: [0] }] }),
  '65/any': () => v(maxVersion(65), { transactionalIds: ['walk-x'] }),
  '66/any': () => v(maxVersion(66), { stateFilters: [], producerIdFilters: [] }),
  '68/subscribed': () => v(maxVersion(68), { groupId: 'walk-cg', memberId: 'walk-member-0001', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['walk-t'], serverAssignor: null, topicPartitions: [] }),
  '69/any': () => v(maxVersion(69), { groupIds: ['walk-g'], includeAuthorizedOperations: true }),
  '74/any': () => v(maxVersion(74), { resourceTypes: [] }),
  '75/named': () => v(maxVersion(75), { topics: [{ name: 'walk-t' }], responsePartitionLimit: 100, cursor: null }),
  '75/all': () => v(maxVersion(75), { topics: [], responsePartitionLimit: 100, cursor: null }),
  '76/subscribed': () => v(maxVersion(76), { groupId: 'walk-shb', memberId: 'walk-share-member-01', memberEpoch: 0, rackId: null, subscribedTopicNames: ['walk-t'] }),
  '77/any': () => v(maxVersion(77), { groupIds: ['walk-sg'], includeAuthorizedOperations: true }),
  '78/any': (w) => v(maxVersion(78), { groupId: 'walk-sg', memberId: 'm', shareSessionEpoch: 0, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, maxRecords: 10, batchSize: 10, topics: [{ topicId: w.topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [] }] }], forgottenTopicsData: [] }),
  '79/any': async (w) => {
    // A share session of its own, opened by the admin (epoch 0), so the acknowledgement (epoch 1) reaches the partitions.
    const memberId = w.fresh('walk-ack-member');
    const open = await w.admin.request(ApiKey.ShareFetch, maxVersion(78), { groupId: 'walk-sg', memberId, shareSessionEpoch: 0, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, maxRecords: 10, batchSize: 10, topics: [{ topicId: w.topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [] }] }], forgottenTopicsData: [] });
    assert.equal(open.errorCode, 0, json(open));
    return v(maxVersion(79), { groupId: 'walk-sg', memberId, shareSessionEpoch: 1, topics: [{ topicId: w.topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [{ firstOffset: 0, lastOffset: 0, acknowledgeTypes: [1] }] }] }] });
  },
  '90/named': () => v(maxVersion(90), { groups: [{ groupId: 'walk-sg', topics: [{ topicName: 'walk-t', partitions: [0] }] }] }),
  '91/any': () => v(maxVersion(91), { groupId: 'walk-sg', topics: [{ topicName: 'walk-t', partitions: [{ partitionIndex: 0, startOffset: 0 }] }] }),
  '92/any': () => v(maxVersion(92), { groupId: 'walk-sg', topics: [{ topicName: 'walk-t' }] }),
};

/** Every error code of an answer (fields errorCode, partitionErrorCode, acknowledgeErrorCode), wherever it sits. */
function errorCodes(x: unknown, out: number[] = []): number[] {
  if (Array.isArray(x)) for (const e of x) errorCodes(e, out);
  else if (x !== null && typeof x === 'object' && !Buffer.isBuffer(x)) {
    for (const [k, val] of Object.entries(x)) {
      if ((k === 'errorCode' || k === 'partitionErrorCode' || k === 'acknowledgeErrorCode') && typeof val === 'number') out.push(val);
      else errorCodes(val, out);
    }
  }
  return out;
}

const json = (x: unknown): string => JSON.stringify(x, (_k, val) => (val?.type === 'Buffer' && Array.isArray(val.data) ? `<${val.data.length} bytes>` : typeof val === 'bigint' ? String(val) : val));

const opCode = (name: string): number => (AclOperation as Record<string, number>)[name]!;
const typeCode = (name: string): number => (ResourceType as Record<string, number>)[name]!;

/** The ACL a row stands for, for the principal under test (PREFIXED walk- for named resources). */
function aclFor(r: Row) {
  const type = typeCode(r.resource);
  return {
    resourceType: type,
    resourceName: type === ResourceType.CLUSTER ? CLUSTER_NAME : 'walk-',
    resourcePatternType: type === ResourceType.CLUSTER ? PatternType.LITERAL : PatternType.PREFIXED,
    principal: 'User:ANONYMOUS',
    host: USER_HOST,
    operation: opCode(r.operation),
    permissionType: AclPermission.ALLOW,
  };
}

/** The resource name a filtered row hides, by resource type. */
const FILTERED_NAME: Record<string, string> = { TOPIC: 'walk-t', GROUP: 'walk-g', CLUSTER: 'walk-g', TRANSACTIONAL_ID: 'walk-x' };

async function setAcls(admin: WireClient, acls: ReturnType<typeof aclFor>[]): Promise<void> {
  const del = await admin.request(ApiKey.DeleteAcls, 3, { filters: [{ resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: 'User:ANONYMOUS', hostFilter: USER_HOST, operation: 1, permissionType: 1 }] });
  assert.equal(del.filterResults[0].errorCode, 0, json(del));
  if (acls.length === 0) return;
  const created = await admin.request(ApiKey.CreateAcls, 3, { creations: acls });
  assert.deepEqual(created.results.map((r: { errorCode: number }) => r.errorCode), acls.map(() => 0), json(created));
}

/** A broker with ACLs on, the admin's ACLs (host 127.0.0.2), and the walk's resources: topic walk-t (one record), offsets of group walk-g, transaction walk-x, share group walk-sg; plus hidden-* ones no request names. */
async function world(): Promise<{ b: InProcessBroker; w: World; user: WireClient; close(): Promise<void> }> {
  const b = await startInProcessBroker({ authorizerClassName: 'org.apache.kafka.metadata.authorizer.StandardAuthorizer' });
  const clients: WireClient[] = [];
  try {
    const all = (resourceType: number, resourceName: string, patternType: number = PatternType.LITERAL) => ({ resourceType, resourceName, patternType, principal: 'User:ANONYMOUS', host: ADMIN_HOST, operation: AclOperation.ALL, permission: AclPermission.ALLOW });
    assert.deepEqual(await b.broker.authz.create([all(ResourceType.TOPIC, '*'), all(ResourceType.GROUP, '*'), all(ResourceType.TRANSACTIONAL_ID, '*'), all(ResourceType.CLUSTER, CLUSTER_NAME)]), [null, null, null, null]);
    const admin = await WireClient.connect(b.port, '127.0.0.1', ADMIN_HOST);
    clients.push(admin);
    const user = await WireClient.connect(b.port, '127.0.0.1', USER_HOST);
    clients.push(user);
    for (const t of ['walk-t', 'hidden-t']) assert.equal((await admin.request(ApiKey.CreateTopics, 7, createTopicsBody(t))).topics[0].errorCode, 0);
    for (const t of ['walk-t', 'hidden-t']) assert.equal((await admin.request(ApiKey.Produce, 9, produceBody(t, makeBatch()))).responses[0].partitionResponses[0].errorCode, 0);
    for (const [g, t] of [['walk-g', 'walk-t'], ['hidden-g', 'hidden-t']] as const) {
      const c = await admin.request(ApiKey.OffsetCommit, 9, { groupId: g, generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: t, partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: '' }] }] });
      assert.equal(c.topics[0].partitions[0].errorCode, 0, json(c));
    }
    let producerId = -1;
    let producerEpoch = -1;
    for (const x of ['walk-x', 'hidden-x']) {
      const init = await admin.request(ApiKey.InitProducerId, 4, { transactionalId: x, transactionTimeoutMs: 60000 });
      assert.equal(init.errorCode, 0, json(init));
      if (x === 'walk-x') ({ producerId, producerEpoch } = init);
    }
    // A share group that exists, without members: its start offset on walk-t is set.
    const sg = await admin.request(ApiKey.AlterShareGroupOffsets, 0, { groupId: 'walk-sg', topics: [{ topicName: 'walk-t', partitions: [{ partitionIndex: 0, startOffset: 0 }] }] });
    assert.equal(sg.errorCode, 0, json(sg));
    assert.equal(sg.responses[0].partitions[0].errorCode, 0, json(sg));
    await b.broker.authz.create([{ resourceType: ResourceType.TOPIC, resourceName: 'hidden-t', patternType: PatternType.LITERAL, principal: 'User:acl-secret', host: '*', operation: AclOperation.READ, permission: AclPermission.ALLOW }]);
    const topicId = b.broker.topics.byName.get('walk-t')!.id;
    let n = 0;
    const w: World = { admin, topicId, producerId, producerEpoch, fresh: (p) => `${p}-${++n}` };
    return {
      b, w, user,
      close: async () => {
        for (const c of clients) c.close();
        await b.stop();
      },
    };
  } catch (e) {
    for (const c of clients) c.close();
    await b.stop();
    throw e;
  }
}

test('docs/security.md lists every API the broker serves, and each row names a known operation, resource and error', () => {
  const documented = new Set(rows.map((r) => r.key));
  const missing = served.filter((k) => !documented.has(k));
  assert.deepEqual(missing, [], `API keys served but not in docs/security.md's table: ${missing.join(', ')}`);
  for (const r of rows) {
    const where = `row ${r.key} ${r.api} ${r.operation} ${r.resource} ${r.case}`;
    if (r.denied === 'none') continue;
    assert.ok(opCode(r.operation) !== undefined, `${where}: unknown operation`);
    assert.ok(typeCode(r.resource) !== undefined, `${where}: unknown resource type`);
    assert.ok(r.denied === 'filtered' || codeByName.has(r.denied), `${where}: unknown error ${r.denied}`);
    if (served.includes(r.key)) assert.ok(builders[`${r.key}/${r.case}`], `${where}: no request for this case in the test`);
  }
});

test('walking docs/security.md: each check denies without its ACL and allows with it', { timeout: 120_000 }, async () => {
  const { w, user, close } = await world();
  try {
    for (const r of rows) {
      if (!served.includes(r.key)) continue; // documented for APIs other branches add (48-51)
      const where = `${r.api} (key ${r.key}) ${r.operation} on ${r.resource}, case ${r.case}`;
      const build = builders[`${r.key}/${r.case}`]!;
      const send = async () => {
        const { version, body } = await build(w);
        return user.request(r.key, version, body);
      };
      if (r.denied === 'none') {
        await setAcls(w.admin, []);
        const res = await send();
        assert.deepEqual(errorCodes(res).filter((c) => AUTH_ERRORS.has(c)), [], `${where}: no ACL is needed: ${json(res)}`);
        continue;
      }
      const sameCase = rows.filter((o) => o.key === r.key && o.case === r.case);
      const others = sameCase.filter((o) => o !== r).map(aclFor);
      await setAcls(w.admin, others);
      const denied = await send();
      if (r.denied === 'filtered') {
        assert.doesNotMatch(json(denied), new RegExp(`"${FILTERED_NAME[r.resource]}"`), `${where}: without the ACL the answer leaves it out: ${json(denied)}`);
      } else {
        assert.ok(errorCodes(denied).includes(codeByName.get(r.denied)!), `${where}: without the ACL expected ${r.denied}: ${json(denied)}`);
      }
      await setAcls(w.admin, [...others, aclFor(r)]);
      const allowed = await send();
      assert.deepEqual(errorCodes(allowed).filter((c) => AUTH_ERRORS.has(c)), [], `${where}: with the ACL no authorization error: ${json(allowed)}`);
      if (r.denied === 'filtered') assert.match(json(allowed), new RegExp(`"${FILTERED_NAME[r.resource]}"`), `${where}: with the ACL the answer lists it: ${json(allowed)}`);
    }
  } finally {
    await close();
  }
});

/** What the admin sees of the broker's state: topics, offsets, groups and their offsets, configs, ACLs, transactions. */
async function snapshot(admin: WireClient): Promise<string> {
  const md = await admin.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false });
  const topics = md.topics.map((t: any) => ({ name: t.name, id: t.topicId, partitions: t.partitions.length })).sort((a: any, b: any) => a.name.localeCompare(b.name));
  const offsets = [];
  for (const t of topics) {
    for (const ts of [-2, -1]) {
      const lo = await admin.request(ApiKey.ListOffsets, 7, { replicaId: -1, topics: [{ name: t.name, partitions: Array.from({ length: t.partitions }, (_, i) => ({ partitionIndex: i, timestamp: ts })) }] });
      offsets.push(lo.topics);
    }
  }
  const groups = (await admin.request(ApiKey.ListGroups, 5, {})).groups.map((g: any) => [g.groupId, g.groupState, g.groupType]).sort();
  const committed = (await admin.request(ApiKey.OffsetFetch, 9, { groups: groups.map((g: string[]) => ({ groupId: g[0], topics: null })) })).groups;
  const configs = (await admin.request(ApiKey.DescribeConfigs, 4, { resources: [...topics.map((t: any) => ({ resourceType: 2, resourceName: t.name, configurationKeys: null })), { resourceType: 4, resourceName: '0', configurationKeys: null }, { resourceType: 32, resourceName: 'walk-g', configurationKeys: null }], includeSynonyms: false })).results;
  const acls = (await admin.request(ApiKey.DescribeAcls, 3, { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 })).resources;
  const txns = (await admin.request(ApiKey.DescribeTransactions, 0, { transactionalIds: ['walk-x', 'hidden-x'] })).transactionStates;
  const shares = (await admin.request(ApiKey.DescribeShareGroupOffsets, 1, { groups: [{ groupId: 'walk-sg', topics: null }] })).groups;
  return json({ topics, offsets, groups, committed, configs, acls, txns, shares });
}

/** Names of existing resources; an answer must not carry one its request did not name. */
const SECRETS = ['walk-t', 'hidden-t', 'walk-g', 'hidden-g', 'walk-x', 'hidden-x', 'walk-sg', 'User:acl-secret'];
/** Fields that carry data when not -1 (offsets, positions, producer ids). */
const POSITIONS = new Set(['committedOffset', 'highWatermark', 'offset', 'logStartOffset', 'lastStableOffset', 'startOffset', 'endOffset', 'lowWatermark', 'producerId', 'baseOffset', 'timestamp']);
/** Arrays that hold data (configs, ACLs, transactions, members, records in share fetches, log dirs). */
const DATA_LISTS = new Set(['configs', 'resources', 'matchingAcls', 'transactionStates', 'members', 'acquiredRecords', 'activeProducers', 'configResources']);

function leaks(res: unknown, request: string, path = ''): string[] {
  const out: string[] = [];
  if (Buffer.isBuffer(res)) {
    if (res.length > 0) out.push(`${path}: ${res.length} bytes`);
  } else if (Array.isArray(res)) {
    if (res.length > 0 && res.every((x) => Buffer.isBuffer(x)) && res.some((x: Buffer) => x.length > 0)) out.push(`${path}: records`);
    res.forEach((x, i) => out.push(...leaks(x, request, `${path}[${i}]`)));
  } else if (res !== null && typeof res === 'object') {
    for (const [k, val] of Object.entries(res)) {
      if (POSITIONS.has(k) && typeof val === 'number' && val >= 0 && !request.includes(`"${k}":${val}`)) out.push(`${path}.${k} = ${val}`);
      // An entry that is only the refusal of what was asked (DescribeTransactions) carries nothing.
      const data = DATA_LISTS.has(k) && Array.isArray(val) ? val.filter((e) => !AUTH_ERRORS.has((e as { errorCode?: number } | null)?.errorCode ?? 0)) : [];
      if (data.length > 0) out.push(`${path}.${k} has ${data.length} entries`);
      out.push(...leaks(val, request, `${path}.${k}`));
    }
  } else if (typeof res === 'string') {
    for (const s of SECRETS) if (res.includes(s) && !request.includes(s)) out.push(`${path}: names ${s}`);
  }
  return out;
}

test('deny by default: without ACLs no API key of the dispatch table answers data or changes state', { timeout: 120_000 }, async () => {
  const { w, user, close } = await world();
  try {
    const keys = [...new Set(rows.map((r) => r.key))].filter((k) => served.includes(k));
    assert.deepEqual(served.filter((k) => !keys.includes(k)), [], 'every served API key has a row (and a request)');
    // Requests are built first: some builders prepare a resource through the admin (a topic to delete).
    const requests: { key: number; kase: string; version: number; body: object }[] = [];
    for (const key of served) {
      for (const kase of new Set(rows.filter((r) => r.key === key).map((r) => r.case))) requests.push({ key, kase, ...(await builders[`${key}/${kase}`]!(w)) });
    }
    const before = await snapshot(w.admin);
    for (const { key, kase, version, body } of requests) {
      const res = await user.request(key, version, body);
      // DescribeCluster and ApiVersions describe the broker itself, as Kafka's do for anyone.
      if (key === ApiKey.ApiVersions || key === ApiKey.DescribeCluster) continue;
      const found = leaks(res, json(body));
      assert.deepEqual(found, [], `${handlerTable[key]!.codec.name} (key ${key}, ${kase}) answered data without ACLs: ${json(res)}`);
    }
    assert.equal(new Set(requests.map((r) => r.key)).size, served.length);
    assert.equal(await snapshot(w.admin), before, 'nothing changed');
  } finally {
    await close();
  }
});

test('a fetch session is checked again when the ACLs change: its partitions are refused at the next incremental fetch, and served once allowed again', { timeout: 60_000 }, async () => {
  const { w, user, close } = await world();
  try {
    const read = [aclFor({ key: 1, api: 'Fetch', operation: 'READ', resource: 'TOPIC', case: 'any', denied: 'TOPIC_AUTHORIZATION_FAILED' })];
    await setAcls(w.admin, read);
    const full = await user.request(ApiKey.Fetch, 12, { ...fetchBody('walk-t'), sessionEpoch: 0 });
    assert.equal(full.errorCode, 0);
    assert.notEqual(full.sessionId, 0, 'a session was created');
    assert.equal(full.responses[0].partitions[0].errorCode, 0);
    assert.ok(full.responses[0].partitions[0].records.length > 0, 'records were read');
    const incremental = (epoch: number) => user.request(ApiKey.Fetch, 12, { ...fetchBody('walk-t'), sessionId: full.sessionId, sessionEpoch: epoch, topics: [] });
    // The consumer moves past the record; then nothing is new.
    await user.request(ApiKey.Fetch, 12, { ...fetchBody('walk-t', { offset: 1 }), sessionId: full.sessionId, sessionEpoch: 1 });
    const quiet = await incremental(2);
    assert.deepEqual(quiet.responses, [], 'nothing new: the partition is not in the answer');
    await setAcls(w.admin, []);
    const refused = await incremental(3);
    assert.equal(refused.errorCode, 0, json(refused));
    assert.equal(refused.responses[0]?.partitions[0]?.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED, `the session's partition is refused once READ is gone: ${json(refused)}`);
    assert.equal(refused.responses[0].partitions[0].highWatermark, -1, 'and nothing of its log is told');
    assert.equal(json(refused).includes('bytes>"') && !json(refused).includes('<0 bytes>'), false);
    await setAcls(w.admin, read);
    const again = await incremental(4);
    assert.equal(again.responses[0]?.partitions[0]?.errorCode, 0, `allowed again: ${json(again)}`);
    assert.equal(again.responses[0].partitions[0].highWatermark, 1);
  } finally {
    await close();
  }
});

test('authorizedOperations are the principal\'s own: Metadata, DescribeCluster, DescribeGroups, DescribeTopicPartitions', { timeout: 60_000 }, async () => {
  const { w, user, close } = await world();
  const bits = (...ops: number[]) => ops.reduce((m, op) => m | (1 << op), 0);
  try {
    await setAcls(w.admin, [
      aclFor({ key: 3, api: 'Metadata', operation: 'READ', resource: 'TOPIC', case: 'x', denied: 'x' }),
      aclFor({ key: 15, api: 'DescribeGroups', operation: 'READ', resource: 'GROUP', case: 'x', denied: 'x' }),
      aclFor({ key: 60, api: 'DescribeCluster', operation: 'IDEMPOTENT_WRITE', resource: 'CLUSTER', case: 'x', denied: 'x' }),
    ]);
    const md = await user.request(ApiKey.Metadata, 12, { topics: [{ name: 'walk-t' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true });
    assert.equal(md.topics[0].topicAuthorizedOperations, bits(AclOperation.READ, AclOperation.DESCRIBE), json(md));
    const dtp = await user.request(ApiKey.DescribeTopicPartitions, 0, { topics: [{ name: 'walk-t' }], responsePartitionLimit: 10, cursor: null });
    assert.equal(dtp.topics[0].topicAuthorizedOperations, bits(AclOperation.READ, AclOperation.DESCRIBE), json(dtp));
    const dc = await user.request(ApiKey.DescribeCluster, 0, { includeClusterAuthorizedOperations: true });
    assert.equal(dc.clusterAuthorizedOperations, bits(AclOperation.IDEMPOTENT_WRITE), json(dc));
    const dg = await user.request(ApiKey.DescribeGroups, 5, { groups: ['walk-g'], includeAuthorizedOperations: true });
    assert.equal(dg.groups[0].authorizedOperations, bits(AclOperation.READ, AclOperation.DESCRIBE), json(dg));
    const adminView = await w.admin.request(ApiKey.DescribeCluster, 0, { includeClusterAuthorizedOperations: true });
    assert.equal(adminView.clusterAuthorizedOperations, bits(5, 7, 8, 9, 10, 11, 12), 'ALL on the cluster: every cluster operation');
  } finally {
    await close();
  }
});

test('a regex subscription resolves to the matching topics the member may DESCRIBE, and again when the ACLs change', { timeout: 60_000 }, async () => {
  const { b, w, user, close } = await world();
  const acl = (operation: string, resource: string, name: string) => ({ ...aclFor({ key: 68, api: 'ConsumerGroupHeartbeat', operation, resource, case: 'x', denied: 'x' }), resourceName: name, resourcePatternType: PatternType.LITERAL });
  const heartbeat = (memberEpoch: number, memberId = 'walk-regex-member-1') =>
    user.request(ApiKey.ConsumerGroupHeartbeat, 1, { groupId: 'walk-rg', memberId, memberEpoch, instanceId: null, rackId: null, rebalanceTimeoutMs: 30000, subscribedTopicNames: null, subscribedTopicRegex: memberEpoch === 0 ? '(walk|hidden)-t' : null, serverAssignor: null, topicPartitions: memberEpoch === 0 ? [] : null });
  const assigned = (r: any): string[] => (r.assignment?.topicPartitions ?? []).map((tp: { topicId: string }) => b.broker.topics.byId.get(tp.topicId)!.name).sort();
  try {
    await setAcls(w.admin, [acl('READ', 'GROUP', 'walk-rg'), acl('DESCRIBE', 'TOPIC', 'walk-t')]);
    const joined = await heartbeat(0);
    assert.equal(joined.errorCode, 0, json(joined));
    assert.deepEqual(assigned(joined), ['walk-t'], `hidden-t matches the regex but may not be described: ${json(joined)}`);
    await setAcls(w.admin, [acl('READ', 'GROUP', 'walk-rg'), acl('DESCRIBE', 'TOPIC', 'walk-t'), acl('DESCRIBE', 'TOPIC', 'hidden-t')]);
    let r = await heartbeat(joined.memberEpoch, joined.memberId);
    for (let i = 0; i < 20 && assigned(r).length < 2; i++) r = await heartbeat(r.memberEpoch, joined.memberId);
    assert.deepEqual(assigned(r), ['hidden-t', 'walk-t'], `once DESCRIBE is granted the topic is assigned: ${json(r)}`);
  } finally {
    await close();
  }
});
