// What a handler is, and what it may reach: the request's header and session and the
// broker's services. Nothing of the transport (sockets, framing) and not the Broker object.

import type { RequestHeader } from '../../protocol/header.js';
import type { ServerCodec } from '../../protocol/generated/apis.js';
import type { ApiVersionsResponse } from '../../protocol/generated/api-versions.js';
import type { BrokerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { BrokerMetrics } from '../metrics.js';
import type { TopicRegistry } from '../topics.js';
import type { GroupCoordinator } from '../groups/coordinator.js';
import type { ConsumerGroupCoordinator } from '../groups/consumer-group.js';
import type { Session } from '../session.js';
import type { TransactionCoordinator } from '../txn/coordinator.js';
import type { FetchSessionCache } from '../fetch-sessions.js';
import type { ShareCoordinator } from '../groups/share-group.js';
import type { FeatureTable } from '../features.js';
import type { DynamicBrokerConfigs } from '../dynamic-config.js';
import type { GroupConfigStore } from '../groups/group-config.js';
import type { ThrottledLog } from '../throttled-log.js';
import type { Authorizer } from '../acl/authorizer.js';
import { operationName, resourceTypeName } from '../acl/acl.js';
import type { SaslMechanisms } from '../sasl/mechanisms.js';
import type { ScramCredentialStore } from '../sasl/credentials.js';
import type { ClientQuotas } from '../quotas.js';

/** The broker as a member of its cluster: identity, address, lifecycle. */
export interface ClusterView {
  readonly nodeId: number;
  readonly clusterId: string;
  /** The port the Kafka listener is bound to. */
  readonly port: number;
  /** True once shutdown began: parked requests answer at once. */
  readonly closing: boolean;
  /** Where clients should connect, as Metadata, FindCoordinator and DescribeCluster report it. */
  /** Where clients that came in through this listener (the first listener when omitted) connect. */
  advertisedAddress(listener?: string): { host: string; port: number };
  /** `NAME://host:port,...` of every listener: bound (false) or advertised (true). */
  listenerList(advertised: boolean): string;
  /** The ApiVersions answer, built from the dispatch table and the features (again when they change). */
  apiVersionsResponse(errorCode: number): ApiVersionsResponse;
  /** Feature levels supported and finalized (ApiVersions, UpdateFeatures). */
  readonly features: FeatureTable;
}

/** The services handlers use; one object for the broker's lifetime. */
export interface BrokerServices {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  readonly metrics: BrokerMetrics;
  readonly topics: TopicRegistry;
  readonly groups: GroupCoordinator;
  /** Consumer groups of the KIP-848 protocol (ConsumerGroupHeartbeat). */
  readonly consumerGroups: ConsumerGroupCoordinator;
  readonly txns: TransactionCoordinator;
  readonly cluster: ClusterView;
  /** Fetch sessions (KIP-227), shared by every connection. */
  readonly fetchSessions: FetchSessionCache;
  /** Share groups (KIP-932): membership, share sessions, share-partition state. */
  readonly shares: ShareCoordinator;
  /** Broker settings changed at runtime (AlterConfigs on BROKER). */
  readonly brokerConfigs: DynamicBrokerConfigs;
  /** Per-group configs (resource type GROUP), which the group coordinators read. */
  readonly groupConfigs: GroupConfigStore;
  /** Warnings about floods (failed logins, denials): one line a second per kind at most. */
  readonly throttledLog: ThrottledLog;
  /** ACLs (acl/authorizer.ts); `authz.enabled` is false when they are off. */
  readonly authz: Authorizer;
  /** The SASL mechanisms each listener enables (SaslHandshake, SaslAuthenticate). */
  readonly saslMechanisms: SaslMechanisms;
  /** Users' SCRAM credentials (AlterUserScramCredentials, DescribeUserScramCredentials, the SCRAM and PLAIN logins). */
  readonly scramCredentials: ScramCredentialStore;
  /** Client quotas (AlterClientQuotas, DescribeClientQuotas) and their rates. */
  readonly quotas: ClientQuotas;
}

/** One request's view: its header and session, and the broker's services. */
export class RequestContext implements BrokerServices {
  readonly header: RequestHeader;
  /** The request's API version (header.apiVersion), which most handlers branch on. */
  readonly version: number;
  readonly session: Session;
  readonly config: BrokerConfig;
  readonly logger: Logger;
  readonly metrics: BrokerMetrics;
  readonly topics: TopicRegistry;
  readonly groups: GroupCoordinator;
  readonly consumerGroups: ConsumerGroupCoordinator;
  readonly txns: TransactionCoordinator;
  readonly cluster: ClusterView;
  readonly fetchSessions: FetchSessionCache;
  readonly shares: ShareCoordinator;
  readonly brokerConfigs: DynamicBrokerConfigs;
  readonly groupConfigs: GroupConfigStore;
  readonly throttledLog: ThrottledLog;
  readonly authz: Authorizer;
  readonly saslMechanisms: SaslMechanisms;
  readonly scramCredentials: ScramCredentialStore;
  readonly quotas: ClientQuotas;
  /** Throttle time (ms) the handler decided itself (Fetch, over consumer_byte_rate); the connection puts the largest in the response and mutes for it. */
  throttleMs = 0;
  /** The quota type throttleMs is for (QuotaType: FETCH, or CONTROLLER_MUTATION for topic changes), for the metric. */
  throttleType = 1;
  /** Milliseconds the handler spent parked waiting for data (Fetch), kept out of its "handler" stage. */
  parkedMs = 0;

  constructor(header: RequestHeader, session: Session, services: BrokerServices) {
    this.header = header;
    this.version = header.apiVersion;
    this.session = session;
    this.config = services.config;
    this.logger = services.logger;
    this.metrics = services.metrics;
    this.topics = services.topics;
    this.groups = services.groups;
    this.consumerGroups = services.consumerGroups;
    this.txns = services.txns;
    this.cluster = services.cluster;
    this.fetchSessions = services.fetchSessions;
    this.shares = services.shares;
    this.brokerConfigs = services.brokerConfigs;
    this.groupConfigs = services.groupConfigs;
    this.throttledLog = services.throttledLog;
    this.authz = services.authz;
    this.saslMechanisms = services.saslMechanisms;
    this.scramCredentials = services.scramCredentials;
    this.quotas = services.quotas;
  }

  /**
   * Whether this request's principal may perform `operation` (AclOperation) on the resource
   * (ResourceType, name). A denial is counted and logged (throttled) unless `quiet`: filters
   * that only hide what a principal may not see (Metadata of all topics, ListGroups) are
   * quiet, as in Kafka.
   */
  authorize(operation: number, resourceType: number, name: string, quiet = false): boolean {
    const authz = this.authz;
    if (!authz.enabled || authz.authorize(this.session, operation, resourceType, name)) return true;
    if (!quiet) this.denied(operation, resourceType, name);
    return false;
  }

  /** Counts and logs a denial decided elsewhere (authorizeAny). */
  denied(operation: number, resourceType: number, name: string): void {
    const op = operationName[operation] ?? String(operation);
    const type = resourceTypeName[resourceType] ?? String(resourceType);
    this.metrics.authorizationDenied(op, type);
    this.throttledLog.warn('acl-denied', 'authorization denied', { principal: this.session.principal, host: this.session.peerAddress, operation: op, resourceType: type, resource: name, api: this.header.apiKey });
  }

  /** The authorizedOperations bitfield of a resource for this request's principal, over the type's operations (acl.ts operationsOf). */
  authorizedOperations(resourceType: number, name: string): number {
    return this.authz.operations(this.session, resourceType, name);
  }
}

/** A handler answers with its response, or null for none (Produce with acks=0). */
export type Handler<Req, Res> = (ctx: RequestContext, request: Req) => Res | null | Promise<Res | null>;

/** One API as the broker serves it: its codec, the versions announced, and the handler. */
export interface HandlerEntry<Req = any, Res = any> {
  /** The API (its key and name) with its request readers and response writers; the broker loads only the codec modules of APIs it serves. */
  readonly codec: ServerCodec;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly handle: Handler<Req, Res>;
  /**
   * Visits every error code of a response, for rivulet_response_errors_total. Optional: without
   * it the connection walks the whole response object, which the hot APIs cannot afford.
   */
  readonly errorCodes?: (response: Res, visit: (code: number) => void) => void;
  /**
   * Bytes the response may need, counted against the connection's connection.memory.bytes from
   * dispatch until the response is encoded (then its real size counts), so a client cannot
   * pipeline many large answers at once. Optional: APIs with small answers leave it out.
   */
  readonly memoryEstimate?: (request: Req, config: BrokerConfig) => number;
}
