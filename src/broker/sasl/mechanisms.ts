// The SASL mechanisms the broker implements, by the name SaslHandshake uses, and the
// mechanisms each SASL listener enables (sasl.enabled.mechanisms, or its
// listener.name.<listener>.sasl.enabled.mechanisms). A new mechanism is one entry in
// `factories`: a function from what mechanisms may use to a SaslMechanism.

import type { BrokerConfig } from '../config.js';
import { ConfigError } from '../settings.js';
import type { SaslMechanism } from './mechanism.js';
import { PlainMechanism } from './plain.js';
import { ScramMechanism, scramType, type ScramCredentialSource } from './scram.js';
import { oauthBearerMechanism } from './oauthbearer-entry.js';
import { Logger } from '../logger.js';

/** What a mechanism may use. */
export interface MechanismDeps {
  readonly config: BrokerConfig;
  /** Users' SCRAM credentials (the durable store), which PLAIN checks passwords against too. */
  readonly credentials: ScramCredentialSource;
  /** Where mechanisms log (OAUTHBEARER: JWKS loads); a quiet one when not given. */
  readonly logger?: Logger;
}

const factories: Readonly<Record<string, (d: MechanismDeps) => SaslMechanism>> = {
  PLAIN: (d) => new PlainMechanism(d.credentials),
  'SCRAM-SHA-256': (d) => new ScramMechanism(scramType('SCRAM-SHA-256')!, d.credentials),
  'SCRAM-SHA-512': (d) => new ScramMechanism(scramType('SCRAM-SHA-512')!, d.credentials),
  OAUTHBEARER: (d) => oauthBearerMechanism(d.config.oauthbearer, d.logger ?? new Logger('error')),
};

/** Names the broker implements, as sasl.enabled.mechanisms accepts them. */
export function knownMechanisms(): string[] {
  return Object.keys(factories);
}

/** The mechanisms of every listener, by listener name then mechanism name (in the order configured). */
export class SaslMechanisms {
  private readonly byListener = new Map<string, ReadonlyMap<string, SaslMechanism>>();
  private readonly built = new Map<string, SaslMechanism>();

  constructor(deps: MechanismDeps, listeners: ReadonlyArray<{ name: string; mechanisms: readonly string[] }>) {
    const built = this.built;
    for (const l of listeners) {
      const m = new Map<string, SaslMechanism>();
      for (const name of l.mechanisms) {
        let mech = built.get(name);
        if (mech === undefined) {
          const make = factories[name];
          if (make === undefined) throw new ConfigError(`listener ${l.name}: unknown SASL mechanism ${name}; known: ${knownMechanisms().join(', ')}`);
          built.set(name, (mech = make(deps)));
        }
        m.set(name, mech);
      }
      this.byListener.set(l.name, m);
    }
  }

  /** Closes every mechanism built (the broker is stopping). */
  close(): void {
    for (const m of this.built.values()) m.close?.();
  }

  /** The mechanisms a listener enables (empty for a listener without SASL). */
  of(listener: string): ReadonlyMap<string, SaslMechanism> {
    return this.byListener.get(listener) ?? EMPTY;
  }
}

const EMPTY: ReadonlyMap<string, SaslMechanism> = new Map();
