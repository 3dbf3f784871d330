import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupPolicy, effectiveTopicConfigs, logConfigFrom, validateTopicConfigs } from '../../../src/broker/topic-config.js';
import { defaultTopicDefaults } from '../../../src/broker/config.js';
import { VisibleWhen } from '../../../src/storage/log-config.js';

test('compaction topic configs: Kafka names, broker synonyms, defaults and checks', () => {
  const eff = effectiveTopicConfigs(defaultTopicDefaults, {});
  assert.equal(eff['min.cleanable.dirty.ratio'], '0.5');
  assert.equal(eff['min.compaction.lag.ms'], '0');
  assert.equal(eff['max.compaction.lag.ms'], '9223372036854775807');
  assert.equal(eff['delete.retention.ms'], '86400000');
  const broker = effectiveTopicConfigs({ ...defaultTopicDefaults, 'log.cleaner.min.cleanable.ratio': '0.2', 'log.cleaner.min.compaction.lag.ms': '5', 'log.cleaner.max.compaction.lag.ms': '60000' }, {});
  assert.equal(broker['min.cleanable.dirty.ratio'], '0.2');
  assert.equal(broker['min.compaction.lag.ms'], '5');
  assert.equal(broker['max.compaction.lag.ms'], '60000');

  assert.equal(validateTopicConfigs({ 'min.cleanable.dirty.ratio': '0.9', 'cleanup.policy': 'compact,delete' }), null);
  assert.match(validateTopicConfigs({ 'min.cleanable.dirty.ratio': '1.5' }) ?? '', /min.cleanable.dirty.ratio.*from 0 to 1/);
  assert.match(validateTopicConfigs({ 'min.cleanable.dirty.ratio': 'half' }) ?? '', /min.cleanable.dirty.ratio/);
  assert.match(validateTopicConfigs({ 'max.compaction.lag.ms': '0' }) ?? '', /max.compaction.lag.ms.*>= 1/);
  assert.match(validateTopicConfigs({ 'min.compaction.lag.ms': '-1' }) ?? '', /min.compaction.lag.ms/);

  const log = logConfigFrom(effectiveTopicConfigs(defaultTopicDefaults, { 'cleanup.policy': 'compact' }), 0, VisibleWhen.written);
  assert.equal(log.compact, true);
  assert.equal(log.deleteByRetention, false, 'compact alone applies no time or size retention');
  assert.equal(log.maxCompactionLagMs, Number.MAX_SAFE_INTEGER);
  assert.deepEqual(cleanupPolicy('compact, delete'), { compact: true, deleteByRetention: true });
  assert.deepEqual(cleanupPolicy('delete'), { compact: false, deleteByRetention: true });
  // Broker defaults that name none of these fall back to Kafka's defaults, not to nothing.
  const bare = logConfigFrom(effectiveTopicConfigs({}, {}), 0, VisibleWhen.written);
  assert.equal(bare.deleteByRetention, true);
  assert.equal(bare.compact, false);
  assert.equal(bare.minCleanableDirtyRatio, 0.5);
  assert.equal(bare.maxCompactionLagMs, Number.MAX_SAFE_INTEGER);
});
