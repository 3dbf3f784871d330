// What the broker knows about one client connection, apart from its bytes: which listener
// it came in on, who the peer is and, once security exists, who it authenticated as.
// Handlers see the session (never the socket); the gate in gate.ts reads it before dispatch.
import { WaitList } from './wait-list.js';

/** The principal of a connection that has not authenticated, as Kafka names it. */
export const ANONYMOUS = 'User:ANONYMOUS';

export class Session {
  /** The listener's name, as Kafka's `listeners` setting names it. */
  readonly listener: string;
  /** The listener's security protocol (SASL is not available yet). */
  readonly securityProtocol: 'PLAINTEXT' | 'SSL';
  readonly peerAddress: string;
  readonly peerPort: number;
  /** `address:port` of the peer, for logs. */
  readonly remote: string;
  /** Who the requests on this connection act as: `User:<name>`. */
  principal: string;
  /** True once the connection may use every API the broker serves (at once on a PLAINTEXT listener). */
  authenticated: boolean;
  /** The SASL mechanism the client asked for in SaslHandshake; null before it asks. */
  saslMechanism: string | null;
  closed: boolean;
  /** Woken once when the connection closes, so parked requests can give up early. */
  readonly closeWaiters: WaitList;

  constructor(listener: string, peerAddress: string, peerPort: number, securityProtocol: 'PLAINTEXT' | 'SSL' = 'PLAINTEXT') {
    this.listener = listener;
    this.securityProtocol = securityProtocol;
    this.peerAddress = peerAddress;
    this.peerPort = peerPort;
    this.remote = `${peerAddress}:${peerPort}`;
    this.principal = ANONYMOUS;
    this.authenticated = true;
    this.saslMechanism = null;
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
