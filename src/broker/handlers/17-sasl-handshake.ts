// SaslHandshake (key 17), v0-1. Authentication is not implemented yet: the one listener is
// PLAINTEXT and enables no SASL mechanism. A client configured for SASL still asks for its
// mechanism, and gets what Kafka answers when that mechanism is not enabled:
// UNSUPPORTED_SASL_MECHANISM with the (empty) list of enabled mechanisms, which clients
// report as an error naming the mechanism, instead of a closed connection they retry
// silently. The connection stays open; the client closes it.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { SaslHandshakeRequest, SaslHandshakeResponse } from '../../protocol/generated/sasl-handshake.js';
import { ErrorCode } from '../../protocol/errors.js';
import { saslHandshakeServer } from '../../protocol/generated/sasl-handshake.js';

const NO_MECHANISMS: SaslHandshakeResponse = Object.freeze({ errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: [] as string[] }) as SaslHandshakeResponse;

function handle(ctx: RequestContext, req: SaslHandshakeRequest): SaslHandshakeResponse {
  // Once per connection: a client that keeps asking on one connection must not flood the log.
  const first = ctx.session.saslMechanism === null;
  ctx.session.saslMechanism = req.mechanism;
  if (!first) return NO_MECHANISMS;
  ctx.logger.warn('SASL refused: authentication is not supported yet', {
    remote: ctx.session.remote,
    mechanism: req.mechanism,
    reason: `listener ${ctx.session.listener} is PLAINTEXT and enables no SASL mechanism; configure the client with security.protocol=PLAINTEXT`,
  });
  return NO_MECHANISMS;
}

export const saslHandshake: HandlerEntry<SaslHandshakeRequest, SaslHandshakeResponse> = { codec: saslHandshakeServer, minVersion: 0, maxVersion: 1, handle };
