// The JSON Web Key Set OAUTHBEARER tokens are checked against, as Kafka's broker keeps it
// (KIP-768): loaded from sasl.oauthbearer.jwks.endpoint.url (https://, http:// or file://),
// reloaded every sasl.oauthbearer.jwks.endpoint.refresh.ms, and reloaded early when a token
// names a key id the set lacks (the identity provider rotated its keys). A kid that a reload
// did not find is remembered as missing for MISSING_KID_COOLDOWN_MS and triggers no reload
// meanwhile; reloads for unknown kids happen at most once per KID_RELOAD_INTERVAL_MS in all.
// So made-up kids cannot turn into a flood of fetches, and cannot starve a real rotated kid
// either: its own token triggers a reload within KID_RELOAD_INTERVAL_MS.
// A failed load is retried with exponential backoff (retry.backoff.ms doubling up to
// retry.backoff.max.ms) and the keys already loaded stay in use meanwhile.
//
// The broker starts whether or not the first load works: until one does, every token is refused
// with a message saying the keys could not be loaded, and the log says why.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { JSONWebKeySet } from 'jose';
import type { Logger } from '../logger.js';

/** A kid a reload did not find triggers no reload for this long (Kafka holds a missing kid for 60 s). */
export const MISSING_KID_COOLDOWN_MS = 10_000;
/** Kid-triggered reloads, all kids together, happen at most this often. */
export const KID_RELOAD_INTERVAL_MS = 1_000;
/** Missing kids remembered at most (oldest forgotten first). */
const MISSING_KIDS_MAX = 1_000;
/** An endpoint that does not answer within this is a failed load. */
const FETCH_TIMEOUT_MS = 10_000;
/** A JWKS is a few kilobytes; a body past this is refused rather than buffered. */
const MAX_JWKS_BYTES = 1024 * 1024;

export interface JwksOptions {
  url: string;
  refreshMs: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
}

export class JwksError extends Error {
  readonly code = 'RIV_ERR_JWKS';
}

/** Reads and checks one JWKS document from the url; throws JwksError saying what is wrong. */
export async function fetchJwks(url: string): Promise<JSONWebKeySet> {
  let text: string;
  if (url.startsWith('file:')) {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (e) {
      throw new JwksError(`${url} is not a usable file URL (${(e as Error).message}); write it as file:///absolute/path/jwks.json`);
    }
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new JwksError(`cannot read ${path}: ${(e as Error).message}`);
    }
    if (text.length > MAX_JWKS_BYTES) throw new JwksError(`${path} is larger than ${MAX_JWKS_BYTES} bytes; a JWKS is a few kilobytes`);
  } else {
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' }, redirect: 'error' });
    } catch (e) {
      const err = e as Error & { cause?: Error };
      // Redirects are not followed (redirect: 'error'): an https:// endpoint must not hand the keys' source to another URL, or to http://.
      throw new JwksError(`GET ${url} failed: ${err.name === 'TimeoutError' ? `no answer within ${FETCH_TIMEOUT_MS} ms` : err.cause?.message ?? err.message} (redirects are not followed: set the final URL of the JWKS)`);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new JwksError(`GET ${url} answered HTTP ${res.status}`);
    }
    text = await readCapped(res, url);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new JwksError(`${url} is not JSON (${(e as Error).message}); it must be a JWKS: {"keys":[...]}`);
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'object' || k === null || Array.isArray(k))) {
    throw new JwksError(`${url} is not a JWKS: expected a JSON object with a "keys" array of keys`);
  }
  return doc as JSONWebKeySet;
}

