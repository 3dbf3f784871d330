// case 9: max.connections keeps descriptors for the broker's own files. Its default is three
// quarters of the process's open-file limit, read from /proc/self/limits; a fixed default
// when the limit cannot be read or is unlimited.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultMaxConnections, FALLBACK_MAX_CONNECTIONS } from '../../../src/broker/config.js';
import { loadBrokerConfig, ConfigError } from '../../../src/broker/settings.js';

const limits = (soft: string, hard: string) => `Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            ${soft}                ${hard}                files     \n`;

test('case 9: max.connections defaults to three quarters of the open-file limit', () => {
  assert.equal(defaultMaxConnections(limits('20000', '20000')), 15000);
  assert.equal(defaultMaxConnections(limits('1024', '4096')), 768);
  assert.equal(defaultMaxConnections(limits('unlimited', 'unlimited')), FALLBACK_MAX_CONNECTIONS);
  assert.equal(defaultMaxConnections('no such line'), FALLBACK_MAX_CONNECTIONS);
  const c = loadBrokerConfig({ flags: {}, env: {} });
  assert.ok(c.maxConnections >= 1, 'the default is read for this process');
  assert.equal(c.maxConnectionsPerIp, 2147483647);
  assert.equal(c.connectionsMaxIdleMs, 540000);
});

test('case 8: queued.max.request.bytes below socket.request.max.bytes is refused, naming both', () => {
  assert.throws(
    () => loadBrokerConfig({ flags: { 'queued.max.request.bytes': '1048576' }, env: {} }),
    (e: unknown) => e instanceof ConfigError && /queued\.max\.request\.bytes .*socket\.request\.max\.bytes/.test(e.message),
  );
  assert.equal(loadBrokerConfig({ flags: { 'queued.max.request.bytes': '-1' }, env: {} }).queuedMaxRequestBytes, -1);
});
