// The one place a request is admitted or refused before it reaches its handler.
//
// Today every listener is PLAINTEXT and every session acts as User:ANONYMOUS, so every
// request passes. With SASL, a session that has not authenticated may use only
// ApiVersions, SaslHandshake and SaslAuthenticate; anything else closes the connection,
// as Kafka does. Authorization of individual resources (ACLs) happens inside handlers,
// through ctx.session.principal, because only they know which resources a request names.

import type { Session } from './session.js';

/** Null when the request may be dispatched; otherwise why the connection is closed. */
export function refusal(session: Session, apiKey: number): string | null {
  if (session.authenticated) return null;
  return `API key ${apiKey} before authentication on listener ${session.listener}`;
}
