// Consumer-group acceptance harness: member processes of any client library, the events they
// report, and the "three members, kill one" scenario shared by every client's test.
//
// Every member program (group-kafkajs-member.ts, interop/python/group_*.py,
// interop/java/GroupMember.java) follows one contract: it joins GROUP, subscribes to TOPIC,
// consumes until its stdin reaches end of file (then closes the consumer gracefully, which
// leaves the group) and prints one JSON object per line on stdout:
//   {"ev":"assigned","partitions":[0,3],"gen":5,"member":"m-1"}  the FULL current assignment
//       after every change (gen and member when the client exposes them)
//   {"ev":"revoked","partitions":[...]} / {"ev":"lost",...} / {"ev":"rebalancing"}
//   {"ev":"gen","gen":5,"member":"m-1"}  generation or member id changed (Java)
//   {"ev":"rec","p":0,"o":12,"v":"tok|123"}  a record, printed (and flushed) before its offset
//       can be committed
//   {"ev":"error","msg":"..."}
//   {"ev":"closed"}  after a graceful close
// kcat -G is adapted: records from its -f format on stdout, assignments from its
// "% Group g rebalanced (memberid m): assigned: t [0], t [3]" lines on stderr.
//
// GROUP_TEST_BOOTSTRAP=host:port runs the scenarios against an already running broker (for
// example a reference Apache Kafka) instead of starting Rivulet; tests that restart the broker
// skip themselves then.

import { spawn, type ChildProcess } from 'node:child_process';
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { startBroker, type BrokerProcess } from './broker.js';
import { sleep, waitFor } from './wait.js';

export const externalBootstrap = process.env.GROUP_TEST_BOOTSTRAP || undefined;

/** Broker settings the group tests need (Kafka's default initial delay is 3 s). */
export const groupBrokerArgs = ['--set', 'group.initial.rebalance.delay.ms=0'];

export interface GroupBroker {
  bootstrap: string;
  /** The Rivulet process, or undefined when GROUP_TEST_BOOTSTRAP points elsewhere. */
  process?: BrokerProcess;
  cleanup(): Promise<void>;
  /** The last lines of the broker's log (for assertion messages). */
  tail(lines?: number): string;
}

export async function startGroupBroker(extraArgs: string[] = [], dataDir?: string): Promise<GroupBroker> {
  if (externalBootstrap) {
    return { bootstrap: externalBootstrap, cleanup: async () => undefined, tail: () => `(external broker ${externalBootstrap})` };
  }
  const b = await startBroker({ args: [...groupBrokerArgs, ...extraArgs], dataDir });
  return {
    bootstrap: b.bootstrap,
    process: b,
    cleanup: () => b.cleanup(),
    tail: (lines = 40) => b.output().split('\n').slice(-lines).join('\n'),
  };
}

// ---------------------------------------------------------------------------------------
// Members

export interface Rec { p: number; o: number; v: string; /** The topic, when the member reports it (Java). */ t?: string }
export type MemberEvent =
  | { ev: 'assigned'; partitions: number[]; gen?: number; member?: string }
  | { ev: 'revoked' | 'lost'; partitions: number[] }
  | { ev: 'rebalancing' }
  | { ev: 'gen'; gen: number; member: string }
  | { ev: 'error'; msg: string }
  | { ev: 'closed' }
  | { ev: 'other'; line: string };

