// DescribeConfigs (key 32), v1-4 (v0 is gone from Kafka 4's definitions). Topics: every topic config with its effective value and
// where it comes from (the topic's override, else the broker default), with synonyms (v1+)
// and types and docs (v3+). Brokers: the broker's settings; the dynamic ones (../dynamic-config.ts)
// say which layer their value comes from, the rest are read-only (set at start); BROKER ""
// lists the cluster-wide dynamic defaults that are set. Groups: every group config with the
// group's value (../groups/group-config.ts). Broker loggers: none.
//
// ACLs: DESCRIBE_CONFIGS on the topic (TOPIC_AUTHORIZATION_FAILED), the group
// (GROUP_AUTHORIZATION_FAILED) or, for the broker and its loggers, the cluster
// (CLUSTER_AUTHORIZATION_FAILED).

import { AclOperation } from '../acl/acl.js';
import { configDenied } from './common.js';
import type { HandlerEntry, RequestContext } from './handler.js';
import type { DescribeConfigsRequest, DescribeConfigsResponse, DescribeConfigsResponseDescribeConfigsResourceResult } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { topicConfigDefs, effectiveTopicConfigs, ConfigTypeCode, type ConfigType, type TopicConfigDef } from '../topic-config.js';
import { defaultTopicDefaults } from '../config.js';
import type { BrokerServices } from './handler.js';
import { dynamicKeys, REPLICATION_THROTTLES } from '../dynamic-config.js';
import { groupConfigDefs } from '../groups/group-config.js';
import { describeConfigsServer } from '../../protocol/generated/describe-configs.js';

export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8, GROUP: 32 } as const;

/** DescribeConfigsResponse ConfigSource codes. */
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
  CLIENT_METRICS_CONFIG: 7,
  GROUP_CONFIG: 8,
} as const;

type Entry = DescribeConfigsResponseDescribeConfigsResourceResult;

function brokerDefaultSource(key: string, value: string): number {
  return defaultTopicDefaults[key] === value ? ConfigSource.DEFAULT_CONFIG : ConfigSource.STATIC_BROKER_CONFIG;
}

type Synonym = { name: string; value: string | null; source: number };

/**
 * A topic config's synonyms as Kafka lists them, most specific first: the topic's override,
 * the broker property's dynamic values (this broker, the cluster default), its value set at
 * start, then its default. The first one is where the effective value comes from.
 */
function topicSynonyms(ctx: BrokerServices, d: TopicConfigDef, overrides: Record<string, string>): Synonym[] {
  const syn: Synonym[] = [];
  if (d.name in overrides) syn.push({ name: d.name, value: overrides[d.name]!, source: ConfigSource.TOPIC_CONFIG });
  if (d.brokerName === '') return syn;
  const dynamic = ctx.brokerConfigs.layers(d.brokerName);
  if (dynamic !== null) return [...syn, ...dynamic];
  const brokerValue = ctx.config.topicDefaults[d.brokerName];
  const defaultValue = defaultTopicDefaults[d.brokerName] ?? d.default ?? null;
  if (brokerValue !== undefined && brokerDefaultSource(d.brokerName, brokerValue) === ConfigSource.STATIC_BROKER_CONFIG) {
    syn.push({ name: d.brokerName, value: brokerValue, source: ConfigSource.STATIC_BROKER_CONFIG });
  }
  if (defaultValue !== null) syn.push({ name: d.brokerName, value: defaultValue, source: ConfigSource.DEFAULT_CONFIG });
  return syn;
}

function topicEntries(ctx: BrokerServices, overrides: Record<string, string>, synonyms: boolean, docs: boolean): Entry[] {
  const effective = effectiveTopicConfigs(ctx.config.topicDefaults, overrides);
  return topicConfigDefs.map((d) => {
    const syn = topicSynonyms(ctx, d, overrides);
    const source = syn[0]?.source ?? ConfigSource.DEFAULT_CONFIG;
    return {
      name: d.name,
      value: effective[d.name] ?? null,
      readOnly: false,
      isDefault: source === ConfigSource.DEFAULT_CONFIG,
      configSource: source,
      isSensitive: false,
      synonyms: synonyms ? syn : [],
      configType: ConfigTypeCode[d.type],
      documentation: docs ? d.doc : null,
    };
  });
}

