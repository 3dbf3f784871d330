// SaslHandshake (key 17), v0-1. On a SASL listener (SASL_PLAINTEXT, SASL_SSL) it answers the
// mechanisms the listener enables and, when the one asked for is among them, starts its
// exchange, which SaslAuthenticate (key 36) then steps. A mechanism not enabled is answered
// UNSUPPORTED_SASL_MECHANISM with the enabled list and the connection closed after the
// response, as Kafka does (its authenticator fails the connection). An authenticated session
// may handshake again to re-authenticate (KIP-368) with the same mechanism; its requests go
// on meanwhile.
//
// v0 means raw SASL tokens follow outside Kafka's framing (clients before Kafka 1.0); that is
// refused with ILLEGAL_SASL_STATE: every current client uses v1 and SaslAuthenticate.
//
// On a PLAINTEXT or SSL listener nothing is enabled: UNSUPPORTED_SASL_MECHANISM with an empty
// list, which clients report as an error naming the mechanism, instead of a closed connection
// they retry silently. The connection stays open; the client closes it.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { SaslHandshakeRequest, SaslHandshakeResponse } from '../../protocol/generated/sasl-handshake.js';
import { ErrorCode } from '../../protocol/errors.js';
import { saslHandshakeServer } from '../../protocol/generated/sasl-handshake.js';

const NO_MECHANISMS: SaslHandshakeResponse = Object.freeze({ errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: [] as string[] }) as SaslHandshakeResponse;

function notSasl(ctx: RequestContext, req: SaslHandshakeRequest): SaslHandshakeResponse {
  // Once per connection: a client that keeps asking on one connection must not flood the log.
  if (ctx.session.saslRefused) return NO_MECHANISMS;
  ctx.session.saslRefused = true;
  ctx.throttledLog.warn('sasl:not_sasl_listener', 'SASL refused: the listener does not take SASL', {
    remote: ctx.session.remote,
    mechanism: req.mechanism.slice(0, 64),
    reason: `listener ${ctx.session.listener} is ${ctx.session.securityProtocol} and enables no SASL mechanism; configure the client with security.protocol=${ctx.session.securityProtocol}, or connect to a SASL_PLAINTEXT or SASL_SSL listener`,
  });
  return NO_MECHANISMS;
}

function handle(ctx: RequestContext, req: SaslHandshakeRequest): SaslHandshakeResponse {
  const s = ctx.session;
  if (!s.sasl) return notSasl(ctx, req);
  const enabled = ctx.saslMechanisms.of(s.listener);
  const mechanisms = [...enabled.keys()];
  if (ctx.version === 0) {
    ctx.throttledLog.warn('sasl:handshake_v0', 'SASL refused: SaslHandshake v0', { remote: s.remote, listener: s.listener, reason: 'SaslHandshake v0 sends raw SASL tokens, which this broker does not read; use a client that sends SaslAuthenticate (Kafka 1.0+ clients, librdkafka 1.0+)' });
    s.closeAfterResponses = true;
    return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
  }
  const mech = enabled.get(req.mechanism);
  if (mech === undefined) {
    ctx.metrics.authenticationFailed(s.listener, 'none', 'unsupported_mechanism');
    ctx.throttledLog.warn('sasl:unsupported_mechanism', 'SASL refused: mechanism not enabled', { remote: s.remote, listener: s.listener, reason: `the client asked for ${JSON.stringify(req.mechanism.slice(0, 64))}; listener ${s.listener} enables ${mechanisms.join(', ')} (sasl.enabled.mechanisms)` });
    s.closeAfterResponses = true;
    return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
  }
  if (s.saslExchange !== null || s.saslStepping) {
    // A handshake in the middle of an exchange: Kafka closes such a connection.
    s.closeAfterResponses = true;
    return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
  }
  if (s.authenticated && s.saslMechanism !== mech.name) {
    // KIP-368: a re-authentication keeps the mechanism.
    ctx.metrics.authenticationFailed(s.listener, mech.name, 'other');
    ctx.throttledLog.warn('sasl:reauth_mechanism', 'SASL re-authentication refused: mechanism changed', { remote: s.remote, listener: s.listener, principal: s.principal, reason: `the session logged in with ${s.saslMechanism} and re-authenticates with ${mech.name}; a re-authentication must use the same mechanism` });
    s.closeAfterResponses = true;
    return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
  }
  s.saslMechanism = mech.name;
  s.saslExchange = mech.start();
  return { errorCode: ErrorCode.NONE, mechanisms };
}

export const saslHandshake: HandlerEntry<SaslHandshakeRequest, SaslHandshakeResponse> = { codec: saslHandshakeServer, minVersion: 0, maxVersion: 1, handle };
