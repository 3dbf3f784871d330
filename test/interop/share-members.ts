// Share group member processes of the share-group interop tests, whatever the client: each
// prints one JSON object per line ({"ev":"rec","o":offset,"v":value,"d":deliveryCount},
// {"ev":"error",...}, {"ev":"closed"}) and closes gracefully when its stdin ends.
// java/ShareMember.java (KafkaShareConsumer) and go/share-member (franz-go) follow it.

import { join } from 'node:path';
import type { BrokerProcess } from '../helpers/broker.js';
import { interopDir, LineProcess, run } from './tools.js';

export interface Rec { o: number; v: string; d: number }

export class ShareMember {
  readonly proc: LineProcess;
  constructor(readonly name: string, cmd: string, args: string[]) {
    this.proc = new LineProcess(cmd, args, { stdin: 'pipe' });
  }

  records(): Rec[] {
    return this.proc.lines.filter((l) => l.includes('"ev":"rec"')).map((l) => JSON.parse(l) as Rec);
  }

  errors(): string[] {
    return this.proc.lines.filter((l) => l.includes('"ev":"error"'));
  }

  /** Closes the consumer gracefully (end of input) and waits for the exit (SIGKILL after 30 s). */
  async close(): Promise<void> {
    this.proc.endInput();
    const timer = setTimeout(() => void this.proc.kill(), 30_000);
    await this.proc.exited;
    clearTimeout(timer);
  }

  describe(): string {
    return `${this.name}:\n${this.proc.tail(10)}`;
  }
}

/** A KafkaShareConsumer (java/ShareMember.java, compiled to `classpath`): mode accept or hold. */
export function javaShareMember(classpath: string, name: string, bootstrap: string, topic: string, group: string, mode: 'accept' | 'hold'): ShareMember {
  return new ShareMember(name, 'java', ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', classpath, 'ShareMember', bootstrap, topic, group, mode]);
}

/** A franz-go share consumer (go/share-member, built to `binary`); acknowledges every record. */
export function goShareMember(binary: string, name: string, bootstrap: string, topic: string, group: string): ShareMember {
  return new ShareMember(name, binary, [bootstrap, topic, group]);
}

/**
 * Builds go/share-member into `outDir` from the local module cache only (GOPROXY=off: tests
 * reach nothing but 127.0.0.1); returns the binary, or the error when Go or the modules are missing.
 */
export async function buildGoShareMember(outDir: string): Promise<{ ok: boolean; binary: string; error: string }> {
  const binary = join(outDir, 'share-member');
  const r = await run('go', ['build', '-o', binary, '.'], { cwd: join(interopDir, 'go', 'share-member'), env: { GOFLAGS: '-mod=mod', GOPROXY: 'off' }, timeoutMs: 180_000 });
  return { ok: r.code === 0, binary, error: r.stderr };
}

/** Members the broker has logged joining `group`. */
export function joinedCount(broker: BrokerProcess, group: string): number {
  return broker.output().split('\n').filter((l) => l.includes('share group member joined') && l.includes(`group=${group} `)).length;
}
