// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) on the server side, as Kafka's
// ScramSaslServer speaks them: no channel binding (gs2 header "n,,", or "n,a=<user>,"),
// extensions in the client's first message (tokenauth=true asks for a delegation token,
// which this broker does not issue: refused), the final nonce ending with the server's (as
// Kafka checks it), the client's proof checked against the stored
// key in constant time. The credential math is here too (salted password to stored and
// server keys), for the store, PLAIN and `rivulet storage add-scram`.
//
// An unknown user goes through the same steps as a known one, with a salt derived from the
// name and a key no proof matches, and fails at the same step with the same message, so a
// client cannot tell whether a user exists.

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

/** Whether a password matches a credential: its stored key recomputed and compared in constant time. */
export async function passwordMatches(t: ScramType, password: string, c: ScramCredential): Promise<boolean> {
  const mine = credentialFromSalted(t, c.salt, c.iterations, await saltPassword(t, password, c.salt, c.iterations));
  return mine.storedKey.length === c.storedKey.length && timingSafeEqual(mine.storedKey, c.storedKey);
}

/** Per process: unknown users get a salt derived from their name with it, the same on every try. */
const FAKE_SECRET = randomBytes(32);

/** A credential no password matches, with a stable salt per name: unknown users look like known ones. */
export function fakeCredential(t: ScramType, user: string): ScramCredential {
  const salt = hmac(t, FAKE_SECRET, `${t.name}\0${user}`).subarray(0, 32);
  return { salt, iterations: MIN_ITERATIONS, storedKey: randomBytes(t.size), serverKey: randomBytes(t.size) };
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
    this.credential = stored ?? fakeCredential(this.t, user);
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
