// SaslAuthenticate (key 36), v0-2: one step of the SASL exchange SaslHandshake started. The
// client's authBytes go to the mechanism's exchange; its answer comes back as authBytes. On
// the step that names the principal the session is authenticated, and v1+ answers the
// session's lifetime (KIP-368): the smaller of connections.max.reauth.ms and the credential's
// own lifetime (0: none). A re-authentication must name the same principal.
//
// A failure answers SASL_AUTHENTICATION_FAILED with the mechanism's message (what to check,
// never whether the user exists) after connection.failed.authentication.delay.ms (a timer:
// nothing else waits), then the connection is closed once that answer is written. Each
// outcome is counted (rivulet_sasl_authentications_total, rivulet_authentication_failures_total)
// and failures are logged at most once a second per kind.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { SaslAuthenticateRequest, SaslAuthenticateResponse } from '../../protocol/generated/sasl-authenticate.js';
import { saslAuthenticateServer } from '../../protocol/generated/sasl-authenticate.js';
import { ErrorCode } from '../../protocol/errors.js';
import { SaslFailure, type SaslStep } from '../sasl/mechanism.js';

const NO_BYTES = Buffer.alloc(0);

function answer(errorCode: number, errorMessage: string | null, authBytes: Buffer, sessionLifetimeMs: number): SaslAuthenticateResponse {
  return { errorCode, errorMessage, authBytes, sessionLifetimeMs };
}

/** ILLEGAL_SASL_STATE, then close: the client does not follow the protocol. */
function illegal(ctx: RequestContext, message: string): SaslAuthenticateResponse {
  ctx.session.closeAfterResponses = true;
  ctx.session.saslExchange = null;
  ctx.throttledLog.warn('sasl:illegal_state', 'SASL refused: out of order', { remote: ctx.session.remote, listener: ctx.session.listener, reason: message });
  return answer(ErrorCode.ILLEGAL_SASL_STATE, message, NO_BYTES, 0);
}

function delay(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

async function failed(ctx: RequestContext, mechanism: string, f: SaslFailure, reauth: boolean): Promise<SaslAuthenticateResponse> {
  const s = ctx.session;
  s.closeAfterResponses = true;
  s.authenticated = false;
  ctx.metrics.saslAuthenticated(s.listener, mechanism, 'failure');
  ctx.metrics.authenticationFailed(s.listener, mechanism, f.reason);
  ctx.throttledLog.warn(`sasl:${f.reason}`, reauth ? 'SASL re-authentication failed' : 'SASL authentication failed', { remote: s.remote, listener: s.listener, mechanism, reason: f.reason, message: f.message });
  await delay(ctx.config.connectionFailedAuthenticationDelayMs);
  return answer(ErrorCode.SASL_AUTHENTICATION_FAILED, f.message, NO_BYTES, 0);
}

/** KIP-368, as Kafka's SaslServerAuthenticator computes it: 0 when neither limit applies. */
function sessionLifetime(maxReauthMs: number, credentialMs: number | undefined): number {
  if (credentialMs === undefined) return maxReauthMs > 0 ? maxReauthMs : 0;
  const c = Math.max(0, Math.floor(credentialMs));
  return maxReauthMs > 0 ? Math.min(c, maxReauthMs) : c;
}

async function handle(ctx: RequestContext, req: SaslAuthenticateRequest): Promise<SaslAuthenticateResponse> {
  const s = ctx.session;
  if (!s.sasl) {
    // As SaslHandshake there: an answer the client can show, and the connection stays open.
    return answer(ErrorCode.ILLEGAL_SASL_STATE, `SaslAuthenticate on listener ${s.listener}, which is ${s.securityProtocol} and takes no SASL; configure the client with security.protocol=${s.securityProtocol}`, NO_BYTES, 0);
  }
  const exchange = s.saslExchange;
  if (exchange === null) return illegal(ctx, 'SaslAuthenticate without a SaslHandshake first (or after the exchange ended); the client must send SaslHandshake with its mechanism before SaslAuthenticate');
  if (s.saslStepping) return illegal(ctx, 'SaslAuthenticate while the previous one is unanswered; SASL steps go one at a time');
  const mechanism = s.saslMechanism!;
  const reauth = s.authenticated;
  s.saslStepping = true;
  let step: SaslStep;
  try {
    step = await exchange.step(req.authBytes);
  } catch (e) {
    s.saslStepping = false;
    s.saslExchange = null;
    if (e instanceof SaslFailure) return failed(ctx, mechanism, e, reauth);
    ctx.logger.error('SASL mechanism failed', { mechanism, remote: s.remote, error: e, stack: (e as Error).stack });
    return failed(ctx, mechanism, new SaslFailure(`Authentication failed: the broker could not check the ${mechanism} credentials (an error of the broker, logged there); try again, and report it if it persists`, 'other'), reauth);
  }
  s.saslStepping = false;
  if (s.closed) return answer(ErrorCode.SASL_AUTHENTICATION_FAILED, 'connection closed', NO_BYTES, 0);
  if (step.principal === undefined) return answer(ErrorCode.NONE, null, step.response, 0);
  s.saslExchange = null;
  if (reauth && step.principal !== s.principal) {
    return failed(ctx, mechanism, new SaslFailure(`Authentication failed: re-authentication as ${step.principal} on a connection of ${s.principal}; a connection keeps its principal, open a new connection to act as another user`, 'principal_changed'), reauth);
  }
  const lifetime = sessionLifetime(ctx.config.connectionsMaxReauthMs, step.lifetimeMs);
  s.principal = step.principal;
  s.authenticated = true;
  s.expiresAt = lifetime > 0 ? performance.now() + lifetime : 0;
  ctx.metrics.saslAuthenticated(s.listener, mechanism, reauth ? 'reauthentication' : 'success');
  ctx.logger.debug(reauth ? 'SASL re-authenticated' : 'SASL authenticated', { remote: s.remote, listener: s.listener, mechanism, principal: s.principal, sessionLifetimeMs: lifetime });
  return answer(ErrorCode.NONE, null, step.response, lifetime);
}

export const saslAuthenticate: HandlerEntry<SaslAuthenticateRequest, SaslAuthenticateResponse> = { codec: saslAuthenticateServer, minVersion: 0, maxVersion: 2, handle };
