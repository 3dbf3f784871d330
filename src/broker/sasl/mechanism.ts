// What a SASL mechanism is to the broker: a factory of server-side exchanges, one per
// SaslHandshake. SaslAuthenticate hands each client message to the exchange's step(); the
// exchange answers the server's message and, on its last step, who the client is.
// A failure throws SaslFailure: its message goes to the client in SaslAuthenticate's
// errorMessage (SASL_AUTHENTICATION_FAILED), its reason labels the metric.

/** One step's outcome. */
export interface SaslStep {
  /** The server's message to the client (authBytes); empty when there is none. */
  readonly response: Buffer;
  /** Set on the step that completes authentication: `User:<name>`. */
  readonly principal?: string;
  /**
   * Set with principal when the credential itself expires (an OAUTHBEARER token's exp):
   * milliseconds it stays valid. The session lifetime answered is the smaller of this and
   * connections.max.reauth.ms (KIP-368).
   */
  readonly lifetimeMs?: number;
}

/** One client's authentication in progress. */
export interface SaslExchange {
  step(message: Buffer): SaslStep | Promise<SaslStep>;
}

export interface SaslMechanism {
  /** As SaslHandshake names it: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER. */
  readonly name: string;
  start(): SaslExchange;
  /** Releases what the mechanism holds (timers, such as OAUTHBEARER's JWKS refresh) when the broker stops. */
  close?(): void;
}

/** Why an authentication failed; a few fixed words, so the metric's label stays bounded. */
export type SaslFailureReason = 'malformed' | 'unknown_user' | 'bad_credentials' | 'invalid_token' | 'expired_token' | 'wrong_issuer' | 'wrong_audience' | 'principal_changed' | 'busy' | 'other';

export class SaslFailure extends Error {
  constructor(
    /**
     * Told to the client: what failed and, where it helps, what to check. The same text for an
     * unknown user and a wrong password; the exchange before it is shaped alike too (scram.ts,
     * plain.ts), as far as a per-process fake can be: a user's stored salt and iterations
     * (which a fake cannot know) and a restart (which changes a fake salt) can still tell.
     */
    message: string,
    readonly reason: SaslFailureReason,
  ) {
    super(message);
    this.name = 'SaslFailure';
  }
}
