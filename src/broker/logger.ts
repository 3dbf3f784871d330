// One line per event on stderr: time, level, message, then key=value pairs.

const levels = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type Level = keyof typeof levels;

export class Logger {
  private threshold: number;

  constructor(level: Level = 'info') {
    this.threshold = levels[level];
  }

  setLevel(level: Level): void {
    this.threshold = levels[level];
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    if (this.threshold <= levels.debug) this.write('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    if (this.threshold <= levels.info) this.write('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    if (this.threshold <= levels.warn) this.write('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.write('error', msg, fields);
  }

  private write(level: Level, msg: string, fields?: Record<string, unknown>): void {
    let line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}`;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) {
        const s = v instanceof Error ? v.message : typeof v === 'string' ? v : JSON.stringify(v);
        line += ` ${k}=${/\s/.test(s ?? '') ? JSON.stringify(s) : s}`;
      }
    }
    process.stderr.write(line + '\n');
  }
}
