// The authorizer: Kafka's StandardAuthorizer rules over the ACLs of acls.json.
//
// A request's principal may perform an operation on a resource when it is a super user, or
// no DENY ACL matches and an ALLOW ACL matches, or no ACL at all names the resource and
// allow.everyone.if.no.acl.found is true. An ACL matches when its pattern covers the resource
// (LITERAL: the same name or `*`; PREFIXED: a prefix of the name), its principal is the
// request's or User:*, its host is the peer's address or `*`, and its operation is the one
// asked or ALL; an ALLOW of READ, WRITE, DELETE or ALTER also allows DESCRIBE, and one of
// ALTER_CONFIGS allows DESCRIBE_CONFIGS (DENY implies nothing).
//
// Off (authorizer.class.name empty, the default) every check is one boolean. On, decisions
// are cached per connection (session) by resource type, operation and name; a change to the
// ACLs bumps a version that empties every cache at its next use, so Produce and Fetch match
// no patterns per request in steady state, and a change takes effect on open connections.

import type { Session } from '../session.js';
import type { Logger } from '../logger.js';
import { SerialJsonFile, RivuletError } from '../meta-store.js';
import {
  AclOperation, AclPermission, PatternType, ResourceType, WILDCARD, WILDCARD_PRINCIPAL, bindingProblem, canonicalHost, filterMatches, operationsOf, sameBinding,
  type AclBinding, type AclFilter,
} from './acl.js';

