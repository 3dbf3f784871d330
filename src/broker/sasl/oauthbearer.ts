// SASL OAUTHBEARER (RFC 7628) with JWT access tokens checked against the identity provider's
// JWKS, as Apache Kafka's broker does with OAuthBearerValidatorCallbackHandler (KIP-768).
//
// The client's one message (Kafka's OAuthBearerClientInitialResponse):
//   n,[a=<authzid>],\x01auth=Bearer <token>\x01[<key>=<value>\x01...]\x01
// where the key=value pairs after auth are SASL extensions (accepted and ignored, as Kafka's
// validator does). The token must be a JWS in compact form signed with an asymmetric
// algorithm by a key of the JWKS (chosen by the header's kid), carry exp and iat, and pass
// nbf, iss and aud checks with sasl.oauthbearer.clock.skew.seconds of tolerance. Its subject
// claim (sasl.oauthbearer.sub.claim.name) becomes the principal User:<sub>, and its remaining
// lifetime the session lifetime (KIP-368 re-authentication).
//
// A refused token fails the exchange at once (SASL_AUTHENTICATION_FAILED with the reason in the
// error message). Kafka's server instead answers {"status":"invalid_token"} as a challenge and
// fails only on the client's \x01 reply; the Java client and librdkafka cope with both, but
// kafkajs and @platformatic/kafka take that challenge as success and carry on unauthenticated,
// so failing at once is the answer every client reports as an authentication failure.
//
// Signature work is done by `jose`; this file chooses the key, decides which algorithms are
// acceptable and checks the claims itself, so every refusal says exactly what was wrong.

import { compactVerify, createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, type ProtectedHeaderParameters } from 'jose';
import type { Logger } from '../logger.js';
import { JwksSource, type JwksSnapshot } from './jwks.js';
import type { OAuthBearerConfig } from './oauthbearer-config.js';
import { SaslFailure, type SaslExchange, type SaslMechanism, type SaslStep } from './mechanism.js';

/** Asymmetric JWS algorithms only: never none, never HMAC (whose key would have to be shared with every client). */
export const ACCEPTED_ALGORITHMS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** A message past this is refused before it is parsed (tokens are a few kilobytes). */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Key ids longer than this are not looked up (and trigger no reload), as Kafka does. */
const MAX_KID_LENGTH = 1000;

const SYNTAX = 'n,[a=<authzid>],\\x01auth=Bearer <token>\\x01[<key>=<value>\\x01...]\\x01';
// RFC 7628 / Kafka's client initial response: the GS2 header, then key=value pairs each ended by \x01, then \x01.
const SASLNAME = '(?:[\\x01-\\x2B\\x2D-\\x3C\\x3E-\\x7F]|=2C|=3D)+';
const KEY = '[A-Za-z]+';
const VALUE = '[\\x21-\\x7E \\t\\r\\n]+';
const MESSAGE_RE = new RegExp(`^n,(?:a=(${SASLNAME}))?,\\x01((?:${KEY}=${VALUE}\\x01)*)\\x01$`);
const AUTH_RE = /^(\w+) +([-_~+/.a-zA-Z0-9]+=*)$/;

export interface ClientInitialResponse {
  token: string;
  /** '' when the client named none. */
  authzid: string;
  extensions: Map<string, string>;
}

