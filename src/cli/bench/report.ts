// What a person sees: a progress line on stderr while the run goes, and the summary on
// stdout, as a table or (--json) one JSON object.

import { performance } from 'node:perf_hooks';
import { MB } from './summary.js';
import type { BenchResult, LatencySummary } from './types.js';

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmtNum = (n: number, digits = 2): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ---- progress on stderr ----

export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private readonly tty = process.stderr.isTTY === true;
  private lastCount = 0;
  private lastAt = performance.now();
  private readonly startedAt = performance.now();
  private written = false;

  constructor(
    private readonly label: string,
    private readonly enabled: boolean,
    private readonly total: () => { count: number; bytes: number; of?: number; untilMs?: number; extra?: string },
  ) {}

  start(): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => this.tick(), this.tty ? 250 : 5000);
    this.timer.unref();
  }

  private tick(): void {
    const now = performance.now();
    const s = this.total();
    const secs = (now - this.lastAt) / 1000;
    const rate = secs > 0 ? (s.count - this.lastCount) / secs : 0;
    this.lastCount = s.count;
    this.lastAt = now;
    let frac: number | undefined;
    if (s.of !== undefined) frac = s.count / s.of;
    if (s.untilMs !== undefined) frac = Math.max(frac ?? 0, (now - this.startedAt) / s.untilMs);
    let bar = '';
    if (frac !== undefined) {
      const f = Math.min(1, Math.max(0, frac));
      const width = 24;
      const filled = Math.round(f * width);
      bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(f * 100)).padStart(3)}% `;
    }
    const of = s.of !== undefined ? `/${fmtInt(s.of)}` : '';
    const line = `${this.label} ${bar}${fmtInt(s.count)}${of} msgs  ${fmtInt(rate)} msg/s${s.extra ? `  ${s.extra}` : ''}`;
    if (this.tty) process.stderr.write(`\r${line}\x1b[K`);
    else process.stderr.write(`${line}\n`);
    this.written = true;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty && this.written) process.stderr.write('\r\x1b[K');
  }
}

// ---- output ----

export function printResult(r: BenchResult, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const cfg = Object.entries(r.config)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const lines = [`bench ${r.mode}  topic=${r.topic}  ${cfg}`, ''];
  const head = ['messages', 'MB', 'seconds', 'msgs/s', 'MB/s'];
  const row = [fmtInt(r.messages), fmtNum(r.bytes / MB), fmtNum(r.durationMs / 1000, 3), fmtInt(r.msgsPerSec), fmtNum(r.mbPerSec)];
  if (r.failed > 0) {
    head.push('failed');
    row.push(fmtInt(r.failed));
  }
  lines.push(...table([head, row]), '');
  const lat: Array<[string, LatencySummary | null]> = [];
  if (r.mode === 'produce') lat.push(['send → ack', r.latencyMs]);
  if (r.mode === 'e2e') lat.push(['end to end', r.latencyMs], ['send → ack', r.sendLatencyMs]);
  const withData = lat.filter(([, l]) => l !== null) as Array<[string, LatencySummary]>;
  if (withData.length > 0) {
    const rows = [['latency (ms)', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean']];
    for (const [name, l] of withData) rows.push([name, ...[l.p50, l.p90, l.p99, l.p999, l.max, l.mean].map((v) => fmtNum(v, 3))]);
    lines.push(...table(rows), '');
  }
  process.stdout.write(lines.join('\n'));
}

/** Left-aligned first column, right-aligned numbers. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 && r.length > 5 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
}
