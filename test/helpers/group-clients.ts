// Member commands for each client library in the group acceptance tests (see group-harness.ts).

import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { repoRoot } from './paths.js';
import type { MemberSpec } from './group-harness.js';
import { debianPython, javaClasspath, javaDir, pythonDir, run } from '../interop/tools.js';

export function kafkajsMember(name: string, bootstrap: string, topic: string, group: string): MemberSpec {
  return { name, cmd: process.execPath, args: [join(repoRoot, 'dist', 'test', 'helpers', 'group-kafkajs-member.js'), bootstrap, topic, group, name, '6000'] };
}

/** kcat's balanced consumer (-G), unbuffered, auto commit every 300 ms. */
export function kcatMember(name: string, bootstrap: string, topic: string, group: string, extra: string[] = []): MemberSpec {
  return {
    name,
    kind: 'kcat',
    cmd: 'kcat',
    args: ['-b', bootstrap, '-G', group, '-u', '-f', 'REC %p %o %s\\n',
      '-X', `client.id=kcat-${name}`,
      '-X', 'session.timeout.ms=6000', '-X', 'heartbeat.interval.ms=1000',
      '-X', 'auto.commit.interval.ms=300', '-X', 'auto.offset.reset=earliest',
      ...extra, topic],
  };
}

export function confluentMember(name: string, bootstrap: string, topic: string, group: string, conf: Record<string, string> = {}): MemberSpec {
  return {
    name,
    cmd: debianPython(),
    args: ['-u', join(pythonDir, 'group_confluent.py'), bootstrap, topic, group, name, ...Object.entries(conf).map(([k, v]) => `${k}=${v}`)],
  };
}

export function kafkaPythonMember(name: string, bootstrap: string, topic: string, group: string): MemberSpec {
  return { name, cmd: debianPython(), args: ['-u', join(pythonDir, 'group_kafkapython.py'), bootstrap, topic, group, name] };
}

/** Compiles GroupMember.java once into a temporary directory; returns the classpath to run it. */
export async function compileJavaMember(): Promise<{ ok: boolean; classpath: string; error: string }> {
  // target/ is ignored by git; compiling there leaves nothing behind in the system temp directory.
  const out = join(javaDir, 'target', 'group-member');
  await mkdir(out, { recursive: true });
  const r = await run('javac', ['-nowarn', '-cp', javaClasspath(), '-d', out, join(javaDir, 'GroupMember.java')], { timeoutMs: 120_000 });
  return { ok: r.code === 0, classpath: `${out}:${javaClasspath()}`, error: r.stderr };
}

export function javaMember(classpath: string, name: string, bootstrap: string, topic: string, group: string, props: Record<string, string> = {}): MemberSpec {
  return {
    name,
    cmd: 'java',
    args: ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', classpath, 'GroupMember', bootstrap, topic, group, name,
      ...Object.entries(props).map(([k, v]) => `${k}=${v}`)],
  };
}
