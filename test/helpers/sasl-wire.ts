// A SCRAM and PLAIN client over the tests' WireClient (SaslHandshake v1 + SaslAuthenticate),
// for tests that need exact control of the SASL exchange: failures on purpose, floods,
// re-authentication on one connection, SCRAM credentials salted by hand for
// AlterUserScramCredentials.

import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { WireClient } from './wire-client.js';

export type ScramName = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export const scramHash = (m: ScramName): { hash: 'sha256' | 'sha512'; size: number; type: number } =>
  m === 'SCRAM-SHA-256' ? { hash: 'sha256', size: 32, type: 1 } : { hash: 'sha512', size: 64, type: 2 };

export interface SaslAnswer {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
  sessionLifetimeMs?: number;
}

/** Salted password as the client computes it for AlterUserScramCredentials. */
export function saltedPassword(m: ScramName, password: string, salt: Buffer, iterations: number): Buffer {
  const h = scramHash(m);
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, h.size, h.hash);
}

/**
 * A SCRAM login: SaslHandshake, client-first, client-final. `proof: 'random'` sends a proof of
 * the right length that cannot match (no PBKDF2 on the client: fast failures). Resolves with
 * the last SaslAuthenticate answer (or the first failing one).
 */
export async function scramLogin(c: WireClient, m: ScramName, user: string, password: string, opts: { version?: number; proof?: 'real' | 'random'; handshake?: boolean } = {}): Promise<SaslAnswer> {
  const version = opts.version ?? 1;
  if (opts.handshake !== false) {
    const hs = await c.request(ApiKey.SaslHandshake, 1, { mechanism: m });
    if (hs.errorCode !== 0) return { errorCode: hs.errorCode, errorMessage: `handshake: ${hs.mechanisms.join(',')}`, authBytes: Buffer.alloc(0) };
  }
  const nonce = randomBytes(16).toString('base64');
  const first = `n=${user},r=${nonce}`;
  const r1 = await c.request<SaslAnswer>(ApiKey.SaslAuthenticate, version, { authBytes: Buffer.from(`n,,${first}`) });
  if (r1.errorCode !== 0) return r1;
  const serverFirst = r1.authBytes.toString();
  const f = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)])) as Record<string, string>;
  const h = scramHash(m);
  const finalNoProof = `c=biws,r=${f.r}`;
  let proof: Buffer;
  if (opts.proof === 'random') {
    proof = randomBytes(h.size);
  } else {
    const salted = saltedPassword(m, password, Buffer.from(f.s!, 'base64'), Number(f.i));
    const clientKey = createHmac(h.hash, salted).update('Client Key').digest();
    const storedKey = createHash(h.hash).update(clientKey).digest();
    const sig = createHmac(h.hash, storedKey).update(`${first},${serverFirst},${finalNoProof}`).digest();
    proof = Buffer.alloc(h.size);
    for (let i = 0; i < h.size; i++) proof[i] = clientKey[i]! ^ sig[i]!;
  }
  return c.request<SaslAnswer>(ApiKey.SaslAuthenticate, version, { authBytes: Buffer.from(`${finalNoProof},p=${proof.toString('base64')}`) });
}

/** A PLAIN login: SaslHandshake, then the one message. */
export async function plainLogin(c: WireClient, user: string, password: string, version = 1): Promise<SaslAnswer> {
  const hs = await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' });
  if (hs.errorCode !== 0) return { errorCode: hs.errorCode, errorMessage: 'handshake', authBytes: Buffer.alloc(0) };
  return c.request<SaslAnswer>(ApiKey.SaslAuthenticate, version, { authBytes: Buffer.from(`\0${user}\0${password}`) });
}
