// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) on the server side, as Kafka's
// ScramSaslServer speaks them: no channel binding (gs2 header "n,,", or "n,a=<user>,"),
// extensions in the client's first message (tokenauth=true asks for a delegation token,
// which this broker does not issue: refused), the final nonce ending with the server's (as
// Kafka checks it), the client's proof checked against the stored
// key in constant time. The credential math is here too (salted password to stored and
// server keys), for the store, PLAIN and `rivulet storage add-scram`.
//
// An unknown user goes through the same steps as a known one and fails at the same step with
// the same message. Its server-first message carries a salt derived from the name with a
// per-process key (stable across tries), in the form and length most common among the stored
// salts of that mechanism (Kafka's AdminClient sends ~26 base-36 characters, add-scram 32
// random bytes), and the iteration count most common among them, so the answer does not show
// whether the user exists. (What it cannot hide: a user whose own credential is unusual, or a
// salt that changes across broker restarts, which a real one does not.)
//
// PBKDF2 for PLAIN runs on libuv's thread pool, which file reads and fsyncs share; at most
// PBKDF2_CONCURRENCY run at once and PBKDF2_QUEUE wait, past that a login fails at once
// ('busy'), so a flood of bad logins cannot stall produce and fetch. Successful checks are
// remembered (an HMAC of user, password and credential under a per-process key, never the
// password) so a client that reconnects often does not pay PBKDF2 each time.

import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { SaslFailure, type SaslExchange, type SaslMechanism, type SaslStep } from './mechanism.js';

export interface ScramCredential {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export interface ScramType {
  readonly name: 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  /** Kafka's ScramMechanism type: 1 SCRAM-SHA-256, 2 SCRAM-SHA-512. */
  readonly type: number;
  readonly hash: 'sha256' | 'sha512';
  /** Digest size in bytes: the salted password's length. */
  readonly size: number;
}

export const SCRAM_TYPES: readonly ScramType[] = [
  { name: 'SCRAM-SHA-256', type: 1, hash: 'sha256', size: 32 },
  { name: 'SCRAM-SHA-512', type: 2, hash: 'sha512', size: 64 },
];

export function scramType(name: string): ScramType | undefined {
  return SCRAM_TYPES.find((t) => t.name === name);
}

export function scramTypeByCode(code: number): ScramType | undefined {
  return SCRAM_TYPES.find((t) => t.type === code);
}

/** Kafka's bounds on a credential's iterations (ScramMechanism minIterations/maxIterations). */
export const MIN_ITERATIONS = 4096;
export const MAX_ITERATIONS = 16384;

/** Where mechanisms find users' credentials. */
export interface ScramCredentialSource {
  get(user: string, mechanism: string): ScramCredential | undefined;
  /** What the stored credentials of a mechanism mostly look like; unknown users are answered in that shape. */
  shape?(mechanism: string): CredentialShape;
}

function hmac(t: ScramType, key: Buffer, data: Buffer | string): Buffer {
  return createHmac(t.hash, key).update(data).digest();
}

/** Stored and server keys of a salted password (RFC 5802 section 3). */
export function credentialFromSalted(t: ScramType, salt: Buffer, iterations: number, salted: Buffer): ScramCredential {
  const clientKey = hmac(t, salted, 'Client Key');
  return { salt, iterations, storedKey: createHash(t.hash).update(clientKey).digest(), serverKey: hmac(t, salted, 'Server Key') };
}

/** Hi(password, salt, i): PBKDF2 on libuv's thread pool, so a login never blocks the event loop. */
export function saltPassword(t: ScramType, password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, t.size, t.hash, (e, k) => (e ? reject(e) : resolve(k))));
}

/** A new credential for a password: random salt, the given iterations. */
export async function newCredential(t: ScramType, password: string, iterations: number, salt: Buffer = randomBytes(32)): Promise<ScramCredential> {
  return credentialFromSalted(t, salt, iterations, await saltPassword(t, password, salt, iterations));
}

/** PBKDF2 computations for logins running at once (libuv's pool has 4 threads by default). */
export const PBKDF2_CONCURRENCY = 2;
/** Logins waiting for a PBKDF2 slot; past this a login fails at once. */
export const PBKDF2_QUEUE = 32;

/** Error of a login refused because PBKDF2_QUEUE logins already wait. */
export class Pbkdf2Busy extends Error {}

/** A global bound on concurrent PBKDF2 for logins: `limit` at once, `queue` waiting, the rest refused. */
export class Pbkdf2Gate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(
    public limit = PBKDF2_CONCURRENCY,
    public queue = PBKDF2_QUEUE,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.queue) throw new Pbkdf2Busy(`${this.running} password checks running and ${this.waiting.length} waiting`);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next(); // the slot passes on: running stays the same
      else this.running--;
    }
  }
}

