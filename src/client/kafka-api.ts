// Sends Kafka APIs the library implements but whose high-level clients do not fit (the
// KIP-848 heartbeat, OffsetFetch with requireStable, one TxnOffsetCommit for many
// partitions) over a library client's own connections, so TLS, SASL and version
// negotiation apply as for everything else. Also finds group and transaction coordinators.

import { kGetApi, kGetBootstrapConnection, kGetConnection, type Base } from '@platformatic/kafka';
import { ClientError, ClientErrorCode, findProtocolError, leafErrors } from './errors.js';

/** Any library client: Admin, Consumer, Producer. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyClient = Base<any>;

type Callback<T> = (e: Error | null, r?: T) => void;
type ApiFn = (connection: unknown, ...args: unknown[]) => void;
type Hidden = Record<symbol, (...a: unknown[]) => void>;

/** Where to send: a broker's address. */
export interface BrokerAddress {
  host: string;
  port: number;
}

/** The library's implementation of an API at the highest version both sides speak. */
export function getApi(client: AnyClient, name: string): Promise<ApiFn> {
  const self = client as unknown as Hidden;
  return new Promise<ApiFn>((res, rej) => self[kGetApi]!.call(client, name, ((e, a) => (e ? rej(e) : res(a as ApiFn))) as Callback<unknown>));
}

function connectionTo(client: AnyClient, broker: BrokerAddress | undefined): Promise<unknown> {
  const self = client as unknown as Hidden;
  return new Promise<unknown>((res, rej) => {
    const cb = ((e, c) => (e ? rej(e) : res(c))) as Callback<unknown>;
    if (broker === undefined) self[kGetBootstrapConnection]!.call(client, cb);
    else self[kGetConnection]!.call(client, broker, cb);
  });
}

/** Sends one API request to `broker` (any bootstrap broker when undefined); resolves with the parsed answer. */
export async function sendApi<T>(client: AnyClient, broker: BrokerAddress | undefined, name: string, ...args: unknown[]): Promise<T> {
  const connection = await connectionTo(client, broker);
  const api = await getApi(client, name);
  return new Promise<T>((res, rej) => api(connection, ...args, ((e, r) => (e ? rej(e) : res(r as T))) as Callback<T>));
}

/** FindCoordinator key types. */
export const CoordinatorType = { group: 0, transaction: 1 } as const;

/** The broker that coordinates a group or a transactional id. */
export async function findCoordinator(client: AnyClient, keyType: number, key: string): Promise<BrokerAddress & { nodeId: number }> {
  const r = await sendApi<{ coordinators: Array<{ key: string; nodeId: number; host: string; port: number }> }>(client, undefined, 'FindCoordinator', keyType, [key]);
  const c = r.coordinators.find((x) => x.key === key);
  if (!c) throw new ClientError(`FindCoordinator answered without the coordinator of "${key}".`, { code: ClientErrorCode.unexpectedAnswer });
  return { nodeId: c.nodeId, host: c.host, port: c.port };
}

/** Errors after which the coordinator should be looked up again and the request retried. */
const COORDINATOR_MOVED = ['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS', 'REQUEST_TIMED_OUT', 'CONCURRENT_TRANSACTIONS'];

/** True for a moved or loading coordinator, or a lost connection: find the coordinator again and retry. */
export function isCoordinatorRetriable(e: unknown): boolean {
  if (findProtocolError(e, ...COORDINATOR_MOVED)) return true;
  const leaves = leafErrors(e);
  return leaves.length > 0 && leaves.every((x) => x.apiId === undefined && (x.code === 'PLT_KFK_NETWORK' || x.code === 'PLT_KFK_TIMEOUT' || /ECONNREFUSED|ECONNRESET|EPIPE|closed/i.test(`${x.code} ${x.message}`)));
}

/** One line for a log: the Kafka error names, or the message. */
export function describeError(e: unknown): string {
  const names = leafErrors(e).map((x) => x.apiId ?? x.message);
  return names.length > 0 ? [...new Set(names)].join(', ') : String(e);
}

/** Waits ms unless `signal` aborts first (closing does not wait out a back-off). */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res) => {
    if (signal?.aborted) return res();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      res();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Sends to a coordinator, finding it first and again whenever it moves or the connection
 * drops, until `deadline` (ms since epoch). Other errors are thrown as they come.
 */
export class CoordinatorClient {
  private coordinator: (BrokerAddress & { nodeId: number }) | undefined = undefined;
  constructor(
    private readonly client: AnyClient,
    private readonly keyType: number,
    private readonly key: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Forget the coordinator (it moved): the next send looks it up. */
  reset(): void {
    this.coordinator = undefined;
  }

  async send<T>(name: string, args: unknown[], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    let backoff = 100;
    for (;;) {
      try {
        this.coordinator ??= await findCoordinator(this.client, this.keyType, this.key);
        return await sendApi<T>(this.client, this.coordinator, name, ...args);
      } catch (e) {
        if (!isCoordinatorRetriable(e) || Date.now() + backoff > deadline || opts.signal?.aborted) throw e;
        this.log(`${name} for "${this.key}": ${describeError(e)}; finding the coordinator again in ${backoff} ms`);
        this.coordinator = undefined;
        await delay(backoff, opts.signal);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }
}