export interface MemberSpec {
  name: string;
  cmd: string;
  args: string[];
  /** 'json': the JSON-lines contract; 'kcat': kcat -G with -f 'REC %p %o %s\n'. */
  kind?: 'json' | 'kcat';
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export class Member {
  readonly child: ChildProcess;
  readonly records: Rec[] = [];
  /** Non-record events in arrival order, with the record count at the time. */
  readonly events: Array<MemberEvent & { atRecord: number }> = [];
  /** The current assignment (null before the first one). */
  assignment: number[] | null = null;
  stderr = '';
  /** Set by the scenario before it stops the members (events after it come from the close). */
  eventsBeforeStop = Infinity;
  /**
   * The assignment when the scenario began stopping the members. Members stop one after the
   * other, so the last to go is first handed the partitions of those that left before it:
   * `assignment` then says more than the scenario did.
   */
  assignmentBeforeStop: number[] | null = null;
  exited = false;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  private readonly exitPromise: Promise<void>;
  private outBuf = '';
  private errBuf = '';

  constructor(readonly spec: MemberSpec) {
    this.child = spawn(spec.cmd, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.exitPromise = new Promise((res) => this.child.once('close', (code, signal) => {
      this.exited = true;
      this.exitCode = code;
      this.exitSignal = signal;
      res();
    }));
    this.child.on('error', (e) => { this.stderr += `\nspawn error: ${e.message}`; });
    this.child.stdin!.on('error', () => undefined);
    this.child.stdout!.on('data', (d: Buffer) => {
      this.outBuf += d.toString('utf8');
      let i: number;
      while ((i = this.outBuf.indexOf('\n')) >= 0) {
        const line = this.outBuf.slice(0, i);
        this.outBuf = this.outBuf.slice(i + 1);
        this.onStdoutLine(line);
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      const s = d.toString('utf8');
      this.stderr += s;
      if (this.stderr.length > 400_000) this.stderr = this.stderr.slice(-200_000);
      if (this.spec.kind === 'kcat') {
        this.errBuf += s;
        let i: number;
        while ((i = this.errBuf.indexOf('\n')) >= 0) {
          const line = this.errBuf.slice(0, i);
          this.errBuf = this.errBuf.slice(i + 1);
          this.onKcatStderrLine(line);
        }
      }
    });
  }

  get name(): string { return this.spec.name; }

  private push(e: MemberEvent): void {
    if (e.ev === 'assigned') this.assignment = [...e.partitions].sort((a, b) => a - b);
    if (e.ev === 'rebalancing' && this.spec.kind === 'json') {
      // kafkajs: an eager rebalance drops the whole assignment until the next join.
    }
    this.events.push({ ...e, atRecord: this.records.length });
  }

  private onStdoutLine(line: string): void {
    if (line.trim() === '') return;
    if (this.spec.kind === 'kcat') {
      const m = /^REC (\d+) (\d+) (.*)$/.exec(line);
      if (m) this.records.push({ p: Number(m[1]), o: Number(m[2]), v: m[3]! });
      else this.push({ ev: 'other', line });
      return;
    }
    let o: any;
    try {
      o = JSON.parse(line);
    } catch {
      this.push({ ev: 'other', line });
      return;
    }
    if (o.ev === 'rec') this.records.push({ p: o.p, o: Number(o.o), v: o.v, ...(typeof o.t === 'string' ? { t: o.t } : {}) });
    else this.push(o as MemberEvent);
  }

  private onKcatStderrLine(line: string): void {
    // % Group g rebalanced (memberid rdkafka-...): assigned: t [0], t [3]
    const m = /^% Group \S+ rebalanced \(memberid ([^)]*)\): (assigned|revoked): ?(.*)$/.exec(line);
    if (!m) {
      if (/^% ERROR|^%\d+\|/.test(line)) this.push({ ev: 'error', msg: line });
      return;
    }
    const parts = [...m[3]!.matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]));
    if (m[2] === 'assigned') this.push({ ev: 'assigned', partitions: parts, member: m[1] });
    else {
      this.push({ ev: 'revoked', partitions: parts });
      // kcat (eager) unassigns everything on revoke.
      this.assignment = (this.assignment ?? []).filter((p) => !parts.includes(p));
    }
  }

  assignments(): number[][] {
    return this.events.filter((e) => e.ev === 'assigned').map((e) => (e as { partitions: number[] }).partitions);
  }

