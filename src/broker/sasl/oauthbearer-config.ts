// The OAUTHBEARER settings under Kafka's names (sasl.oauthbearer.*, KIP-768) and their
// defaults. Kept apart from oauthbearer.ts so that reading settings never loads the JWT code.

/** What the OAUTHBEARER mechanism reads from the broker's configuration. */
export interface OAuthBearerConfig {
  /** sasl.oauthbearer.jwks.endpoint.url: https://, http:// or file:// ('' = not set). */
  jwksEndpointUrl: string;
  /** sasl.oauthbearer.jwks.endpoint.refresh.ms */
  jwksEndpointRefreshMs: number;
  /** sasl.oauthbearer.jwks.endpoint.retry.backoff.ms */
  jwksEndpointRetryBackoffMs: number;
  /** sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms */
  jwksEndpointRetryBackoffMaxMs: number;
  /** sasl.oauthbearer.clock.skew.seconds */
  clockSkewSeconds: number;
  /** sasl.oauthbearer.expected.issuer ('' = any issuer) */
  expectedIssuer: string;
  /** sasl.oauthbearer.expected.audience (empty = any audience) */
  expectedAudience: string[];
  /** sasl.oauthbearer.sub.claim.name */
  subClaimName: string;
  /** sasl.oauthbearer.scope.claim.name */
  scopeClaimName: string;
}

export function defaultOAuthBearerConfig(): OAuthBearerConfig {
  return {
    jwksEndpointUrl: '',
    jwksEndpointRefreshMs: 3_600_000,
    jwksEndpointRetryBackoffMs: 100,
    jwksEndpointRetryBackoffMaxMs: 10_000,
    clockSkewSeconds: 30,
    expectedIssuer: '',
    expectedAudience: [],
    subClaimName: 'sub',
    scopeClaimName: 'scope',
  };
}

type IntParser = (min: number, max?: number) => (v: string, key: string) => number;
type Setting<C> = { apply: (c: C, v: string, key: string) => void; help: string };

/**
 * The sasl.oauthbearer.* entries of the settings registry. The registry passes its integer
 * parser and error class in, so this file imports nothing from it.
 */
export function oauthBearerKeys<C extends { oauthbearer: OAuthBearerConfig }>(int: IntParser, ConfigError: new (msg: string) => Error): Record<string, Setting<C>> {
  const nonEmpty = (v: string, key: string): string => {
    if (v === '') throw new ConfigError(`${key} must not be empty`);
    return v;
  };
  return {
    'sasl.oauthbearer.jwks.endpoint.url': {
      apply: (c, v, k) => {
        if (v !== '') {
          let u: URL;
          try {
            u = new URL(v);
          } catch {
            throw new ConfigError(`${k} must be a URL (https://idp.example.com/.well-known/jwks.json, or file:///path/jwks.json), not "${v}"`);
          }
          if (u.protocol !== 'https:' && u.protocol !== 'http:' && u.protocol !== 'file:') {
            throw new ConfigError(`${k} must be an https://, http:// or file:// URL, not "${v}"`);
          }
        }
        c.oauthbearer.jwksEndpointUrl = v;
      },
      help: 'where OAUTHBEARER tokens\' signing keys (a JWKS) are read: the identity provider\'s jwks_uri (https://), http://, or file:///path (e.g. a mounted Kubernetes secret); required when sasl.enabled.mechanisms has OAUTHBEARER',
    },
    'sasl.oauthbearer.jwks.endpoint.refresh.ms': {
      apply: (c, v, k) => void (c.oauthbearer.jwksEndpointRefreshMs = int(1)(v, k)),
      help: 'how often the JWKS is reloaded (default 3600000); a token naming an unknown kid also reloads it, at most once every 10 s',
    },
    'sasl.oauthbearer.jwks.endpoint.retry.backoff.ms': {
      apply: (c, v, k) => void (c.oauthbearer.jwksEndpointRetryBackoffMs = int(1)(v, k)),
      help: 'first wait before retrying a failed JWKS load, doubled on each failure (default 100)',
    },
    'sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms': {
      apply: (c, v, k) => void (c.oauthbearer.jwksEndpointRetryBackoffMaxMs = int(1)(v, k)),
      help: 'longest wait between JWKS load retries (default 10000)',
    },
    'sasl.oauthbearer.clock.skew.seconds': {
      apply: (c, v, k) => void (c.oauthbearer.clockSkewSeconds = int(0, 86_400)(v, k)),
      help: 'tolerance in seconds between the identity provider\'s clock and the broker\'s for exp, nbf and iat (default 30)',
    },
    'sasl.oauthbearer.expected.issuer': {
      apply: (c, v) => void (c.oauthbearer.expectedIssuer = v),
      help: 'the iss a token must carry, exactly (default: any issuer)',
    },
    'sasl.oauthbearer.expected.audience': {
      apply: (c, v) => void (c.oauthbearer.expectedAudience = v.split(',').map((x) => x.trim()).filter((x) => x !== '')),
      help: 'comma-separated audiences; a token\'s aud (a string or a list) must hold one of them (default: any audience)',
    },
    'sasl.oauthbearer.sub.claim.name': {
      apply: (c, v, k) => void (c.oauthbearer.subClaimName = nonEmpty(v, k)),
      help: 'the claim whose value is the principal, User:<value> (default sub)',
    },
    'sasl.oauthbearer.scope.claim.name': {
      apply: (c, v, k) => void (c.oauthbearer.scopeClaimName = nonEmpty(v, k)),
      help: 'the claim holding the token\'s scopes, a space-separated string or a list; checked for form (default scope)',
    },
  };
}
