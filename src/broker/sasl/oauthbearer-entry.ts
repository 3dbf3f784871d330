// The OAUTHBEARER entry of the mechanism registry. It checks the settings when the broker
// starts and loads oauthbearer.ts (and the JOSE library under it) then, in the background, so
// neither is read by a broker that does not enable OAUTHBEARER; the JWKS starts loading as
// soon as they are in. Exchanges begun before that wait for it.

import type { Logger } from '../logger.js';
import { ConfigError } from '../settings.js';
import type { SaslExchange, SaslMechanism } from './mechanism.js';
import type { OAuthBearerConfig } from './oauthbearer-config.js';
import type { OAuthBearerMechanism } from './oauthbearer.js';

class LazyOAuthBearer implements SaslMechanism {
  readonly name = 'OAUTHBEARER';
  private loaded: OAuthBearerMechanism | undefined;
  private closed = false;
  private readonly ready: Promise<OAuthBearerMechanism>;

  constructor(cfg: OAuthBearerConfig, logger: Logger) {
    this.ready = import('./oauthbearer.js').then((m) => {
      const validator = new m.OAuthBearerValidator(cfg, logger);
      this.loaded = new m.OAuthBearerMechanism(validator);
      if (!this.closed) void validator.start();
      return this.loaded;
    });
    this.ready.catch((e: unknown) => logger.error('OAUTHBEARER: the mechanism could not be loaded; every OAUTHBEARER login fails', { error: e as Error }));
  }

  start(): SaslExchange {
    if (this.loaded) return this.loaded.start();
    let inner: Promise<SaslExchange> | undefined;
    return { step: async (message) => (await (inner ??= this.ready.then((m) => m.start()))).step(message) };
  }

  close(): void {
    this.closed = true;
    this.loaded?.validator.stop();
  }
}

/** The OAUTHBEARER mechanism; a ConfigError when sasl.oauthbearer.jwks.endpoint.url is not set. */
export function oauthBearerMechanism(cfg: OAuthBearerConfig, logger: Logger): SaslMechanism {
  if (cfg.jwksEndpointUrl === '') {
    throw new ConfigError('OAUTHBEARER is enabled but sasl.oauthbearer.jwks.endpoint.url is not set: point it at the identity provider\'s JWKS (its jwks_uri, https://...) or at a JWKS file (file:///path/jwks.json)');
  }
  return new LazyOAuthBearer(cfg, logger);
}