/** Parses the client's message; throws SaslFailure('malformed') saying what is wrong. */
export function parseClientInitialResponse(message: Buffer): ClientInitialResponse {
  if (message.length > MAX_MESSAGE_BYTES) {
    throw new SaslFailure(`OAUTHBEARER message of ${message.length} bytes refused: it carries one token and may be at most ${MAX_MESSAGE_BYTES} bytes`, 'malformed');
  }
  if (message.length === 1 && message[0] === 0x01) {
    throw new SaslFailure('OAUTHBEARER message is a lone \\x01 (the answer to a server error), but no error was sent; start with the client\'s first message: ' + SYNTAX, 'malformed');
  }
  for (const b of message) {
    if (b > 0x7f) throw new SaslFailure(`OAUTHBEARER message is not ASCII; expected ${SYNTAX}`, 'malformed');
  }
  const text = message.toString('latin1');
  const m = MESSAGE_RE.exec(text);
  if (!m) {
    throw new SaslFailure(`OAUTHBEARER message does not have the form ${SYNTAX} (RFC 7628)`, 'malformed');
  }
  const authzid = (m[1] ?? '').replace(/=2C|=3D/g, (e) => (e === '=2C' ? ',' : '='));
  const pairs = new Map<string, string>();
  for (const kv of m[2]!.split('\x01')) {
    if (kv === '') continue;
    const eq = kv.indexOf('=');
    const key = kv.slice(0, eq);
    if (pairs.has(key)) throw new SaslFailure(`OAUTHBEARER message names ${shown(key)} twice; each key may appear once`, 'malformed');
    pairs.set(key, kv.slice(eq + 1));
  }
  const auth = pairs.get('auth');
  if (auth === undefined) throw new SaslFailure(`OAUTHBEARER message has no auth=Bearer <token>; expected ${SYNTAX}`, 'malformed');
  pairs.delete('auth');
  const a = AUTH_RE.exec(auth);
  if (!a) throw new SaslFailure('OAUTHBEARER auth value is not "Bearer <token>" with a token of base64url characters and dots', 'malformed');
  if (a[1]!.toLowerCase() !== 'bearer') throw new SaslFailure(`OAUTHBEARER auth scheme is "${a[1]!.slice(0, 40)}"; only Bearer is accepted`, 'malformed');
  return { token: a[2]!, authzid, extensions: pairs };
}

/** What a valid token says. */
export interface ValidToken {
  /** The subject claim's value (the principal is User:<subject>). */
  subject: string;
  scopes: string[];
  /** exp in epoch milliseconds. */
  expiresAtMs: number;
}

/** Shown in messages: a value the client sent, cut short; a string JSON-quoted, anything else as JSON. */
function shown(v: unknown): string {
  const cut = (s: string): string => (s.length > 100 ? s.slice(0, 100) + '...' : s);
  return typeof v === 'string' ? JSON.stringify(cut(v)) : cut(JSON.stringify(v) ?? String(v));
}

const iso = (ms: number): string => (Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms));

export interface OAuthBearerOptions {
  /** Epoch milliseconds now (tests move it). */
  now?: () => number;
}

/**
 * Checks tokens against the configured JWKS. One per broker: start() begins loading the keys
 * (never throws; a failed load is logged and retried), stop() ends the refresh schedule.
 */
