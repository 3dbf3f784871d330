// A broker inside the test process: the CLI's storage on a fresh temporary data directory,
// a listener on a free port of 127.0.0.1, and a logger that prints errors only. For unit
// tests of connection and coordinator logic that need the real dispatch path but not a
// child process (starting one costs ~150 ms and hides the broker's state from the test).
// Uses only the Broker's constructor, start(), stop() and port.

import { rm } from 'node:fs/promises';
import { Broker } from '../../src/broker/broker.js';
import { defaultBrokerConfig, type BrokerConfig } from '../../src/broker/config.js';
import { Logger } from '../../src/broker/logger.js';
import { openLog } from '../../src/cli/storage.js';
import { makeTempDir } from './temp.js';

export interface InProcessBroker {
  readonly broker: Broker;
  /** The Kafka listener's port (bound on 127.0.0.1 unless overridden). */
  readonly port: number;
  /** `host:port`, as a client's bootstrap setting. */
  readonly bootstrap: string;
  readonly dataDir: string;
  /** Stops the broker gracefully and removes the data directory (unless the overrides named one). */
  stop(): Promise<void>;
}

export async function startInProcessBroker(overrides: Partial<BrokerConfig> = {}): Promise<InProcessBroker> {
  const ownDir = overrides.dataDir === undefined;
  const dataDir = overrides.dataDir ?? (await makeTempDir('rivulet-inproc-'));
  const config: BrokerConfig = {
    ...defaultBrokerConfig(),
    host: '127.0.0.1',
    port: 0,
    httpPort: 0,
    logLevel: 'error',
    ...overrides,
    dataDir,
  };
  const broker = new Broker(config, { openLog, logger: new Logger(config.logLevel) });
  try {
    await broker.start();
  } catch (e) {
    await broker.stop().catch(() => undefined);
    if (ownDir) await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
  let stopped: Promise<void> | null = null;
  return {
    broker,
    port: broker.port,
    bootstrap: `${config.host}:${broker.port}`,
    dataDir,
    stop: () =>
      (stopped ??= (async () => {
        try {
          await broker.stop();
        } finally {
          if (ownDir) await rm(dataDir, { recursive: true, force: true });
        }
      })()),
  };
}
