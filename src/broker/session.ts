// What the broker knows about one client connection, apart from its bytes: which listener
// it came in on, who the peer is and, once security exists, who it authenticated as.
// Handlers see the session (never the socket); the gate in gate.ts reads it before dispatch.
import { WaitList } from './wait-list.js';
import type { SaslExchange } from './sasl/mechanism.js';

export type SessionProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

/** The principal of a connection that has not authenticated, as Kafka names it. */
export const ANONYMOUS = 'User:ANONYMOUS';

export class Session {
  /** The listener's name, as Kafka's `listeners` setting names it. */
  readonly listener: string;
  /** The listener's security protocol. */
  readonly securityProtocol: SessionProtocol;
  /** True on a SASL_PLAINTEXT or SASL_SSL listener: the client must log in before anything else. */
  readonly sasl: boolean;
  readonly peerAddress: string;
  readonly peerPort: number;
  /** `address:port` of the peer, for logs. */
  readonly remote: string;
  /** Who the requests on this connection act as: `User:<name>`. */
  principal: string;
  /** True once the connection may use every API the broker serves (at once on a PLAINTEXT or SSL listener; after SASL on a SASL listener). */
  authenticated: boolean;
  /** The SASL mechanism the session uses (one the listener enables, set by a successful SaslHandshake); null before. */
  saslMechanism: string | null;
  /** On a listener without SASL: a SaslHandshake was refused (and logged) already. Not the client's string: that is unbounded. */
  saslRefused: boolean;
  /** The SASL exchange in progress (after SaslHandshake, until SaslAuthenticate completes or fails). */
  saslExchange: SaslExchange | null;
  /** True while a SaslAuthenticate step is being worked on (async PBKDF2): a second one at once is refused. */
  saslStepping: boolean;
  /** performance.now() after which the session expired (KIP-368, connections.max.reauth.ms); 0: never. */
  expiresAt: number;
  /** Set when the connection is to be closed once the responses already queued are written (a failed login). */
  closeAfterResponses: boolean;
  closed: boolean;
  /** Woken once when the connection closes, so parked requests can give up early. */
  readonly closeWaiters: WaitList;

  constructor(listener: string, peerAddress: string, peerPort: number, securityProtocol: SessionProtocol = 'PLAINTEXT') {
    this.listener = listener;
    this.securityProtocol = securityProtocol;
    this.sasl = securityProtocol === 'SASL_PLAINTEXT' || securityProtocol === 'SASL_SSL';
    this.peerAddress = peerAddress;
    this.peerPort = peerPort;
    this.remote = `${peerAddress}:${peerPort}`;
    this.principal = ANONYMOUS;
    this.authenticated = !this.sasl;
    this.saslMechanism = null;
    this.saslRefused = false;
    this.saslExchange = null;
    this.saslStepping = false;
    this.expiresAt = 0;
    this.closeAfterResponses = false;
    this.closed = false;
    this.closeWaiters = new WaitList();
  }

  /** Marks the session closed and tells every listener, once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeWaiters.wakeAll();
  }
}
