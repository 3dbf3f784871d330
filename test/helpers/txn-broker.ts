// The broker for the transaction tests (test/integration/txn-*.test.ts): Rivulet by default
// (test/helpers/broker.ts), or any Kafka-compatible broker started by an outside command,
// so the same tests can be checked against a reference Apache Kafka:
//
//   TXN_TEST_BROKER_CMD=/path/to/launcher node --test dist/test/integration/txn-crash.test.js
//
// The launcher is run as `launcher PORT DATA_DIR`. It must exec the broker (so that SIGKILL
// of its pid kills the broker itself), listen for Kafka clients on 127.0.0.1:PORT, keep its
// data in DATA_DIR and find it there again when run a second time with the same arguments.
// Such a broker counts as ready once it answers Metadata with itself as a broker. No
// launcher is part of this repository.

import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { startBroker } from './broker.js';
import { closedPort } from './cli.js';
import { makeTempDir } from './temp.js';
import { sleep } from './wait.js';
import { WireClient } from './wire-client.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';

export const externalBrokerCmd = process.env.TXN_TEST_BROKER_CMD || undefined;

/** Which broker the tests run against, for diagnostics. */
export const brokerKind = externalBrokerCmd ? `external (${externalBrokerCmd})` : 'rivulet';

export interface TxnBroker {
  readonly pid: number;
  readonly port: number;
  readonly bootstrap: string;
  readonly dataDir: string;
  /** Everything the broker wrote to stderr so far. */
  output(): string;
  /** The last `lines` lines of output(). */
  tail(lines?: number): string;
  /** SIGTERM, then waits for exit. */
  stop(): Promise<void>;
  /** SIGKILL, then waits for exit. */
  kill(): Promise<void>;
}

export interface TxnBrokerOptions {
  /** Reuse this data directory (a restart); a fresh temporary one otherwise. */
  dataDir?: string;
  /** Listen on this port (a restart); a free one otherwise. */
  port?: number;
  /** Extra `rivulet start` arguments (ignored for an external broker). */
  args?: string[];
  timeoutMs?: number;
}

export async function startTxnBroker(opts: TxnBrokerOptions = {}): Promise<TxnBroker> {
  const dataDir = opts.dataDir ?? (await makeTempDir('rivulet-txn-'));
  if (!externalBrokerCmd) {
    const b = await startBroker({
      dataDir,
      // Groups form at once, as in the Kafka the tests were checked against (Kafka's default delay is 3 s).
      args: ['--set', 'group.initial.rebalance.delay.ms=0', ...(opts.port === undefined ? [] : ['--port', String(opts.port)]), ...(opts.args ?? [])],
      timeoutMs: opts.timeoutMs,
    });
    return {
      pid: b.child.pid!,
      port: b.port,
      bootstrap: b.bootstrap,
      dataDir,
      output: b.output,
      tail: (lines = 40) => b.output().split('\n').slice(-lines).join('\n'),
      stop: async () => {
        await b.stop();
      },
      kill: () => b.kill(),
    };
  }
  const port = opts.port ?? (await closedPort());
  const child: ChildProcess = spawn(externalBrokerCmd, [String(port), dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  let exited = false;
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<void>((res) => child.once('exit', () => {
    exited = true;
    res();
  }));
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`${externalBrokerCmd} exited before it was ready:\n${out}`);
    if (await answersMetadata(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${externalBrokerCmd} not ready after ${timeoutMs} ms:\n${out}`);
    }
    await sleep(200);
  }
  return {
    pid: child.pid!,
    port,
    bootstrap: `127.0.0.1:${port}`,
    dataDir,
    output: () => out,
    tail: (lines = 40) => out.split('\n').slice(-lines).join('\n'),
    stop: async () => {
      if (!exited) child.kill('SIGTERM');
      await exit;
    },
    kill: async () => {
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
  };
}

async function answersMetadata(port: number): Promise<boolean> {
  let c: WireClient | undefined;
  try {
    c = await WireClient.connect(port);
    const res = await Promise.race([
      c.request(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }),
      sleep(2000).then(() => null),
    ]);
    return res !== null && res.brokers.length > 0;
  } catch {
    return false;
  } finally {
    c?.close();
  }
}

/** Removes a data directory made by startTxnBroker. */
export async function removeDataDir(dataDir: string): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
}