  gens(): Array<{ gen: number; member: string }> {
    return this.events
      .filter((e) => (e.ev === 'gen' || e.ev === 'assigned') && (e as any).gen !== undefined)
      .map((e) => ({ gen: (e as any).gen as number, member: String((e as any).member) }));
  }

  /** Closes stdin (the member closes its consumer and exits); SIGKILL after timeoutMs. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.exited) return;
    this.child.stdin!.end();
    if (this.spec.kind === 'kcat') this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exitPromise;
    clearTimeout(t);
  }

  async kill(): Promise<void> {
    if (!this.exited) this.child.kill('SIGKILL');
    await this.exitPromise;
  }

  describe(): string {
    const errs = this.events.filter((e) => e.ev === 'error').slice(0, 5).map((e) => (e as any).msg);
    const stderr = this.stderr.length > 3000 ? `...${this.stderr.slice(-3000)}` : this.stderr;
    return `member ${this.name}${this.exited ? ` (exited code=${this.exitCode} signal=${this.exitSignal})` : ''}: ` +
      `assignment=${JSON.stringify(this.assignment)} assignments=${JSON.stringify(this.assignments())} ` +
      `gens=${JSON.stringify(this.gens())} records=${this.records.length} errors=${JSON.stringify(errs)}\n  stderr: ${stderr.trim().split('\n').slice(-25).join('\n  ')}`;
  }
}

// ---------------------------------------------------------------------------------------
// Admin and producer (kafkajs in the test process)

export class GroupTools {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly producer: Producer;
  private connected = false;

  constructor(readonly bootstrap: string) {
    this.kafka = new Kafka({ clientId: 'group-acceptance', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 8 } });
    this.admin = this.kafka.admin();
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false });
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    await this.admin.connect();
    await this.producer.connect();
    this.connected = true;
  }

  async close(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    await Promise.race([Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]), sleep(10_000)]);
  }

  async createTopic(topic: string, partitions: number): Promise<void> {
    await this.admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  }

  /** Produces value `${tok}|${i}` for i in [from, to) to partition choose(i), acks=-1. */
  async produce(topic: string, tok: string, from: number, to: number, choose: (i: number) => number): Promise<void> {
    const batch = 2000;
    for (let s = from; s < to; s += batch) {
      const byPartition = new Map<number, { value: string }[]>();
      for (let i = s; i < Math.min(to, s + batch); i++) {
        const p = choose(i);
        const l = byPartition.get(p) ?? [];
        l.push({ value: `${tok}|${i}` });
        byPartition.set(p, l);
      }
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byPartition].map(([p, msgs]) => ({ topic, messages: msgs.map((m) => ({ ...m, partition: p })) })),
      });
    }
  }

  /** Committed offsets of the group for the topic (-1 when none), by partition. */
  async committed(group: string, topic: string): Promise<Map<number, number>> {
    const r = await this.admin.fetchOffsets({ groupId: group, topics: [topic] });
    const m = new Map<number, number>();
    for (const t of r) if (t.topic === topic) for (const p of t.partitions) m.set(p.partition, Number(p.offset));
    return m;
  }

  async endOffsets(topic: string): Promise<Map<number, number>> {
    const r = await this.admin.fetchTopicOffsets(topic);
    return new Map(r.map((p) => [p.partition, Number(p.high)]));
  }

  async describeGroup(group: string) {
    const r = await this.admin.describeGroups([group]);
    return r.groups.find((g) => g.groupId === group);
  }
}

// ---------------------------------------------------------------------------------------
// The scenario: N members share a P-partition topic; steady state exactly once; one member
// is SIGKILLed while it consumes; the others take over its partitions; nothing is lost and
// duplicates come only from offsets the killed member had not committed.