function brokerEntries(ctx: BrokerServices, synonyms: boolean, docs: boolean): Entry[] {
  const c = ctx.config;
  const rows: [string, string, ConfigType, string][] = [
    ['node.id', String(ctx.cluster.nodeId), 'int', 'Broker id'],
    ['broker.id', String(ctx.cluster.nodeId), 'int', 'Broker id'],
    ['listeners', ctx.cluster.listenerList(false), 'list', 'Kafka listeners'],
    ['advertised.listeners', ctx.cluster.listenerList(true), 'list', 'Address given to clients, per listener'],
    ['log.dirs', c.dataDir, 'string', 'Data directory'],
    ['num.partitions', String(c.numPartitions), 'int', 'Partitions of auto-created topics'],
    ['default.replication.factor', '1', 'short', 'One broker, one replica'],
    ['auto.create.topics.enable', String(c.autoCreateTopics), 'boolean', 'Create unknown topics on Metadata and Produce'],
    ['socket.request.max.bytes', String(c.socketRequestMaxBytes), 'int', 'Largest request accepted'],
    ['queued.max.request.bytes', String(c.queuedMaxRequestBytes), 'long', 'Bytes held for requests and unread responses over all connections before reading pauses'],
    ['connections.max.idle.ms', String(c.connectionsMaxIdleMs), 'long', 'Idle connections are closed after this long'],
    ['max.connections', String(c.maxConnections), 'int', 'Client connections open at once'],
    ['max.connections.per.ip', String(c.maxConnectionsPerIp), 'int', 'Client connections open at once from one address'],
    ['max.connections.per.ip.overrides', c.maxConnectionsPerIpOverrides, 'string', 'Per-address exceptions to max.connections.per.ip (address:count,...)'],
    ['max.connection.creation.rate', String(c.maxConnectionCreationRate), 'int', 'Connections accepted per second, all addresses together'],
    ['quota.window.num', String(c.quotaWindowNum), 'int', 'Windows a client quota rate is measured over'],
    ['quota.window.size.seconds', String(c.quotaWindowSizeSeconds), 'int', 'Length of one quota window'],
    ['log.retention.check.interval.ms', String(c.retentionCheckIntervalMs), 'long', 'How often retention runs'],
    ['max.incremental.fetch.session.cache.slots', String(c.fetchSessionCacheSlots), 'int', 'Fetch sessions (KIP-227) the broker keeps'],
    ['min.incremental.fetch.session.eviction.ms', String(c.fetchSessionEvictionMs), 'int', 'A fetch session unused this long may be evicted for a new one'],
    ['fsync', c.fsync, 'string', 'When produce answers wait for fsync: acks-all, always or never'],
  ];
  for (const [k, v] of Object.entries(c.topicDefaults)) {
    const def = topicConfigDefs.find((d) => d.brokerName === k);
    rows.push([k, v, def?.type ?? 'string', def?.doc ?? '']);
  }
  for (const name of REPLICATION_THROTTLES) rows.push([name, '', 'long', 'Replication throttle: one broker has no replication to throttle; never set']);
  return rows.map(([name, value, type, doc]) => {
    // Dynamic configs say where their value comes from; the rest were set at start.
    const layers = ctx.brokerConfigs.layers(name);
    const throttle = REPLICATION_THROTTLES.has(name);
    const source = layers?.[0]?.source ?? (throttle ? ConfigSource.DEFAULT_CONFIG : ConfigSource.STATIC_BROKER_CONFIG);
    return {
      name,
      value: throttle ? null : value,
      readOnly: layers === null && !throttle,
      isDefault: source === ConfigSource.DEFAULT_CONFIG,
      configSource: source,
      isSensitive: false,
      synonyms: synonyms ? (layers ?? []) : [],
      configType: ConfigTypeCode[type],
      documentation: docs ? doc : null,
    };
  });
}