/** The one gate every PLAIN login's PBKDF2 passes (exported for tests). */
export const pbkdf2Gate = new Pbkdf2Gate();

/** Per process: keys the cache of successful checks, and unknown users' salts. */
const PROCESS_SECRET = randomBytes(32);
const VERIFIED_MAX = 1024;
/** HMACs of (mechanism, password, credential) that matched, oldest first (LRU). */
const verified = new Map<string, true>();

function verifiedKey(t: ScramType, password: string, c: ScramCredential): string {
  return createHmac('sha256', PROCESS_SECRET).update(`${t.name}\0${c.iterations}\0`).update(c.salt).update(c.storedKey).update('\0').update(password, 'utf8').digest('base64');
}

/**
 * Whether a password matches a credential: its stored key recomputed (PBKDF2 through
 * pbkdf2Gate; throws Pbkdf2Busy when the gate is full) and compared in constant time.
 */
export async function passwordMatches(t: ScramType, password: string, c: ScramCredential, gate: Pbkdf2Gate = pbkdf2Gate): Promise<boolean> {
  const key = verifiedKey(t, password, c);
  if (verified.has(key)) {
    verified.delete(key);
    verified.set(key, true);
    return true;
  }
  const salted = await gate.run(() => saltPassword(t, password, c.salt, c.iterations));
  const mine = credentialFromSalted(t, c.salt, c.iterations, salted);
  const ok = mine.storedKey.length === c.storedKey.length && timingSafeEqual(mine.storedKey, c.storedKey);
  if (ok) {
    verified.set(key, true);
    if (verified.size > VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  }
  return ok;
}

/** What stored salts of a mechanism mostly look like, and their most common iteration count. */
export interface CredentialShape {
  /** Salt length in bytes. */
  readonly saltLength: number;
  /** Salt made of base-36 characters (Kafka's AdminClient), else random bytes. */
  readonly base36: boolean;
  readonly iterations: number;
}

/** With no credentials stored: what `rivulet storage add-scram` writes by default. */
export const DEFAULT_SHAPE: CredentialShape = { saltLength: 32, base36: false, iterations: MIN_ITERATIONS };

/** The most common shape among credentials (DEFAULT_SHAPE for none). */
export function commonShape(credentials: Iterable<ScramCredential>): CredentialShape {
  const salts = new Map<string, number>();
  const iterations = new Map<number, number>();
  for (const c of credentials) {
    const k = `${c.salt.length}:${/^[0-9a-z]+$/.test(c.salt.toString('latin1')) ? 1 : 0}`;
    salts.set(k, (salts.get(k) ?? 0) + 1);
    iterations.set(c.iterations, (iterations.get(c.iterations) ?? 0) + 1);
  }
  if (salts.size === 0) return DEFAULT_SHAPE;
  const top = <K>(m: Map<K, number>): K => [...m].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  const [len, b36] = top(salts).split(':');
  return { saltLength: Number(len), base36: b36 === '1', iterations: top(iterations) };
}

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * A credential no password matches for an unknown user: a salt derived from the name with a
 * per-process key (the same on every try), shaped like the stored ones, and their usual iterations.
 */
export function fakeCredential(t: ScramType, user: string, shape: CredentialShape = DEFAULT_SHAPE): ScramCredential {
  const bytes: Buffer[] = [];
  for (let i = 0, n = 0; n < shape.saltLength; i++) {
    const b = createHmac('sha256', PROCESS_SECRET).update(`${t.name}\0${i}\0${user}`).digest();
    bytes.push(b);
    n += b.length;
  }
  let salt = Buffer.concat(bytes).subarray(0, shape.saltLength);
  if (shape.base36) salt = Buffer.from(Array.from(salt, (b) => BASE36[b % 36]).join(''), 'latin1');
  return { salt, iterations: shape.iterations, storedKey: randomBytes(t.size), serverKey: randomBytes(t.size) };
}

/** The message a failed login answers: the same for an unknown user and a wrong password. */
export function badCredentialsMessage(mechanism: string, credential = `a ${mechanism} credential`): string {
  return `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}: check the client's username and password, and that the user has ${credential} (kafka-configs --describe --entity-type users; create one with kafka-configs --alter --add-config or rivulet storage add-scram)`;
}

/** RFC 5802 saslname: "=2C" is ",", "=3D" is "="; any other "=" is malformed. */
function decodeSaslName(s: string): string | null {
  if (/=(?!2C|3D)/.test(s)) return null;
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

const PRINTABLE_NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;
const MAX_MESSAGE = 4096;

function malformed(what: string): SaslFailure {
  return new SaslFailure(`Authentication failed: ${what}; the client does not speak SCRAM as RFC 5802 describes it`, 'malformed');
}

class ScramExchange implements SaslExchange {
  private state: 'first' | 'final' | 'done' = 'first';
  private user = '';
  private credential: ScramCredential | null = null;
  private known = false;
  private gs2Header = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';

  constructor(
    private readonly t: ScramType,
    private readonly credentials: ScramCredentialSource,
  ) {}

  step(message: Buffer): SaslStep {
    if (message.length > MAX_MESSAGE) throw malformed(`a SCRAM message of ${message.length} bytes (at most ${MAX_MESSAGE})`);
    const text = message.toString('utf8');
    if (this.state === 'first') return this.first(text);
    if (this.state === 'final') return this.final(text);
    throw malformed('a message after the SCRAM exchange ended');
  }

  private first(text: string): SaslStep {
    // gs2-header: "n," then an optional "a=authzid", then ",". "y"/"p" (channel binding) are not offered.
    const m = /^n,(?:a=([^,]*))?,(n=([^,]*),r=([^,]*)((?:,[A-Za-z][A-Za-z0-9]*=[^,]*)*))$/.exec(text);
    if (m === null) throw malformed('the first SCRAM message is not n,[a=authzid],n=user,r=nonce[,extensions]');
    const authzid = m[1] === undefined ? null : decodeSaslName(m[1]);
    const user = decodeSaslName(m[3]!);
    if (user === null || user === '' || (m[1] !== undefined && authzid === null)) throw malformed('the user name is empty or badly escaped');
    if (authzid !== null && authzid !== '' && authzid !== user) {
      throw new SaslFailure('Authentication failed: the authorization id differs from the user name; Kafka does not let one user act as another', 'bad_credentials');
    }
    const clientNonce = m[4]!;
    if (!PRINTABLE_NONCE.test(clientNonce)) throw malformed('the client nonce is empty or not printable');
    for (const ext of (m[5] ?? '').split(',').filter((e) => e !== '')) {
      const [key, value] = [ext.slice(0, ext.indexOf('=')), ext.slice(ext.indexOf('=') + 1)];
      if (key === 'tokenauth' && value.toLowerCase() === 'true') {
        throw new SaslFailure('Authentication failed: delegation tokens (tokenauth) are not supported by this broker; log in with a user\'s SCRAM credential', 'other');
      }
    }
    this.gs2Header = text.slice(0, text.length - m[2]!.length);
    this.clientFirstBare = m[2]!;
    this.user = user;
    const stored = this.credentials.get(user, this.t.name);
    this.known = stored !== undefined;
    this.credential = stored ?? fakeCredential(this.t, user, this.credentials.shape?.(this.t.name));
    this.nonce = clientNonce + randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${this.credential.salt.toString('base64')},i=${this.credential.iterations}`;
    this.state = 'final';
    return { response: Buffer.from(this.serverFirst, 'utf8') };
  }

  private final(text: string): SaslStep {
    this.state = 'done';
    const m = /^(c=([^,]*),r=([^,]*)(?:,[A-Za-z][A-Za-z0-9]*=[^,]*)*),p=([A-Za-z0-9+/=]+)$/.exec(text);
    if (m === null) throw malformed('the final SCRAM message is not c=binding,r=nonce,p=proof');
    if (Buffer.from(m[2]!, 'base64').toString('utf8') !== this.gs2Header) throw malformed('the channel binding (c=) does not repeat the first message\'s gs2 header');
    // As Kafka's ScramSaslServer: the nonce must end with the server's. librdkafka before 2.1
    // puts its own nonce in front of the whole server nonce again, and Kafka accepts that.
    if (!m[3]!.endsWith(this.nonce)) throw malformed('the nonce of the final message is not the one the server sent');
    const proof = Buffer.from(m[4]!, 'base64');
    const t = this.t;
    const c = this.credential!;
    if (proof.length !== t.size) throw malformed(`the proof is ${proof.length} bytes, not ${t.size}`);
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${m[1]}`;
    const signature = hmac(t, c.storedKey, authMessage);
    const clientKey = Buffer.allocUnsafe(t.size);
    for (let i = 0; i < t.size; i++) clientKey[i] = proof[i]! ^ signature[i]!;
    const stored = createHash(t.hash).update(clientKey).digest();
    if (!timingSafeEqual(stored, c.storedKey) || !this.known) {
      throw new SaslFailure(badCredentialsMessage(t.name), this.known ? 'bad_credentials' : 'unknown_user');
    }
    const serverSignature = hmac(t, c.serverKey, authMessage);
    return { response: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'), principal: `User:${this.user}` };
  }
}

export class ScramMechanism implements SaslMechanism {
  readonly name: string;
  constructor(
    private readonly t: ScramType,
    private readonly credentials: ScramCredentialSource,
  ) {
    this.name = t.name;
  }

  start(): SaslExchange {
    return new ScramExchange(this.t, this.credentials);
  }
}
