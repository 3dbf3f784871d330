// `rivulet start`: runs the broker in the foreground until SIGTERM or SIGINT, then stops
// gracefully (no new connections, in-flight requests answered, logs fsynced) and exits 0.

import { Broker } from '../broker/broker.js';
import { Logger } from '../broker/logger.js';
import { startHttpServer } from '../http/server.js';
import { loadBrokerConfig, ConfigError } from '../broker/settings.js';
import { openLogFor } from './storage.js';

export interface StartFlags {
  config?: string;
  [key: string]: string | undefined;
}

export async function runStart(flags: Record<string, string | undefined>, configFile: string | undefined): Promise<void> {
  let config;
  try {
    config = loadBrokerConfig({ flags, env: process.env, configFile });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`rivulet: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const logger = new Logger(config.logLevel);
  const broker = new Broker(config, { openLog: openLogFor(config.logOpenSegmentsMax), logger });
  let http: Awaited<ReturnType<typeof startHttpServer>> | null = null;
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      logger.warn('second signal: exiting without waiting', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('stopping', { signal });
    await broker.stop();
    http?.server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  try {
    // HTTP first, so /healthz answers and /readyz says "recovering" while logs are checked.
    http = await startHttpServer(broker, config.httpHost, config.httpPort);
    logger.info('http ready', { listener: `${config.httpHost}:${http.port}` });
    await broker.start();
  } catch (e) {
    const err = e as Error & { code?: string };
    logger.error('cannot start', { error: err.message, code: err.code });
    process.stderr.write(`rivulet: ${err.message}\n`);
    process.exit(1);
  }
}
