// One line per event on stderr, as the broker logs: time, level, message, then key=value pairs.

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A logger writing to stderr; `context` fields (e.g. worker=1) are added to every line. */
export function createLogger(level: LogLevel = 'info', context: Record<string, unknown> = {}): Logger {
  const threshold = LEVELS[level];
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[lvl] < threshold) return;
    let line = `${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${msg}`;
    for (const [k, v] of Object.entries({ ...context, ...fields })) {
      const s = v instanceof Error ? v.message : typeof v === 'string' ? v : typeof v === 'bigint' ? v.toString() : JSON.stringify(v);
      line += ` ${k}=${/\s/.test(s ?? '') ? JSON.stringify(s) : s}`;
    }
    process.stderr.write(line + '\n');
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
