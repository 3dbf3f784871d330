// The broker of the tests that can also check themselves against Apache Kafka: the
// transaction tests of test/integration (txn-*.test.ts) and of test/interop
// (transactions-*.test.ts, streams-eos.test.ts). Rivulet by default (startBroker), or another
// Kafka-compatible broker started by the command KAFKA_PEER_CMD names:
//
//   KAFKA_PEER_CMD=/path/to/launcher node --test dist/test/integration/txn-crash.test.js
//
// The launcher is run as `launcher PORT DATA_DIR [key=value ...]`. It must exec the broker in
// the foreground (so that SIGKILL of its pid kills the broker itself), listen for Kafka
// clients on 127.0.0.1:PORT, keep its data in DATA_DIR and find it there again when run a
// second time with the same arguments, and apply the settings: they carry Kafka's names, which
// Rivulet's `--set` names are (transaction.version is Kafka's feature of that name). PORT is
// always a free port the test chose. The broker counts as ready once it answers Metadata with
// itself as a broker, not on a log line: Apache Kafka prints no line that says where it
// listens, and a launcher that execs it cannot add one. What it writes on stdout and stderr
// is kept for failure messages. No launcher is part of this repository.

import { spawn } from 'node:child_process';
import { startBroker, watchBroker, type BrokerProcess } from './broker.js';
import { closedPort } from './cli.js';
import { makeTempDir } from './temp.js';
import { sleep } from './wait.js';
import { WireClient } from './wire-client.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';

export const peerCmd = process.env.KAFKA_PEER_CMD || undefined;

/** Which broker the tests run against, for diagnostics. */
export const brokerKind = peerCmd ? `peer (${peerCmd})` : 'rivulet';

export interface BrokerOrPeerOptions {
  /** Settings by Kafka's names: Rivulet's `--set key=value`, the launcher's key=value. */
  settings?: Record<string, string>;
  /** Reuse this data directory (a restart); a fresh temporary one, removed by cleanup(), otherwise. */
  dataDir?: string;
  /** Listen on this port (a restart passes the one it had); 0 or absent: a free one. */
  port?: number;
  timeoutMs?: number;
}

export async function startBrokerOrPeer(opts: BrokerOrPeerOptions = {}): Promise<BrokerProcess> {
  const settings = Object.entries(opts.settings ?? {}).map(([k, v]) => `${k}=${v}`);
  if (!peerCmd) {
    return startBroker({
      dataDir: opts.dataDir,
      timeoutMs: opts.timeoutMs,
      // commander keeps the last --port, which overrides startBroker's --port 0.
      args: [...settings.flatMap((s) => ['--set', s]), ...(opts.port ? ['--port', String(opts.port)] : [])],
    });
  }
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await makeTempDir('kafka-peer-'));
  const port = opts.port || (await closedPort());
  const child = spawn(peerCmd, [String(port), dataDir, ...settings], { stdio: ['ignore', 'pipe', 'pipe'] });
  const watch = watchBroker(child, dataDir, ownDir);
  await watch.whenReady<void>(peerCmd, opts.timeoutMs ?? 90_000, async (found, settled) => {
    while (!settled()) {
      if (await answersMetadata(port)) found();
      else await sleep(200);
    }
  });
  return watch.process(port, 0);
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