/** Kafka's authorizer class names that turn ACLs on (Kafka users' server.properties work unchanged). */
export const KNOWN_AUTHORIZERS = ['org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'kafka.security.authorizer.AclAuthorizer'];

export interface AuthorizerSettings {
  /** authorizer.class.name: '' (off) or one of KNOWN_AUTHORIZERS. */
  readonly authorizerClassName: string;
  /** super.users: `User:a;User:b`. */
  readonly superUsers: string;
  readonly allowEveryoneIfNoAclFound: boolean;
}

/** Decisions one connection caches in all (every type and operation): past it the cache starts over, so a client naming endless resources cannot grow it without limit. */
export const CACHE_ENTRIES_MAX = 10_000;

class DecisionCache {
  principal: string;
  version: number;
  /** (resourceType << 4 | operation) -> name -> allowed. */
  readonly byKey = new Map<number, Map<string, boolean>>();
  /** Decisions held, over every key. */
  size = 0;
  constructor(principal: string, version: number) {
    this.principal = principal;
    this.version = version;
  }
}

interface TypeIndex {
  /** LITERAL bindings by name (`*` included). */
  readonly literal: Map<string, AclBinding[]>;
  readonly prefixed: AclBinding[];
}

function maskOf(ops: readonly number[]): number {
  let bits = 0;
  for (const op of ops) bits |= 1 << op;
  return bits;
}

/** Each resource type's operations as an authorizedOperations bitfield (what ACLs off answer). */
const FULL_MASKS = new Map<number, number>(Object.entries(operationsOf).map(([type, ops]) => [Number(type), maskOf(ops)]));

function implies(granted: number, asked: number): boolean {
  if (granted === asked || granted === AclOperation.ALL) return true;
  if (asked === AclOperation.DESCRIBE) return granted === AclOperation.READ || granted === AclOperation.WRITE || granted === AclOperation.DELETE || granted === AclOperation.ALTER;
  if (asked === AclOperation.DESCRIBE_CONFIGS) return granted === AclOperation.ALTER_CONFIGS;
  return false;
}

export class Authorizer {
  /** True when ACLs are enforced; handlers check nothing else when it is false. */
  readonly enabled: boolean;
  private readonly superUsers: ReadonlySet<string>;
  private readonly allowIfNoAcl: boolean;
  /** Bumped on every change of the ACLs; caches older than it are dropped. */
  version = 0;
  private bindings: AclBinding[] = [];
  private index = new Map<number, TypeIndex>();
  private readonly caches = new WeakMap<Session, DecisionCache>();
  private readonly file: SerialJsonFile<{ version: 1; acls: AclBinding[] }>;
  /** Called after every change of the ACLs (consumer groups resolve regex subscriptions again); one that throws is logged, the change stands. */
  readonly changeListeners = new Set<() => void>();
  private readonly logger: Pick<Logger, 'error'> | undefined;

  constructor(dataDir: string, settings: AuthorizerSettings, logger?: Pick<Logger, 'error'>) {
    this.logger = logger;
    this.enabled = settings.authorizerClassName !== '';
    this.superUsers = new Set(parseSuperUsers(settings.superUsers));
    this.allowIfNoAcl = settings.allowEveryoneIfNoAclFound;
    this.file = new SerialJsonFile(dataDir, 'acls.json');
  }

  async load(): Promise<void> {
    const stored = await this.file.read();
    if (stored === null) return;
    if (!Array.isArray(stored.acls)) throw new RivuletError('RIV_ERR_DATA_FILE', `${this.file.name} holds no "acls" list; restore it from a backup or remove it`);
    // Each entry is checked as CreateAcls checks it: a hand-edited or damaged file stops the start
    // rather than enforcing something else than what it says.
    const acls: AclBinding[] = [];
    stored.acls.forEach((entry: unknown, i: number) => {
      const problem = storedBindingProblem(entry);
      if (problem !== null) throw new RivuletError('RIV_ERR_DATA_FILE', `${this.file.name}: ACL ${i + 1} (${JSON.stringify(entry)}) ${problem}; correct or remove it, or restore the file from a backup`);
      acls.push(copy(entry as AclBinding));
    });
    this.replace(acls);
  }

  /** Every ACL, in creation order. */
  all(): readonly AclBinding[] {
    return this.bindings;
  }

  isSuperUser(principal: string): boolean {
    return this.superUsers.has(principal);
  }

  /**
   * Stores new ACLs (those already present are kept once). Returns, per binding, why it was
   * refused, or null; nothing of a refused binding is stored.
   */
  create(bindings: readonly AclBinding[]): Promise<(string | null)[]> {
    return this.file.change(async (write) => {
      const problems = bindings.map((b) => bindingProblem(b));
      const next = [...this.bindings];
      for (let i = 0; i < bindings.length; i++) {
        if (problems[i] !== null) continue;
        const b = copy(bindings[i]!);
        if (next.some((x) => sameBinding(x, b))) continue;
        next.push(b);
      }
      if (next.length !== this.bindings.length) {
        await write({ version: 1, acls: next });
        this.replace(next);
      }
      return problems;
    });
  }

  /** Removes every ACL each filter matches; returns, per filter, the ACLs it removed. */
  delete(filters: readonly AclFilter[]): Promise<AclBinding[][]> {
    const canonical = filters.map(canonicalFilter);
    return this.file.change(async (write) => {
      const removed: AclBinding[][] = filters.map(() => []);
      const next: AclBinding[] = [];
      for (const b of this.bindings) {
        let hit = false;
        canonical.forEach((f, i) => {
          if (filterMatches(f, b)) {
            removed[i]!.push(b);
            hit = true;
          }
        });
        if (!hit) next.push(b);
      }
      if (next.length !== this.bindings.length) {
        await write({ version: 1, acls: next });
        this.replace(next);
      }
      return removed;
    });
  }

  describe(filter: AclFilter): AclBinding[] {
    const f = canonicalFilter(filter);
    return this.bindings.filter((b) => filterMatches(f, b));
  }

  /** Whether the session may perform `operation` on the resource; cached per session until the ACLs change. */
  authorize(session: Session, operation: number, resourceType: number, name: string): boolean {
    if (!this.enabled) return true;
    let cache = this.caches.get(session);
    if (cache === undefined || cache.version !== this.version || cache.principal !== session.principal) {
      cache = new DecisionCache(session.principal, this.version);
      this.caches.set(session, cache);
    }
    const key = (resourceType << 4) | operation;
    let names = cache.byKey.get(key);
    if (names === undefined) cache.byKey.set(key, (names = new Map()));
    let allowed = names.get(name);
    if (allowed === undefined) {
      allowed = this.decide(session.principal, hostOf(session), operation, resourceType, name);
      if (cache.size >= CACHE_ENTRIES_MAX) {
        cache.byKey.clear();
        cache.size = 0;
        cache.byKey.set(key, (names = new Map()));
      }
      names.set(name, allowed);
      cache.size++;
    }
    return allowed;
  }

  /** The decision, uncached (StandardAuthorizer's rules, see the top of this file). */
  decide(principal: string, host: string, operation: number, resourceType: number, name: string): boolean {
    if (!this.enabled || this.superUsers.has(principal)) return true;
    const idx = this.index.get(resourceType);
    let foundResourceAcl = false;
    let allowed = false;
    const visit = (acls: readonly AclBinding[] | undefined): boolean => {
      if (acls === undefined) return false;
      for (const a of acls) {
        foundResourceAcl = true;
        if (a.principal !== principal && a.principal !== WILDCARD_PRINCIPAL) continue;
        if (a.host !== WILDCARD && a.host !== host) continue;
        if (a.permission === AclPermission.DENY) {
          if (a.operation === operation || a.operation === AclOperation.ALL) return true;
        } else if (implies(a.operation, operation)) {
          allowed = true;
        }
      }
      return false;
    };
    if (idx !== undefined) {
      if (visit(idx.literal.get(name))) return false;
      if (name !== WILDCARD && visit(idx.literal.get(WILDCARD))) return false;
      if (idx.prefixed.length > 0 && visit(idx.prefixed.filter((a) => name.startsWith(a.resourceName)))) return false;
    }
    if (allowed) return true;
    return !foundResourceAcl && this.allowIfNoAcl;
  }

  /**
   * Whether the session may perform `operation` on some resource of the type, as Kafka's
   * authorizeByResourceType (KIP-679: IDEMPOTENT_WRITE for a principal that may write to some
   * topic). A decision on a made-up name first (super users, allow.everyone.if.no.acl.found);
   * then, over the ACLs of the principal and host for the operation (or ALL): a LITERAL `*` DENY
   * refuses, a LITERAL `*` ALLOW allows, and otherwise some LITERAL or PREFIXED ALLOW must not be
   * dominated by a DENY: a LITERAL DENY of the same name, or a PREFIXED DENY of a prefix of it.
   */
  authorizeAny(session: Session, operation: number, resourceType: number): boolean {
    if (!this.enabled) return true;
    const principal = session.principal;
    const host = hostOf(session);
    if (this.decide(principal, host, operation, resourceType, 'hardcode')) return true;
    const denyLiteral = new Set<string>();
    const denyPrefixed = new Set<string>();
    const allowLiteral = new Set<string>();
    const allowPrefixed = new Set<string>();
    let wildcardAllow = false;
    for (const a of this.bindings) {
      if (a.resourceType !== resourceType) continue;
      if (a.host !== WILDCARD && a.host !== host) continue;
      if (a.principal !== principal && a.principal !== WILDCARD_PRINCIPAL) continue;
      if (a.operation !== operation && a.operation !== AclOperation.ALL) continue;
      const literal = a.patternType === PatternType.LITERAL;
      if (a.permission === AclPermission.DENY) {
        if (literal && a.resourceName === WILDCARD) return false;
        (literal ? denyLiteral : denyPrefixed).add(a.resourceName);
      } else if (a.permission === AclPermission.ALLOW) {
        if (literal && a.resourceName === WILDCARD) wildcardAllow = true;
        else (literal ? allowLiteral : allowPrefixed).add(a.resourceName);
      }
    }
    if (wildcardAllow) return true;
    const dominated = (name: string): boolean => {
      for (let i = 1; i <= name.length; i++) if (denyPrefixed.has(name.slice(0, i))) return true;
      return false;
    };
    for (const name of allowLiteral) if (!denyLiteral.has(name) && !dominated(name)) return true;
    for (const name of allowPrefixed) if (!dominated(name)) return true;
    return false;
  }

  /** The authorizedOperations bitfield of a resource: bit n set when operation n is allowed. */
  operations(session: Session, resourceType: number, name: string, ops: readonly number[] = operationsOf[resourceType] ?? []): number {
    // Off, every operation: the type's full mask, no per-operation call (Metadata asks per topic).
    if (!this.enabled) return ops === operationsOf[resourceType] ? (FULL_MASKS.get(resourceType) ?? 0) : maskOf(ops);
    let bits = 0;
    for (const op of ops) if (this.authorize(session, op, resourceType, name)) bits |= 1 << op;
    return bits;
  }

  private replace(bindings: AclBinding[]): void {
    const index = new Map<number, TypeIndex>();
    for (const b of bindings) {
      let idx = index.get(b.resourceType);
      if (idx === undefined) index.set(b.resourceType, (idx = { literal: new Map(), prefixed: [] }));
      if (b.patternType === PatternType.PREFIXED) idx.prefixed.push(b);
      else {
        const list = idx.literal.get(b.resourceName);
        if (list === undefined) idx.literal.set(b.resourceName, [b]);
        else list.push(b);
      }
    }
    this.bindings = bindings;
    this.index = index;
    this.version++;
    // The change is stored and in force: a listener that fails must not turn it into an error answer.
    for (const l of this.changeListeners) {
      try {
        l();
      } catch (e) {
        (this.logger ?? console).error('an ACL change listener failed; the change is in force', { error: e });
      }
    }
  }
}

/** A peer's address as an ACL names it: an IPv4 peer of a dual-stack listener (::ffff:10.0.0.1) is 10.0.0.1. */
export function aclHost(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function hostOf(session: Session): string {
  return aclHost(session.peerAddress);
}

/** A binding as stored: its host canonical (canonicalHost), so equal addresses are one ACL and match peers. */
function copy(b: AclBinding): AclBinding {
  return { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, principal: b.principal, host: canonicalHost(b.host), operation: b.operation, permission: b.permission };
}

/** A filter naming a host names it as bindings store it. */
function canonicalFilter(f: AclFilter): AclFilter {
  return f.host === null ? f : { ...f, host: canonicalHost(f.host) };
}

/** Why an entry of acls.json is not a binding CreateAcls would store, or null. */
function storedBindingProblem(entry: unknown): string | null {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 'is not an object';
  const e = entry as Record<string, unknown>;
  for (const f of ['resourceType', 'patternType', 'operation', 'permission']) if (typeof e[f] !== 'number' || !Number.isInteger(e[f])) return `has no integer ${f}`;
  for (const f of ['resourceName', 'principal', 'host']) if (typeof e[f] !== 'string') return `has no string ${f}`;
  return bindingProblem(e as unknown as AclBinding);
}

/** `User:a;User:b` -> ['User:a', 'User:b'] (Kafka's super.users separator is `;`). */
export function parseSuperUsers(value: string): string[] {
  return value.split(';').map((s) => s.trim()).filter((s) => s !== '');
}

export { ResourceType, AclOperation };
