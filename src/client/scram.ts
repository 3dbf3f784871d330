// SCRAM credentials over Kafka's admin APIs AlterUserScramCredentials (51) and
// DescribeUserScramCredentials (50). @platformatic/kafka's Admin has no method for them, but
// ships both APIs' codecs; they are sent over the Admin's own connection (so TLS and SASL
// apply). As Kafka's AdminClient does, the client picks the salt and sends
// SaltedPassword = PBKDF2-HMAC(password, salt, iterations): the password never leaves it.

import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { Admin, kGetApi, kGetConnection } from '@platformatic/kafka';
import { ClientError, ClientErrorCode } from './errors.js';

/** Kafka's ScramMechanism ids on the wire. */
export const ScramMechanismIds = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 } as const;
export type ScramMechanismName = keyof typeof ScramMechanismIds;
export const SCRAM_MECHANISMS = Object.keys(ScramMechanismIds) as ScramMechanismName[];
/** Kafka refuses fewer than 4096 and more than 16384 iterations (UNACCEPTABLE_CREDENTIAL). */
export const MIN_ITERATIONS = 4096;
export const MAX_ITERATIONS = 16384;

export function scramMechanismName(id: number): string {
  return (Object.entries(ScramMechanismIds).find(([, v]) => v === id)?.[0]) ?? `UNKNOWN(${id})`;
}

export function parseScramMechanism(v: string, name = 'mechanism'): ScramMechanismName {
  const u = v.trim().toUpperCase();
  if (!(u in ScramMechanismIds)) {
    throw new ClientError(`${name} must be SCRAM-SHA-256 or SCRAM-SHA-512, not "${v}"${u === 'PLAIN' ? ' (PLAIN users are not stored by the cluster: the broker checks them against its own configuration)' : ''}.`, { code: ClientErrorCode.invalidArgument });
  }
  return u as ScramMechanismName;
}

/** What AlterUserScramCredentials carries for one user and mechanism (RFC 5802 Hi() = PBKDF2). */
export function scramUpsertion(user: string, mechanism: ScramMechanismName, password: string, iterations: number, salt: Buffer = randomBytes(32)): { name: string; mechanism: number; iterations: number; salt: Buffer; saltedPassword: Buffer } {
  const hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
  const saltedPassword = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, hash === 'sha256' ? 32 : 64, hash);
  return { name: user, mechanism: ScramMechanismIds[mechanism], iterations, salt, saltedPassword };
}

type Callback<T> = (e: Error | null, r?: T) => void;
type ApiFn = (connection: unknown, ...args: unknown[]) => void;

/** Sends one admin API the library implements but does not wrap, to the controller (any broker on a single-node cluster). */
export async function sendAdminApi<T>(admin: Admin, name: string, ...args: unknown[]): Promise<T> {
  const cluster = await admin.metadata({ topics: [] });
  const broker = cluster.brokers.get(cluster.controllerId) ?? [...cluster.brokers.values()][0];
  if (!broker) throw new ClientError('the cluster reported no brokers.', { code: ClientErrorCode.unexpectedAnswer });
  const self = admin as unknown as Record<symbol, (...a: unknown[]) => void>;
  const connection = await new Promise<unknown>((res, rej) => self[kGetConnection]!.call(admin, broker, ((e, c) => (e ? rej(e) : res(c))) as Callback<unknown>));
  const api = await new Promise<ApiFn>((res, rej) => self[kGetApi]!.call(admin, name, ((e, a) => (e ? rej(e) : res(a as ApiFn))) as Callback<unknown>));
  return new Promise<T>((res, rej) => api(connection, ...args, ((e, r) => (e ? rej(e) : res(r as T))) as Callback<T>));
}

export interface ScramUser {
  user: string;
  credentials: Array<{ mechanism: string; iterations: number }>;
}

interface DescribeResponse {
  results: Array<{ user: string; errorCode: number; errorMessage: string | null; credentialInfos: Array<{ mechanism: number; iterations: number }> }>;
}

/** Users with SCRAM credentials (all of them, or the ones named), sorted by name, each's credentials by mechanism. */
export async function describeScramUsers(admin: Admin, users: string[] = []): Promise<ScramUser[]> {
  const r = await sendAdminApi<DescribeResponse>(admin, 'DescribeUserScramCredentials', users.map((name) => ({ name })));
  return r.results
    .map((x) => ({ user: x.user, credentials: x.credentialInfos.map((c) => ({ mechanism: scramMechanismName(c.mechanism), iterations: c.iterations })).sort((a, b) => a.mechanism.localeCompare(b.mechanism)) }))
    .sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
}

/** Creates or replaces one user's credential for one mechanism. */
export async function upsertScramCredential(admin: Admin, user: string, mechanism: ScramMechanismName, password: string, iterations: number): Promise<void> {
  await sendAdminApi(admin, 'AlterUserScramCredentials', [], [scramUpsertion(user, mechanism, password, iterations)]);
}

/** Deletes one user's credentials of the given mechanisms. */
export async function deleteScramCredentials(admin: Admin, user: string, mechanisms: ScramMechanismName[]): Promise<void> {
  await sendAdminApi(admin, 'AlterUserScramCredentials', mechanisms.map((m) => ({ name: user, mechanism: ScramMechanismIds[m] })), []);
}
