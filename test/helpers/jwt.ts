// JWTs signed at test time with node:crypto alone (not with the library the broker verifies
// with), and the JWKS that holds their public keys: what an identity provider would issue.

import { createHmac, constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export type Alg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA';

export interface SigningKey {
  kid: string;
  alg: Alg;
  privateKey: KeyObject;
  /** The public key as a JWK with kid, alg and use. */
  jwk: Record<string, unknown>;
}

export function makeSigningKey(kid: string, alg: Alg = 'RS256'): SigningKey {
  const pair = alg === 'EdDSA'
    ? generateKeyPairSync('ed25519')
    : alg.startsWith('ES')
      ? generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...(pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid, alg, use: 'sig' };
  return { kid, alg, privateKey: pair.privateKey, jwk };
}

export function jwksOf(...keys: SigningKey[]): string {
  return JSON.stringify({ keys: keys.map((k) => k.jwk) });
}

const b64u = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** Signs `claims` as a JWS compact token with `key`; `header` adds to or overrides alg/kid/typ. */
export function signJwt(key: SigningKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const h = { alg: key.alg, typ: 'JWT', kid: key.kid, ...header };
  const input = `${b64u(JSON.stringify(h))}.${b64u(JSON.stringify(claims))}`;
  const hash = `sha${key.alg.slice(2)}`;
  let sig: Buffer;
  if (key.alg === 'EdDSA') sig = sign(null, Buffer.from(input), key.privateKey);
  else if (key.alg.startsWith('ES')) sig = sign(hash, Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  else if (key.alg.startsWith('PS')) sig = sign(hash, Buffer.from(input), { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(key.alg.slice(2)) / 8 });
  else sig = sign(hash, Buffer.from(input), key.privateKey);
  return `${input}.${b64u(sig)}`;
}

/** An unsigned token (alg none). */
export function unsignedJwt(claims: Record<string, unknown>, kid?: string): string {
  return `${b64u(JSON.stringify({ alg: 'none', typ: 'JWT', ...(kid ? { kid } : {}) }))}.${b64u(JSON.stringify(claims))}.`;
}

/** An HS256 token whose secret is `secret` (the key-confusion attack uses the public key's bytes). */
export function hmacJwt(secret: Buffer | string, claims: Record<string, unknown>, kid?: string): string {
  const input = `${b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT', ...(kid ? { kid } : {}) }))}.${b64u(JSON.stringify(claims))}`;
  return `${input}.${b64u(createHmac('sha256', secret).update(input).digest())}`;
}

/** Standard claims around `nowMs`: sub, iss, aud, iat now, exp in `lifetimeS` seconds. */
export function claimsAt(nowMs: number, over: Record<string, unknown> = {}, lifetimeS = 3600): Record<string, unknown> {
  const now = Math.floor(nowMs / 1000);
  return { sub: 'alice', iss: 'https://idp.test', aud: 'rivulet', iat: now, exp: now + lifetimeS, scope: 'kafka', ...over };
}

/** The OAUTHBEARER client initial response (RFC 7628) carrying `token`. */
export function clientMessage(token: string, opts: { authzid?: string; extensions?: Record<string, string> } = {}): Buffer {
  const ext = Object.entries(opts.extensions ?? {}).map(([k, v]) => `${k}=${v}\x01`).join('');
  return Buffer.from(`n,${opts.authzid ? `a=${opts.authzid}` : ''},\x01auth=Bearer ${token}\x01${ext}\x01`);
}
