// ConsumerGroupDescribe and ShareGroupDescribe under ACLs: a group is described only when the
// principal may DESCRIBE every topic the answer would name, as Kafka: its members' current
// assignments, their target assignments (consumer groups) and the topic names they subscribe
// to that exist. Otherwise the group answers TOPIC_AUTHORIZATION_FAILED and names nothing.
//
// The admin connects from 127.0.0.2 and may do everything; the principal under test (same
// User:ANONYMOUS, from 127.0.0.1) may DESCRIBE the groups and the topic open-t only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessBroker } from '../../helpers/in-process.js';
import { WireClient } from '../../helpers/wire-client.js';
import { createTopicsBody } from '../../helpers/requests.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { AclOperation, AclPermission, PatternType, ResourceType, CLUSTER_NAME } from '../../../src/broker/acl/acl.js';

test('group describes refuse a group whose assignments, target assignments or subscriptions name a hidden topic', async () => {
  const b = await startInProcessBroker({ authorizerClassName: 'org.apache.kafka.metadata.authorizer.StandardAuthorizer' });
  const admin = await WireClient.connect(b.port, '127.0.0.1', '127.0.0.2');
  const user = await WireClient.connect(b.port, '127.0.0.1', '127.0.0.1');
  try {
    const acl = (resourceType: number, resourceName: string, host: string, operation: number, patternType: number = PatternType.LITERAL) => ({ resourceType, resourceName, patternType, principal: 'User:ANONYMOUS', host, operation, permission: AclPermission.ALLOW });
    await b.broker.authz.create([
      acl(ResourceType.CLUSTER, CLUSTER_NAME, '127.0.0.2', AclOperation.ALL),
      acl(ResourceType.TOPIC, '*', '127.0.0.2', AclOperation.ALL),
      acl(ResourceType.GROUP, '*', '127.0.0.2', AclOperation.ALL),
      acl(ResourceType.GROUP, '*', '127.0.0.1', AclOperation.DESCRIBE),
      acl(ResourceType.TOPIC, 'open-t', '127.0.0.1', AclOperation.DESCRIBE),
    ]);
    for (const name of ['open-t', 'hidden-t']) assert.equal((await admin.request(ApiKey.CreateTopics, 7, createTopicsBody(name, 2))).topics[0].errorCode, 0);
    const hiddenId = b.broker.topics.byName.get('hidden-t')!.id;

    // A consumer group reading open-t.
    const hb = await admin.request(ApiKey.ConsumerGroupHeartbeat, 0, { groupId: 'cg', memberId: 'member-cg-00000001', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['open-t'], serverAssignor: null, topicPartitions: [] });
    assert.equal(hb.errorCode, 0, hb.errorMessage);
    const describeCg = async (): Promise<number> => (await user.request(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['cg'], includeAuthorizedOperations: false })).groups[0].errorCode;
    assert.equal(await describeCg(), ErrorCode.NONE);
    const g = b.broker.consumerGroups.groups.get('cg')!;
    const m = [...g.members.values()][0]!;

    // A subscribed name that exists and is hidden refuses the group; one that does not exist does not.
    m.subscribedTopicNames = ['open-t', 'no-such-topic'];
    assert.equal(await describeCg(), ErrorCode.NONE, 'a subscribed name that is no topic names nothing');
    m.subscribedTopicNames = ['hidden-t', 'open-t'];
    assert.equal(await describeCg(), ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'subscribed to a hidden topic');
    m.subscribedTopicNames = ['open-t'];
    assert.equal(await describeCg(), ErrorCode.NONE);

    // A target assignment (not yet the member's) that holds a hidden topic refuses the group.
    const target = g.target.get(m.memberId)!;
    g.target.set(m.memberId, new Map([...target, [hiddenId, [0, 1]]]));
    assert.equal(await describeCg(), ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'target assignment holds a hidden topic');
    g.target.set(m.memberId, target);
    assert.equal(await describeCg(), ErrorCode.NONE);

    // Share groups: the same rule, on assignments and subscriptions.
    const describeSg = async (): Promise<number> => (await user.request(ApiKey.ShareGroupDescribe, 1, { groupIds: ['sg'], includeAuthorizedOperations: false })).groups[0].errorCode;
    const shb = await admin.request(ApiKey.ShareGroupHeartbeat, 1, { groupId: 'sg', memberId: 'member-sg-00000001', memberEpoch: 0, rackId: null, subscribedTopicNames: ['open-t'] });
    assert.equal(shb.errorCode, 0, shb.errorMessage);
    assert.equal(await describeSg(), ErrorCode.NONE);
    const shb2 = await admin.request(ApiKey.ShareGroupHeartbeat, 1, { groupId: 'sg', memberId: 'member-sg-00000002', memberEpoch: 0, rackId: null, subscribedTopicNames: ['hidden-t'] });
    assert.equal(shb2.errorCode, 0, shb2.errorMessage);
    const denied = (await user.request(ApiKey.ShareGroupDescribe, 1, { groupIds: ['sg'], includeAuthorizedOperations: false })).groups[0];
    assert.equal(denied.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'a member subscribed to a hidden topic');
    assert.deepEqual(denied.members, [], 'and names nothing');
  } finally {
    user.close();
    admin.close();
    await b.stop();
  }
});