export interface ScenarioOptions {
  tools: GroupTools;
  topic: string;
  group: string;
  /** Builds the command of member i (0-based). */
  member: (i: number) => MemberSpec;
  members?: number;
  partitions?: number;
  /** Records produced once the group is stable (all consumed exactly once). */
  steadyCount: number;
  /** Records produced to the victim's partitions only, around the kill. */
  aroundKillCount: number;
  /** Records produced to every partition once the survivors own everything. */
  afterTakeoverCount: number;
  /** Which member is killed (index). */
  victim?: number;
  timeoutMs?: number;
  brokerTail: () => string;
  log?: (s: string) => void;
  /** Called once the group is stable, before any record is produced. */
  onStable?: (members: Member[]) => Promise<void>;
  /** The group's state and member count as the broker reports it (default: DescribeGroups, classic groups). */
  describe?: (group: string) => Promise<{ state: string; members: number } | undefined>;
}

export interface ScenarioResult {
  members: Member[];
  duplicates: number;
  committedAtKill: Map<number, number>;
}

const byNum = (a: number, b: number) => a - b;

/** "p2: kafkajs-0 [0-9999] [11000-12499]; kafkajs-2 [10000-11277]" lines, for failure messages. */
export function offsetRanges(members: Member[], partitions: number): string {
  const lines: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const per: string[] = [];
    for (const m of members) {
      const offs = m.records.filter((r) => r.p === p).map((r) => r.o).sort(byNum);
      if (offs.length === 0) continue;
      const ranges: string[] = [];
      let a = offs[0]!, b = offs[0]!;
      for (const x of offs.slice(1)) {
        if (x === b + 1 || x === b) { b = x; continue; }
        ranges.push(`[${a}-${b}]`);
        a = b = x;
      }
      ranges.push(`[${a}-${b}]`);
      per.push(`${m.name} ${ranges.slice(0, 12).join(' ')}${ranges.length > 12 ? ` ...(${ranges.length} ranges)` : ''}`);
    }
    lines.push(`  p${p}: ${per.join('; ')}`);
  }
  return lines.join('\n');
}

