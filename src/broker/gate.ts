// The one place a request is admitted or refused before it reaches its handler.
//
// On a PLAINTEXT or SSL listener every session is authenticated from the start, so every
// request passes at the cost of one field read. On a SASL listener a session that has not
// authenticated may use only ApiVersions, SaslHandshake and SaslAuthenticate; anything else
// closes the connection, as Kafka does. Once a session's lifetime is over (KIP-368,
// connections.max.reauth.ms), only a re-authentication (SaslHandshake, then SaslAuthenticate)
// may go on; anything else closes the connection, as Kafka does. Authorization of individual
// resources (ACLs) happens inside handlers, through ctx.session.principal, because only they
// know which resources a request names.

import type { Session } from './session.js';

const API_VERSIONS = 18;
const SASL_HANDSHAKE = 17;
const SASL_AUTHENTICATE = 36;

/** Why a request was refused: a metric label and a message for the log. */
export interface Refusal {
  readonly reason: 'unauthenticated' | 'session_expired';
  readonly message: string;
}

/** Null when the request may be dispatched; otherwise why the connection is closed. */
export function refusal(session: Session, apiKey: number): Refusal | null {
  if (session.authenticated) {
    if (session.expiresAt === 0 || apiKey === SASL_HANDSHAKE || apiKey === SASL_AUTHENTICATE || performance.now() < session.expiresAt) return null;
    return {
      reason: 'session_expired',
      message: `API key ${apiKey} after the SASL session of ${session.principal} expired on listener ${session.listener} (connections.max.reauth.ms); the client must re-authenticate (KIP-368: the Java client 2.2+, librdkafka 2.2+, kafkajs and @platformatic/kafka do it by themselves; others reconnect)`,
    };
  }
  if (apiKey === API_VERSIONS || apiKey === SASL_HANDSHAKE || apiKey === SASL_AUTHENTICATE) return null;
  return {
    reason: 'unauthenticated',
    message: `API key ${apiKey} before authentication on SASL listener ${session.listener}; configure the client with security.protocol=${session.securityProtocol}, sasl.mechanism and its credentials`,
  };
}