/** The cluster-wide dynamic defaults (BROKER ""), as Kafka lists that resource: only what is set. */
function clusterDefaultEntries(ctx: BrokerServices, synonyms: boolean, docs: boolean): Entry[] {
  return Object.entries(ctx.brokerConfigs.overrides('default')).map(([name, value]) => ({
    name, value, readOnly: false, isDefault: false, configSource: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG, isSensitive: false,
    synonyms: synonyms ? [{ name, value, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG }] : [],
    configType: ConfigTypeCode[dynamicKeys.get(name)?.type ?? 'string'], documentation: docs ? 'Cluster-wide dynamic default' : null,
  }));
}

/** Every group config with the group's value: its own, else the default. */
function groupEntries(ctx: BrokerServices, group: string, synonyms: boolean, docs: boolean): Entry[] {
  const overrides = ctx.groupConfigs.overrides(group);
  return groupConfigDefs.map((d) => {
    const syn: Synonym[] = [];
    if (d.name in overrides) syn.push({ name: d.name, value: overrides[d.name]!, source: ConfigSource.GROUP_CONFIG });
    if (d.brokerName !== '') syn.push({ name: d.brokerName, value: d.default, source: ConfigSource.DEFAULT_CONFIG });
    const source = syn[0]?.source ?? ConfigSource.DEFAULT_CONFIG;
    return {
      name: d.name, value: overrides[d.name] ?? d.default, readOnly: false, isDefault: source === ConfigSource.DEFAULT_CONFIG, configSource: source,
      isSensitive: false, synonyms: synonyms ? syn : [], configType: ConfigTypeCode[d.type], documentation: docs ? d.doc : null,
    };
  });
}

function handle(ctx: RequestContext, req: DescribeConfigsRequest): DescribeConfigsResponse {
  const synonyms = req.includeSynonyms ?? false;
  const docs = req.includeDocumentation ?? false;
  const results = req.resources.map((r) => {
    const result = { errorCode: ErrorCode.NONE, errorMessage: null as string | null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] as Entry[] };
    let entries: Entry[];
    const denied = configDenied(ctx, r.resourceType, r.resourceName, AclOperation.DESCRIBE_CONFIGS);
    if (denied !== 0) {
      result.errorCode = denied;
      result.errorMessage = 'Describing these configs needs DESCRIBE_CONFIGS';
      return result;
    }
    if (r.resourceType === ResourceType.TOPIC) {
      const topic = ctx.topics.byName.get(r.resourceName);
      if (!topic) {
        result.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        result.errorMessage = `Topic ${r.resourceName} does not exist`;
        return result;
      }
      entries = topicEntries(ctx, topic.overrides, synonyms, docs);
    } else if (r.resourceType === ResourceType.BROKER) {
      if (r.resourceName !== '' && r.resourceName !== String(ctx.cluster.nodeId)) {
        result.errorCode = ErrorCode.INVALID_REQUEST;
        result.errorMessage = `This is broker ${ctx.cluster.nodeId}, not ${r.resourceName}`;
        return result;
      }
      entries = r.resourceName === '' ? clusterDefaultEntries(ctx, synonyms, docs) : brokerEntries(ctx, synonyms, docs);
    } else if (r.resourceType === ResourceType.GROUP) {
      entries = groupEntries(ctx, r.resourceName, synonyms, docs);
    } else if (r.resourceType === ResourceType.BROKER_LOGGER) {
      entries = [];
    } else {
      result.errorCode = ErrorCode.INVALID_REQUEST;
      result.errorMessage = `Resource type ${r.resourceType} has no configs here`;
      return result;
    }
    const keys = r.configurationKeys;
    result.configs = keys === null || keys.length === 0 ? entries : entries.filter((e) => keys.includes(e.name));
    return result;
  });
  return { throttleTimeMs: 0, results };
}

export const describeConfigs: HandlerEntry<DescribeConfigsRequest, DescribeConfigsResponse> = { codec: describeConfigsServer, minVersion: 1, maxVersion: 4, handle };