export async function killOneScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const n = o.members ?? 3;
  const P = o.partitions ?? 6;
  const per = P / n;
  const timeout = o.timeoutMs ?? 60_000;
  const victimIdx = o.victim ?? n - 1;
  const tok = Math.random().toString(36).slice(2, 10);
  const log = o.log ?? (() => undefined);
  const all = Array.from({ length: P }, (_, i) => i);
  const describe = o.describe ?? (async (group: string) => {
    const g = await o.tools.describeGroup(group).catch(() => undefined);
    return g === undefined ? undefined : { state: g.state, members: g.members.length };
  });
  await o.tools.createTopic(o.topic, P);

  const members: Member[] = [];
  const ctx = () => `${members.map((m) => m.describe()).join('\n')}\n--- broker log (tail) ---\n${o.brokerTail()}`;
  try {
    for (let i = 0; i < n; i++) members.push(new Member(o.member(i)));

    // 1. Stable: every member holds P/n partitions, together all of them, no overlap.
    const balanced = (ms: Member[], each: number) => {
      const seen: number[] = [];
      for (const m of ms) {
        if (m.exited || !m.assignment || m.assignment.length !== each) return false;
        seen.push(...m.assignment);
      }
      return JSON.stringify(seen.sort(byNum)) === JSON.stringify(all);
    };
    await waitFor(`${n} members with ${per} partitions each`, async () => {
      if (!balanced(members, per)) return false;
      const g = await describe(o.group);
      return g?.state === 'Stable' && g.members === n;
    }, timeout, ctx);
    // Settle, then the assignment must not have moved (no spurious rebalance).
    const eventsAtStable = members.map((m) => m.assignments().length);
    await sleep(1500);
    assert.ok(balanced(members, per), `the assignment changed after the group became stable\n${ctx()}`);
    for (const m of members) assert.equal(m.assignment!.length, per, `member ${m.name} holds ${per} partitions\n${ctx()}`);
    log(`stable: ${members.map((m) => `${m.name}=${JSON.stringify(m.assignment)}`).join(' ')}`);
    await o.onStable?.(members);

    // 2. Steady state: exactly once.
    const N = o.steadyCount;
    await o.tools.produce(o.topic, tok, 0, N, (i) => i % P);
    const idx = (r: Rec) => {
      const [t, i] = r.v.split('|');
      return t === tok ? Number(i) : -1;
    };
    const consumedSet = (lo: number, hi: number) => {
      const s = new Set<number>();
      for (const m of members) for (const r of m.records) {
        const i = idx(r);
        if (i >= lo && i < hi) s.add(i);
      }
      return s;
    };
    await waitFor(`all ${N} steady-state records consumed`, () => consumedSet(0, N).size === N, timeout, () => `consumed ${consumedSet(0, N).size}/${N}\n${ctx()}`);
    await sleep(500);
    let total = 0;
    for (const m of members) {
      for (const r of m.records) {
        assert.equal(idx(r) >= 0, true, `member ${m.name} consumed a record not from this run: ${JSON.stringify(r)}`);
        assert.ok(m.assignment!.includes(r.p), `member ${m.name} consumed partition ${r.p} outside its assignment ${JSON.stringify(m.assignment)}`);
        assert.equal(r.o, Math.floor(idx(r) / P), `record ${r.v} at ${r.p}@${r.o}: expected offset ${Math.floor(idx(r) / P)}`);
      }
      total += m.records.length;
    }
    assert.equal(total, N, `steady state: ${total} records consumed for ${N} produced (exactly once expected)\n${ctx()}`);
    for (let i = 0; i < n; i++) {
      assert.equal(members[i]!.assignments().length, eventsAtStable[i], `member ${members[i]!.name}: a rebalance happened in steady state\n${ctx()}`);
    }
    log(`steady state: ${N} records exactly once (${members.map((m) => `${m.name}:${m.records.length}`).join(' ')})`);

    // Committed offsets catch up with the log end.
    const perPartition = N / P;
    await waitFor('committed offsets at the log end on every partition', async () => {
      const c = await o.tools.committed(o.group, o.topic);
      return all.every((p) => c.get(p) === perPartition);
    }, timeout, () => `${ctx()}`);

    // 3. Records to the victim's partitions only; SIGKILL the victim while it consumes them.
    const victim = members[victimIdx]!;
    const survivors = members.filter((m) => m !== victim);
    const vParts = [...victim.assignment!];
    const half = Math.floor(o.aroundKillCount / 2);
    const base2 = N;
    const chooseVictim = (i: number) => vParts[i % vParts.length]!;
    const victimBefore = victim.records.length;
    await o.tools.produce(o.topic, tok, base2, base2 + half, chooseVictim);
    await waitFor('the victim to consume some records before it is killed', () => victim.records.length > victimBefore, timeout, ctx);
    await victim.kill();
    // Let a commit that was on the wire at the kill land, then read what the victim committed.
    await sleep(500);
    const committedAtKill = await o.tools.committed(o.group, o.topic);
    log(`killed ${victim.name} (partitions ${JSON.stringify(vParts)}); committed ${JSON.stringify([...committedAtKill])}`);
    await o.tools.produce(o.topic, tok, base2 + half, base2 + o.aroundKillCount, chooseVictim);

    // 4. Survivors take over: together they hold everything, P/(n-1) each.
    const perSurvivor = P / (n - 1);
    await waitFor(`the ${n - 1} survivors to hold ${perSurvivor} partitions each`, async () => {
      if (!balanced(survivors, perSurvivor)) return false;
      const g = await describe(o.group);
      return g?.state === 'Stable' && g.members === n - 1;
    }, timeout + 30_000, ctx);
    log(`taken over: ${survivors.map((m) => `${m.name}=${JSON.stringify(m.assignment)}`).join(' ')}`);

    // 5. More records to every partition; all consumed.
    const base3 = base2 + o.aroundKillCount;
    const end = base3 + o.afterTakeoverCount;
    const survivorsBase3 = survivors.map((m) => m.records.length);
    await o.tools.produce(o.topic, tok, base3, end, (i) => i % P);
    await waitFor(`every record produced around and after the kill consumed`, () => consumedSet(base2, end).size === end - base2, timeout,
      () => `consumed ${consumedSet(base2, end).size}/${end - base2}; offsets consumed per partition and member:\n${offsetRanges(members, P)}\n` +
        `log end offsets: expected ${JSON.stringify(all.map((p) => perPartition + (vParts.includes(p) ? o.aroundKillCount / vParts.length : 0) + o.afterTakeoverCount / P))}\n${ctx()}`);
    await sleep(500);

    // Nothing missing, nothing from outside this run.
    assert.equal(consumedSet(0, end).size, end, `records missing\n${ctx()}`);

    // Duplicates: only records on the victim's partitions at offsets >= what it had committed.
    const count = new Map<string, number>();
    for (const m of members) for (const r of m.records) count.set(`${r.p}@${r.o}`, (count.get(`${r.p}@${r.o}`) ?? 0) + 1);
    let duplicates = 0;
    for (const [k, c] of count) {
      if (c === 1) continue;
      const [p, off] = k.split('@').map(Number) as [number, number];
      duplicates += c - 1;
      assert.equal(c, 2, `record ${k} consumed ${c} times\n${ctx()}`);
      assert.ok(vParts.includes(p), `record ${k} consumed twice, but partition ${p} was not the killed member's (${JSON.stringify(vParts)})\n${ctx()}`);
      const committed = committedAtKill.get(p) ?? -1;
      assert.ok(off >= committed, `record ${k} consumed twice although the killed member had committed offset ${committed} for partition ${p}\n${ctx()}`);
    }
    // The survivors resumed the victim's partitions exactly at its committed offsets.
    for (const p of vParts) {
      const offs = survivors.flatMap((m) => m.records.filter((r) => r.p === p).map((r) => r.o));
      const first = Math.min(...offs);
      assert.equal(first, committedAtKill.get(p), `partition ${p}: the survivors started at offset ${first}, the killed member had committed ${committedAtKill.get(p)}\n${ctx()}`);
    }
    // After the takeover, the survivors consumed the last batch exactly once.
    let after = 0;
    survivors.forEach((m, k) => { after += m.records.slice(survivorsBase3[k]).filter((r) => idx(r) >= base3).length; });
    assert.equal(after, end - base3, `after the takeover: ${after} records consumed for ${end - base3} produced\n${ctx()}`);
    for (const m of survivors) assert.equal(m.exited, false, `survivor ${m.name} exited\n${ctx()}`);
    log(`after kill: ${end - base2} records, ${duplicates} duplicates (all uncommitted offsets of the killed member)`);
    return { members, duplicates, committedAtKill };
  } finally {
    for (const m of members) {
      m.eventsBeforeStop = m.events.length;
      m.assignmentBeforeStop = m.assignment;
    }
    await Promise.all(members.map((m) => m.stop(15_000)));
  }
}

/** The broker and admin tools of one test file; filled in by the file's before() hook. */
export interface GroupSuite {
  broker: GroupBroker;
  tools: GroupTools;
}

/** Starts one group broker (and connects the admin tools) before the file's tests, and stops both after them. */
export function groupBrokerForSuite(extraArgs: string[] = []): GroupSuite {
  const suite = {} as GroupSuite;
  before(async () => {
    suite.broker = await startGroupBroker(extraArgs);
    suite.tools = new GroupTools(suite.broker.bootstrap);
    await suite.tools.connect();
  });
  after(async () => {
    await suite.tools?.close();
    await suite.broker?.cleanup();
  });
  return suite;
}

/** Record counts of the kill-one-member scenario the group interop files run. */
export const KILL_ONE_SIZES = { steadyCount: 6_000, aroundKillCount: 1_200, afterTakeoverCount: 1_200, timeoutMs: 60_000 };