async function readCapped(res: Response, url: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_JWKS_BYTES) {
    await res.body?.cancel().catch(() => {});
    throw new JwksError(`GET ${url} declared ${declared} bytes, more than the ${MAX_JWKS_BYTES} a JWKS may have`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > MAX_JWKS_BYTES) throw new JwksError(`GET ${url} sent more than ${MAX_JWKS_BYTES} bytes; a JWKS is a few kilobytes`);
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** What the set holds now, swapped whole on every successful load. */
export interface JwksSnapshot {
  readonly jwks: JSONWebKeySet;
  readonly kids: ReadonlySet<string>;
}

export class JwksSource {
  private current: JwksSnapshot | undefined;
  private lastError = '';
  private loading: Promise<void> | undefined;
  private lastKidReloadAt = -Infinity;
  /** kid -> when a reload last failed to find it (insertion order: oldest first). */
  private readonly missingKids = new Map<string, number>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs: number;
  private stopped = false;

  constructor(
    private readonly opts: JwksOptions,
    private readonly logger: Logger,
    /** Called after each successful load with the new snapshot (the mechanism rebuilds its key lookup). */
    private readonly onLoad: (s: JwksSnapshot) => void = () => {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.retryDelayMs = opts.retryBackoffMs;
  }

  /** Starts the first load and the refresh schedule; never throws. The promise settles once the first attempt has. */
  start(): Promise<void> {
    this.refreshTimer = setInterval(() => void this.reload('scheduled refresh'), this.opts.refreshMs);
    this.refreshTimer.unref();
    return this.reload('start');
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.refreshTimer);
    clearTimeout(this.retryTimer);
  }

  get snapshot(): JwksSnapshot | undefined {
    return this.current;
  }

  /** Why the last load failed ('' when it worked). */
  get error(): string {
    return this.lastError;
  }

  /**
   * A token named a kid the set lacks: reload now, unless a reload found that kid missing
   * within MISSING_KID_COOLDOWN_MS, or a kid-triggered reload ran within KID_RELOAD_INTERVAL_MS
   * (a load in progress: wait for it). Resolves when done.
   */
  async reloadForUnknownKid(kid = ''): Promise<void> {
    if (this.loading) return this.loading;
    const t = this.now();
    const missingAt = this.missingKids.get(kid);
    if (missingAt !== undefined && t - missingAt < MISSING_KID_COOLDOWN_MS) return;
    if (t - this.lastKidReloadAt < KID_RELOAD_INTERVAL_MS) return;
    this.lastKidReloadAt = t;
    await this.reload('token names an unknown key id');
    this.missingKids.delete(kid);
    if (this.current !== undefined && !this.current.kids.has(kid)) {
      this.missingKids.set(kid, this.now());
      if (this.missingKids.size > MISSING_KIDS_MAX) this.missingKids.delete(this.missingKids.keys().next().value!);
    }
  }

  /** One load (shared by concurrent callers); on failure keeps the old keys and schedules a retry with backoff. */
  private reload(why: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.loading) return this.loading;
    this.loading = (async () => {
      try {
        const jwks = await fetchJwks(this.opts.url);
        const kids = new Set<string>();
        for (const k of jwks.keys) if (typeof k.kid === 'string') kids.add(k.kid);
        const first = this.current === undefined;
        const snapshot = { jwks, kids };
        // Before the swap: a set the key lookup refuses is a failed load, and the old keys stay.
        this.onLoad(snapshot);
        this.current = snapshot;
        this.lastError = '';
        this.retryDelayMs = this.opts.retryBackoffMs;
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        const fields = { url: this.opts.url, keys: jwks.keys.length, kids: [...kids].join(',') };
        if (first) this.logger.info('OAUTHBEARER: JWKS loaded', { ...fields, why });
        else this.logger.debug('OAUTHBEARER: JWKS reloaded', { ...fields, why });
      } catch (e) {
        this.lastError = (e as Error).message;
        const delay = this.retryDelayMs;
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.opts.retryBackoffMaxMs);
        const level = this.current === undefined ? 'error' : 'warn';
        this.logger[level](
          this.current === undefined
            ? 'OAUTHBEARER: cannot load the JWKS; every OAUTHBEARER token is refused until it loads. Check sasl.oauthbearer.jwks.endpoint.url and that the broker can reach it'
            : 'OAUTHBEARER: JWKS reload failed; the keys loaded before stay in use',
          { url: this.opts.url, error: this.lastError, why, retryInMs: delay },
        );
        if (!this.stopped && this.retryTimer === undefined) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            void this.reload('retry');
          }, delay);
          this.retryTimer.unref();
        }
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}
