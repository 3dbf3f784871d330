// A log line per kind of event at most once a second, with how many were not logged since:
// a flood of failed logins, refused connections or failed handshakes must not flood the log.

import type { Logger } from './logger.js';

export class ThrottledLog {
  private readonly kinds = new Map<string, { unlogged: number; at: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
  ) {}

  /** Logs `msg` (warn) unless a line of this kind was logged within the interval; `fields` gain `sinceLastLine`. */
  warn(kind: string, msg: string, fields: Record<string, unknown>): void {
    let k = this.kinds.get(kind);
    if (k === undefined) {
      // Kinds are a few fixed words chosen by the broker, never client input, so the map stays small.
      this.kinds.set(kind, (k = { unlogged: 0, at: -Infinity }));
    }
    k.unlogged++;
    const now = performance.now();
    if (now - k.at < this.intervalMs) return;
    this.logger.warn(msg, { ...fields, sinceLastLine: k.unlogged });
    k.at = now;
    k.unlogged = 0;
  }
}
