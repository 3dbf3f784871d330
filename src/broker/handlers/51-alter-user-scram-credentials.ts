// AlterUserScramCredentials (key 51), v0: sets or removes users' SCRAM credentials, as
// kafka-configs --alter --entity-type users --add-config 'SCRAM-SHA-512=[iterations=8192,password=...]'
// (or --delete-config SCRAM-SHA-512) and Admin.alterUserScramCredentials send it. The client
// salts the password; the broker keeps the salt, the iterations and the stored and server
// keys derived from the salted password, never the password.
//
// Validation as Kafka's ScramControlManager does it, per user (one result per user; a user
// with an error has none of its changes applied): one change per user per request
// (DUPLICATE_RESOURCE), a known mechanism (UNSUPPORTED_SASL_MECHANISM), a name
// (UNACCEPTABLE_CREDENTIAL), iterations within 4096..16384 (UNACCEPTABLE_CREDENTIAL), and a
// deletion of a credential that exists (RESOURCE_NOT_FOUND). The accepted changes are written
// to disk (fsynced) before the answer; a failed write answers KAFKA_STORAGE_ERROR for them.
//
// Authorization: ALTER on CLUSTER, else CLUSTER_AUTHORIZATION_FAILED for every user named.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, AlterUserScramCredentialsResponseAlterUserScramCredentialsResult } from '../../protocol/generated/alter-user-scram-credentials.js';
import { alterUserScramCredentialsServer } from '../../protocol/generated/alter-user-scram-credentials.js';
import { ErrorCode } from '../../protocol/errors.js';
import { credentialFromSalted, MAX_ITERATIONS, MIN_ITERATIONS, scramTypeByCode } from '../sasl/scram.js';
import type { CredentialChange } from '../sasl/credentials.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

type Result = AlterUserScramCredentialsResponseAlterUserScramCredentialsResult;

function error(user: string, errorCode: number, errorMessage: string): Result {
  return { user, errorCode, errorMessage };
}

async function handle(ctx: RequestContext, req: AlterUserScramCredentialsRequest): Promise<AlterUserScramCredentialsResponse> {
  if (!ctx.authorize(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) {
    const users = [...new Set([...req.deletions.map((d) => d.name), ...req.upsertions.map((u) => u.name)])];
    return { throttleTimeMs: 0, results: users.map((u) => error(u, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'AlterUserScramCredentials needs ALTER on the cluster')) };
  }
  const errors = new Map<string, Result>();
  const changes = new Map<string, CredentialChange>();
  const duplicate = (user: string): void => {
    changes.delete(user);
    errors.set(user, error(user, ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request; send one change per user'));
  };
  for (const d of req.deletions) {
    if (errors.has(d.name)) continue;
    if (changes.has(d.name)) {
      duplicate(d.name);
      continue;
    }
    const t = scramTypeByCode(d.mechanism);
    if (t === undefined) errors.set(d.name, error(d.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, `Unknown SCRAM mechanism ${d.mechanism}: use 1 (SCRAM-SHA-256) or 2 (SCRAM-SHA-512)`));
    else if (d.name === '') errors.set(d.name, error(d.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty'));
    else if (ctx.scramCredentials.get(d.name, t.name) === undefined) errors.set(d.name, error(d.name, ErrorCode.RESOURCE_NOT_FOUND, `Attempt to delete a user credential that does not exist: ${t.name} of ${d.name}`));
    else changes.set(d.name, { user: d.name, mechanism: t.name, credential: null });
  }
  for (const u of req.upsertions) {
    if (errors.has(u.name)) continue;
    if (changes.has(u.name)) {
      duplicate(u.name);
      continue;
    }
    const t = scramTypeByCode(u.mechanism);
    if (t === undefined) errors.set(u.name, error(u.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, `Unknown SCRAM mechanism ${u.mechanism}: use 1 (SCRAM-SHA-256) or 2 (SCRAM-SHA-512)`));
    else if (u.name === '') errors.set(u.name, error(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty'));
    else if (u.iterations < MIN_ITERATIONS) errors.set(u.name, error(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too few iterations: ${u.iterations}, at least ${MIN_ITERATIONS}`));
    else if (u.iterations > MAX_ITERATIONS) errors.set(u.name, error(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too many iterations: ${u.iterations}, at most ${MAX_ITERATIONS}`));
    else if (u.salt.length === 0 || u.saltedPassword.length !== t.size) errors.set(u.name, error(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `A ${t.name} credential needs a salt and a salted password of ${t.size} bytes`));
    else changes.set(u.name, { user: u.name, mechanism: t.name, credential: credentialFromSalted(t, Buffer.from(u.salt), u.iterations, u.saltedPassword) });
  }
  const results: Result[] = [...errors.values()];
  if (changes.size > 0) {
    let stored: Result | null = null;
    try {
      await ctx.scramCredentials.alter([...changes.values()]);
    } catch (e) {
      ctx.logger.error('SCRAM credentials not stored', { error: (e as Error).message });
      stored = error('', ErrorCode.KAFKA_STORAGE_ERROR, `The credentials could not be written to the data directory: ${(e as Error).message}`);
    }
    for (const ch of changes.values()) {
      results.push(stored === null ? { user: ch.user, errorCode: ErrorCode.NONE, errorMessage: null } : { ...stored, user: ch.user });
      if (stored === null) ctx.logger.info(ch.credential === null ? 'SCRAM credential deleted' : 'SCRAM credential set', { user: ch.user, mechanism: ch.mechanism, principal: ctx.session.principal });
    }
  }
  return { throttleTimeMs: 0, results };
}

export const alterUserScramCredentials: HandlerEntry<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse> = { codec: alterUserScramCredentialsServer, minVersion: 0, maxVersion: 0, handle };
