// PLAIN (RFC 4616): one message, "authzid NUL authcid NUL password". The password is checked
// against the user's SCRAM credential (SCRAM-SHA-512, else SCRAM-SHA-256): PBKDF2 with the
// stored salt and iterations (on libuv's thread pool), the stored key compared in constant
// time. So one user store serves PLAIN and SCRAM, and no password is ever stored; a user
// needs a SCRAM credential to log in with PLAIN. An unknown user costs the PBKDF2 a known one
// would (SCRAM-SHA-512 if any user has one, else SCRAM-SHA-256, with the iterations most
// common among the stored credentials) and fails with the same message. PBKDF2 passes the
// global gate in scram.ts: when it is full the login fails at once (reason 'busy').

import { SaslFailure, type SaslExchange, type SaslMechanism, type SaslStep } from './mechanism.js';
import { badCredentialsMessage, DEFAULT_SHAPE, fakeCredential, passwordMatches, Pbkdf2Busy, scramType, type ScramCredentialSource } from './scram.js';

const SHA512 = scramType('SCRAM-SHA-512')!;
const SHA256 = scramType('SCRAM-SHA-256')!;
/** Longest PLAIN message taken: a name and a password of 255 bytes each, and room to spare. */
const MAX_MESSAGE = 4096;

class PlainExchange implements SaslExchange {
  private done = false;
  constructor(private readonly credentials: ScramCredentialSource) {}

  async step(message: Buffer): Promise<SaslStep> {
    if (this.done) throw new SaslFailure('Authentication failed: PLAIN takes one message', 'malformed');
    this.done = true;
    if (message.length > MAX_MESSAGE) throw new SaslFailure(`Authentication failed: a PLAIN message of ${message.length} bytes (at most ${MAX_MESSAGE})`, 'malformed');
    const parts = message.toString('utf8').split('\0');
    if (parts.length !== 3) throw new SaslFailure('Authentication failed: the PLAIN message is not authzid NUL username NUL password', 'malformed');
    const [authzid, user, password] = parts as [string, string, string];
    if (user === '' || password === '') throw new SaslFailure('Authentication failed: the PLAIN username or password is empty; set both in the client\'s sasl.jaas.config (or sasl.username and sasl.password)', 'malformed');
    if (authzid !== '' && authzid !== user) {
      throw new SaslFailure('Authentication failed: the authorization id differs from the user name; Kafka does not let one user act as another', 'bad_credentials');
    }
    const sha512 = this.credentials.get(user, SHA512.name);
    const [t, c] = sha512 !== undefined ? [SHA512, sha512] : [SHA256, this.credentials.get(user, SHA256.name)];
    let ok: boolean;
    try {
      ok = await passwordMatches(c === undefined ? this.fakeType() : t, password, c ?? this.fake(user));
    } catch (e) {
      if (!(e instanceof Pbkdf2Busy)) throw e;
      throw new SaslFailure('Authentication failed: the broker is busy checking other passwords; try again shortly', 'busy');
    }
    if (c === undefined) throw new SaslFailure(badCredentialsMessage('PLAIN', 'a SCRAM-SHA-512 or SCRAM-SHA-256 credential, which PLAIN checks the password against'), 'unknown_user');
    if (!ok) throw new SaslFailure(badCredentialsMessage('PLAIN', 'a SCRAM-SHA-512 or SCRAM-SHA-256 credential, which PLAIN checks the password against'), 'bad_credentials');
    return { response: Buffer.alloc(0), principal: `User:${user}` };
  }

  /** The mechanism a real user's check would most likely use: SHA-512 if anyone has it. */
  private fakeType() {
    const s512 = this.credentials.shape?.(SHA512.name);
    return s512 === undefined || s512 !== DEFAULT_SHAPE || this.credentials.shape?.(SHA256.name) === DEFAULT_SHAPE ? SHA512 : SHA256;
  }

  private fake(user: string) {
    const t = this.fakeType();
    return fakeCredential(t, user, this.credentials.shape?.(t.name));
  }
}

export class PlainMechanism implements SaslMechanism {
  readonly name = 'PLAIN';
  constructor(private readonly credentials: ScramCredentialSource) {}

  start(): SaslExchange {
    return new PlainExchange(this.credentials);
  }
}
