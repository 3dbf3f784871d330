// authorizedOperations: one list of operations per resource type (acl.ts operationsOf) for every
// API that answers it, and with ACLs off the type's full mask at no per-operation cost (Metadata
// and DescribeTopicPartitions ask it for every topic).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startInProcessBroker } from '../../helpers/in-process.js';
import { WireClient } from '../../helpers/wire-client.js';
import { makeTempDir } from '../../helpers/temp.js';
import { Authorizer } from '../../../src/broker/acl/authorizer.js';
import { Session } from '../../../src/broker/session.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { ResourceType, operationsOf } from '../../../src/broker/acl/acl.js';

const mask = (ops: readonly number[]): number => ops.reduce((bits, op) => bits | (1 << op), 0);

test('ACLs off: the full mask of the type, without a decision per operation', async () => {
  const dir = await makeTempDir('rivulet-ops-');
  try {
    const a = new Authorizer(dir, { authorizerClassName: '', superUsers: '', allowEveryoneIfNoAclFound: false });
    let calls = 0;
    const authorize = a.authorize.bind(a);
    a.authorize = (...args: Parameters<Authorizer['authorize']>) => {
      calls++;
      return authorize(...args);
    };
    const s = new Session('PLAINTEXT', '127.0.0.1', 1);
    for (const type of [ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER, ResourceType.TRANSACTIONAL_ID]) {
      assert.equal(a.operations(s, type, 'x'), mask(operationsOf[type]!), `type ${type}`);
    }
    assert.equal(calls, 0, 'no per-operation decision with ACLs off');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('every group describe answers the same group operations', async () => {
  const b = await startInProcessBroker();
  const c = await WireClient.connect(b.port);
  try {
    const group = mask(operationsOf[ResourceType.GROUP]!);
    const classic = await c.request(ApiKey.DescribeGroups, 5, { groups: ['some-group'], includeAuthorizedOperations: true });
    assert.equal(classic.groups[0].authorizedOperations, group, 'DescribeGroups');
    const consumer = await c.request(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['some-group'], includeAuthorizedOperations: true });
    assert.equal(consumer.groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal(consumer.groups[0].authorizedOperations, group, 'ConsumerGroupDescribe');
    const share = await c.request(ApiKey.ShareGroupDescribe, 1, { groupIds: ['some-group'], includeAuthorizedOperations: true });
    assert.equal(share.groups[0].authorizedOperations, group, 'ShareGroupDescribe');
  } finally {
    c.close();
    await b.stop();
  }
});
