// Member commands for each client library in the group acceptance tests (see group-harness.ts).

import { join } from 'node:path';
import { repoRoot } from './paths.js';
import type { MemberSpec } from './group-harness.js';
import { compileJava, debianPython, pythonDir } from '../interop/tools.js';

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

/** Compiles GroupMember.java once into test/interop/java/target; returns the classpath to run it. */
export function compileJavaMember(): Promise<{ ok: boolean; classpath: string; error: string }> {
  return compileJava('GroupMember.java', 'group-member');
}

export function javaMember(classpath: string, name: string, bootstrap: string, topic: string, group: string, props: Record<string, string> = {}): MemberSpec {
  return {
    name,
    cmd: 'java',
    args: ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', classpath, 'GroupMember', bootstrap, topic, group, name,
      ...Object.entries(props).map(([k, v]) => `${k}=${v}`)],
  };
}