export class OAuthBearerValidator {
  private readonly jwksSource: JwksSource;
  private keySet: ReturnType<typeof createLocalJWKSet> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly cfg: OAuthBearerConfig,
    private readonly logger: Logger,
    opts: OAuthBearerOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.jwksSource = new JwksSource(
      { url: cfg.jwksEndpointUrl, refreshMs: cfg.jwksEndpointRefreshMs, retryBackoffMs: cfg.jwksEndpointRetryBackoffMs, retryBackoffMaxMs: cfg.jwksEndpointRetryBackoffMaxMs },
      logger,
      (s: JwksSnapshot) => void (this.keySet = createLocalJWKSet(s.jwks)),
    );
  }

  start(): Promise<void> {
    return this.jwksSource.start();
  }

  stop(): void {
    this.jwksSource.stop();
  }

  /** Resolves the token's claims, or throws SaslFailure with the reason; never throws anything else. */
  async validate(token: string): Promise<ValidToken> {
    try {
      return await this.check(token);
    } catch (e) {
      if (e instanceof SaslFailure) throw e;
      this.logger.warn('OAUTHBEARER: unexpected error while checking a token', { error: e as Error });
      throw new SaslFailure(`OAUTHBEARER token could not be checked: ${(e as Error)?.message ?? String(e)}`, 'invalid_token');
    }
  }

  private async check(token: string): Promise<ValidToken> {
    if (this.jwksSource.snapshot === undefined) {
      throw new SaslFailure('OAUTHBEARER token cannot be checked: the broker could not load the JWKS (the identity provider\'s signing keys) from sasl.oauthbearer.jwks.endpoint.url; the broker log says why, and tokens are accepted once it loads', 'other');
    }
    if (token.split('.').length !== 3) {
      throw new SaslFailure('OAUTHBEARER token is not a signed JWT (JWS compact form: header.payload.signature); give the access token the identity provider issued', 'invalid_token');
    }
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch (e) {
      throw new SaslFailure(`OAUTHBEARER token header cannot be read: ${(e as Error).message}`, 'invalid_token');
    }
    const alg = header.alg;
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none') {
      throw new SaslFailure('OAUTHBEARER token is unsigned (alg none); only tokens signed with a key of the JWKS are accepted', 'invalid_token');
    }
    if (/^HS\d+$/i.test(alg)) {
      throw new SaslFailure(`OAUTHBEARER token is signed with ${alg} (a shared secret); the broker verifies tokens with the identity provider's public keys only: have it sign with RS256 or ES256`, 'invalid_token');
    }
    if (!ACCEPTED_ALGORITHMS.includes(alg)) {
      throw new SaslFailure(`OAUTHBEARER token algorithm ${shown(alg)} is not accepted; accepted: ${ACCEPTED_ALGORITHMS.join(', ')}`, 'invalid_token');
    }
    const kid = header.kid;
    if (kid !== undefined && typeof kid !== 'string') throw new SaslFailure('OAUTHBEARER token header kid is not a string', 'invalid_token');
    if (kid !== undefined) {
      if (kid.length > MAX_KID_LENGTH) throw new SaslFailure(`OAUTHBEARER token header kid is ${kid.length} characters long; no JWKS key has such an id`, 'invalid_token');
      if (!this.jwksSource.snapshot.kids.has(kid)) {
        // Key rotation: the provider may have published a key since the last load.
        await this.jwksSource.reloadForUnknownKid(kid);
        if (!this.jwksSource.snapshot.kids.has(kid)) {
          throw new SaslFailure(`OAUTHBEARER token is signed with key id ${shown(kid)}, which the JWKS of sasl.oauthbearer.jwks.endpoint.url does not hold (even after a reload); check that the broker and the client use the same identity provider`, 'invalid_token');
        }
      }
    }
    let payloadBytes: Uint8Array;
    try {
      ({ payload: payloadBytes } = await compactVerify(token, this.keySet!, { algorithms: [...ACCEPTED_ALGORITHMS] }));
    } catch (e) {
      throw new SaslFailure(this.explainVerifyError(e, alg, kid), 'invalid_token');
    }
    let claims: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(payloadBytes).toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
      claims = parsed as Record<string, unknown>;
    } catch (e) {
      throw new SaslFailure(`OAUTHBEARER token payload is not a JSON object of claims (${(e as Error).message})`, 'invalid_token');
    }
    return this.checkClaims(claims);
  }

  private explainVerifyError(e: unknown, alg: string, kid: string | undefined): string {
    const which = kid === undefined ? `alg ${alg} (the token names no kid)` : `kid ${shown(kid)} and alg ${alg}`;
    if (e instanceof joseErrors.JWSSignatureVerificationFailed) return `OAUTHBEARER token signature does not verify with the JWKS key of ${which}; the token was altered or signed by another key`;
    if (e instanceof joseErrors.JWKSNoMatchingKey) return `OAUTHBEARER token: no key of the JWKS fits ${which} (a key's kty, alg or use must match the token's algorithm)`;
    if (e instanceof joseErrors.JWKSMultipleMatchingKeys) return `OAUTHBEARER token names no kid and several JWKS keys fit alg ${alg}; the identity provider must put kid in the token header`;
    if (e instanceof joseErrors.JOSEError) return `OAUTHBEARER token refused: ${e.message}`;
    return `OAUTHBEARER token could not be verified: ${(e as Error)?.message ?? String(e)}`;
  }

  private checkClaims(claims: Record<string, unknown>): ValidToken {
    const now = this.now();
    const skewMs = this.cfg.clockSkewSeconds * 1000;
    const skewNote = `sasl.oauthbearer.clock.skew.seconds is ${this.cfg.clockSkewSeconds}`;
    const numeric = (name: string, required: boolean): number | undefined => {
      const v = claims[name];
      if (v === undefined) {
        if (required) throw new SaslFailure(`OAUTHBEARER token has no ${name} claim; it is required (as Kafka requires it)`, 'invalid_token');
        return undefined;
      }
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new SaslFailure(`OAUTHBEARER token claim ${name} is ${shown(v)}, not a number of seconds since 1970`, 'invalid_token');
      return v * 1000;
    };
    const exp = numeric('exp', true)!;
    if (now > exp + skewMs) {
      throw new SaslFailure(`OAUTHBEARER token expired at ${iso(exp)} (exp), ${Math.round((now - exp) / 1000)} s ago (${skewNote}); the client must fetch a fresh token`, 'expired_token');
    }
    const iat = numeric('iat', true)!;
    if (iat > now + skewMs) {
      throw new SaslFailure(`OAUTHBEARER token is issued in the future (iat ${iso(iat)}, ${Math.round((iat - now) / 1000)} s ahead; ${skewNote}); the clocks of the identity provider and the broker disagree`, 'invalid_token');
    }
    const nbf = numeric('nbf', false);
    if (nbf !== undefined && nbf > now + skewMs) {
      throw new SaslFailure(`OAUTHBEARER token is not valid before ${iso(nbf)} (nbf), ${Math.round((nbf - now) / 1000)} s from now (${skewNote})`, 'invalid_token');
    }
    if (this.cfg.expectedIssuer !== '' && claims.iss !== this.cfg.expectedIssuer) {
      const got = claims.iss === undefined ? 'has no iss claim' : `is issued by ${shown(claims.iss)} (iss)`;
      throw new SaslFailure(`OAUTHBEARER token ${got}; this broker accepts tokens of ${shown(this.cfg.expectedIssuer)} (sasl.oauthbearer.expected.issuer)`, 'wrong_issuer');
    }
    if (this.cfg.expectedAudience.length > 0) {
      const aud = claims.aud;
      const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
      if (!auds.some((a) => this.cfg.expectedAudience.includes(a))) {
        const got = aud === undefined ? 'has no aud claim' : `is for audience ${shown(aud)} (aud)`;
        throw new SaslFailure(`OAUTHBEARER token ${got}; this broker accepts the audience ${this.cfg.expectedAudience.map((a) => shown(a)).join(' or ')} (sasl.oauthbearer.expected.audience)`, 'wrong_audience');
      }
    }
    const subName = this.cfg.subClaimName;
    const sub = claims[subName];
    if (typeof sub !== 'string' || sub.trim() === '') {
      throw new SaslFailure(`OAUTHBEARER token has no subject: claim ${shown(subName)} (sasl.oauthbearer.sub.claim.name) is ${sub === undefined ? 'missing' : `${shown(sub)}, not a non-empty string`}`, 'invalid_token');
    }
    const scopeName = this.cfg.scopeClaimName;
    const scopeRaw = claims[scopeName];
    let scopes: string[] = [];
    if (typeof scopeRaw === 'string') scopes = scopeRaw.split(' ').filter((s) => s !== '');
    else if (Array.isArray(scopeRaw) && scopeRaw.every((s) => typeof s === 'string' && s.trim() !== '')) scopes = scopeRaw as string[];
    else if (scopeRaw !== undefined) {
      throw new SaslFailure(`OAUTHBEARER token claim ${shown(scopeName)} (sasl.oauthbearer.scope.claim.name) is ${shown(scopeRaw)}; a scope is a space-separated string or a list of non-empty strings`, 'invalid_token');
    }
    return { subject: sub.trim(), scopes, expiresAtMs: exp };
  }

  /**
   * Milliseconds the session may last: until exp, as Kafka answers; a token accepted just past
   * exp (within the clock skew) gets until exp plus the skew, not 1 ms, so its client is not
   * made to re-authenticate on every request. At least 1 (0 means "no limit" in SaslAuthenticate).
   */
  lifetimeMs(t: ValidToken): number {
    const now = this.now();
    const until = now < t.expiresAtMs ? t.expiresAtMs : t.expiresAtMs + this.cfg.clockSkewSeconds * 1000;
    return Math.max(1, Math.floor(until - now));
  }
}

/** The OAUTHBEARER mechanism for the broker's registry. */
export class OAuthBearerMechanism implements SaslMechanism {
  readonly name = 'OAUTHBEARER';

  constructor(readonly validator: OAuthBearerValidator) {}

  start(): SaslExchange {
    return new OAuthBearerExchange(this.validator);
  }
}

class OAuthBearerExchange implements SaslExchange {
  private done = false;

  constructor(private readonly validator: OAuthBearerValidator) {}

  async step(message: Buffer): Promise<SaslStep> {
    if (this.done) throw new SaslFailure('OAUTHBEARER takes one client message; this exchange is over', 'malformed');
    this.done = true;
    const msg = parseClientInitialResponse(message);
    const t = await this.validator.validate(msg.token);
    if (msg.authzid !== '' && msg.authzid !== t.subject) {
      throw new SaslFailure(`OAUTHBEARER authorization id ${shown(msg.authzid)} differs from the token's subject ${shown(t.subject)}; leave it out or make it the subject`, 'other');
    }
    return { response: Buffer.alloc(0), principal: `User:${t.subject}`, lifetimeMs: this.validator.lifetimeMs(t) };
  }
}
