// Soak: mixed load against one broker process for a set time, with SIGKILLs at random
// moments, then a check that nothing acknowledged was lost or duplicated.
//
// Load, all at once: producers sending acks=all batches (each record's value names it);
// consumer groups committing offsets (OffsetCommit outside any generation, as admin tools
// do); slow consumers whose pipelined long-poll fetches are read slowly; topic churn
// (create, produce, delete, create the name again: the new topic must start empty); idle
// connections and connections that send half a frame and stop. Every 20-60 s the broker
// is killed with SIGKILL and started again on the same data directory.
//
// At the end the load stops, the broker is stopped with SIGTERM (it must exit 0) and
// started once more; then every acknowledged record must be in its partition exactly once
// at the offset it was acknowledged at, and every group's committed offset must be the
// last acknowledged commit or a later one that was sent when the broker died. The broker's
// resident memory is sampled throughout and compared with the bound its settings imply.
//
//   npm run soak [-- --minutes 30 --seed 7]
// Exit code 0 when every check holds, 1 otherwise; a summary is printed either way.

import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { startBroker, type BrokerProcess } from '../test/helpers/broker.js';
import { makeTempDir } from '../test/helpers/temp.js';
import { WireClient } from '../test/helpers/wire-client.js';
import { buildBatch, decodeBatches } from '../test/helpers/batches.js';
import { createTopicsBody, fetchBody, produceBody } from '../test/helpers/requests.js';
import { ApiKey } from '../src/protocol/generated/apis.js';
import { ErrorCode } from '../src/protocol/errors.js';
import { encodeRequest } from '../src/protocol/header.js';
import { codecs } from '../src/protocol/generated/index.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const minutes = arg('minutes', 30);
let seed = arg('seed', Date.now() % 100_000);
const firstSeed = seed;
/** Deterministic per seed, so a failing run can be repeated. */
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const TOPICS = ['soak-a', 'soak-b'];
const PARTITIONS = 4;
const PRODUCERS = 4;
const GROUPS = 3;
const SLOW_CONSUMERS = 3;
const IDLE = 40;
const HALF_FRAMES = 10;
const TAIL_CACHE = 1 << 20;
const CONNECTION_MEMORY = 16 << 20;
const settings = ['--set', `log.tail.cache.bytes=${TAIL_CACHE}`, '--set', `connection.memory.bytes=${CONNECTION_MEMORY}`, '--set', 'log.segment.bytes=4194304', '--set', 'auto.create.topics.enable=false'];

const deadline = Date.now() + minutes * 60_000;
let stopping = false;
let broker: BrokerProcess;
let restarting: Promise<void> | null = null;
const dataDir = await makeTempDir('rivulet-soak-');

const stats = { kills: 0, produced: 0, failedSends: 0, commits: 0, churnCycles: 0, churnNotEmpty: [] as string[], maxRssMb: 0, rssSamples: 0 };
/**
 * Acknowledged batches per producer, flat: [topic-partition index, base offset, first
 * sequence, record count] each. A record's value is `p<producer>-<sequence>`.
 */
const acked: number[][] = Array.from({ length: PRODUCERS }, () => []);
/** The next sequence of each producer: every sequence below it was sent. */
const sequences = new Array<number>(PRODUCERS).fill(0);
/** Per group/topic/partition: the last acknowledged commit and the highest one sent. */
const commits = new Map<string, { acked: number; sent: number }>();

async function start(): Promise<void> {
  broker = await startBroker({ dataDir, args: settings, timeoutMs: 60_000 });
}

/** Kills the broker and starts it again; clients reconnect on their own. */
async function killAndRestart(): Promise<void> {
  await broker.kill();
  stats.kills++;
  await start();
}

/** A connection to whatever broker runs now; retried while it restarts. */
async function connectNow(): Promise<WireClient> {
  for (;;) {
    await restarting;
    try {
      return await WireClient.connect(broker.port);
    } catch {
      await sleep(100);
    }
  }
}

/** A request that gives up (throws) after 20 s, so a client never hangs on a dead connection. */
async function call<T = any>(c: WireClient, apiKey: number, version: number, body: object): Promise<T> {
  if (c.closed) throw new Error('connection closed');
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      c.request<T>(apiKey, version, body),
      new Promise<T>((_, rej) => (timer = setTimeout(() => rej(new Error('request timed out')), 20_000))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A topic-partition as one number, for compact bookkeeping. */
const tpIndex = (topic: string, partition: number): number => TOPICS.indexOf(topic) * PARTITIONS + partition;

async function producer(id: number): Promise<void> {
  let c = await connectNow();
  while (!stopping) {
    const topic = TOPICS[id % TOPICS.length]!;
    const partition = Math.floor(random() * PARTITIONS);
    const n = 1 + Math.floor(random() * 20);
    const first = sequences[id]!;
    sequences[id] = first + n;
    const records = Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`p${id}-${first + i}`) }));
    try {
      const res = await call(c, ApiKey.Produce, 9, produceBody(topic, [[partition, buildBatch(records)]]));
      const p = res.responses[0].partitionResponses[0];
      if (p.errorCode !== ErrorCode.NONE) throw new Error(`produce error ${p.errorCode}`);
      acked[id]!.push(tpIndex(topic, partition), Number(p.baseOffset), first, n);
      stats.produced += n;
    } catch {
      stats.failedSends += n;
      c.close();
      c = await connectNow();
    }
    await sleep(10); // a steady load, not a throughput test: about 100 batches a second per producer
  }
  c.close();
}

async function committer(g: number): Promise<void> {
  let c = await connectNow();
  let next = 1;
  while (!stopping) {
    const topic = TOPICS[g % TOPICS.length]!;
    const offset = next++;
    const body = {
      groupId: `soak-g${g}`, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: topic, partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partitionIndex: p, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null })) }],
    };
    for (let p = 0; p < PARTITIONS; p++) {
      const k = `soak-g${g}/${topic}/${p}`;
      const e = commits.get(k) ?? { acked: -1, sent: -1 };
      e.sent = offset;
      commits.set(k, e);
    }
    try {
      const res = await call(c, ApiKey.OffsetCommit, 8, body);
      res.topics[0].partitions.forEach((p: any, i: number) => {
        if (p.errorCode === ErrorCode.NONE) commits.get(`soak-g${g}/${topic}/${i}`)!.acked = offset;
      });
      stats.commits++;
    } catch {
      c.close();
      c = await connectNow();
    }
    await sleep(50);
  }
  c.close();
}

/** Pipelines long-poll fetches and reads their answers slowly, as a consumer that lags. */
async function slowConsumer(i: number): Promise<void> {
  while (!stopping) {
    await restarting;
    const s = connect({ port: broker.port, host: '127.0.0.1' });
    s.on('error', () => undefined);
    let correlation = 1;
    const send = (): void => {
      const body = fetchBody(TOPICS[i % TOPICS.length]!, { partitions: [0, 1, 2, 3], maxWaitMs: 500, maxBytes: 1 << 20 });
      for (const chunk of encodeRequest({ apiKey: ApiKey.Fetch, apiVersion: 12, correlationId: correlation++, clientId: 'soak-slow' }, codecs[ApiKey.Fetch]!.writeRequest[12]!, body)) s.write(chunk);
    };
    s.on('connect', () => {
      for (let k = 0; k < 10; k++) send();
      s.pause();
    });
    while (!stopping && !s.destroyed) {
      await sleep(1000);
      s.resume();
      await sleep(20);
      s.pause();
      if (!s.destroyed) send();
    }
    s.destroy();
  }
}

/** Idle connections and connections that announce a frame and send only part of it. */
async function loiterers(): Promise<void> {
  let sockets: Socket[] = [];
  while (!stopping) {
    await restarting;
    for (const s of sockets) s.destroy();
    sockets = [];
    for (let k = 0; k < IDLE + HALF_FRAMES; k++) {
      const s = connect({ port: broker.port, host: '127.0.0.1' });
      s.on('error', () => undefined);
      if (k >= IDLE) {
        const head = Buffer.alloc(4 + 100);
        head.writeInt32BE(1 << 20, 0);
        s.on('connect', () => s.write(head));
      }
      sockets.push(s);
    }
    await sleep(30_000);
  }
  for (const s of sockets) s.destroy();
}

/** Creates a topic, produces to it, deletes it, and uses the name again: a new topic must start at offset 0. */
async function churn(): Promise<void> {
  let c = await connectNow();
  let round = 0;
  while (!stopping) {
    const name = `churn-${round++ % 3}`;
    try {
      const created = await call(c, ApiKey.CreateTopics, 7, createTopicsBody(name, 3));
      const code = created.topics[0].errorCode;
      if (code === ErrorCode.NONE) {
        const res = await call(c, ApiKey.Produce, 9, produceBody(name, buildBatch([{ key: null, value: Buffer.from(name) }])));
        const p = res.responses[0].partitionResponses[0];
        if (p.errorCode === ErrorCode.NONE && Number(p.baseOffset) !== 0) stats.churnNotEmpty.push(`${name}: a new topic's first record at offset ${p.baseOffset}`);
      }
      await call(c, ApiKey.DeleteTopics, 6, { topics: [{ name, topicId: null }], timeoutMs: 5000 });
      stats.churnCycles++;
    } catch {
      c.close();
      c = await connectNow();
    }
    await sleep(200);
  }
  c.close();
}

async function sampleMemory(): Promise<void> {
  while (!stopping) {
    try {
      const status = await readFile(`/proc/${broker.child.pid}/status`, 'utf8');
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
      stats.maxRssMb = Math.max(stats.maxRssMb, rss);
      stats.rssSamples++;
    } catch {
      // Between a kill and the restart.
    }
    await sleep(2000);
  }
}

async function killer(): Promise<void> {
  while (!stopping) {
    await sleep(20_000 + random() * 40_000);
    if (stopping) return;
    restarting = killAndRestart();
    await restarting;
    restarting = null;
  }
}

/** Where each record of each producer was found: how often, and the last place. */
interface Found {
  count: Uint8Array;
  tp: Int16Array;
  offset: Float64Array;
}

/** Reads a partition from its start to its end into `found`. */
async function readPartition(c: WireClient, topic: string, partition: number, found: Found[]): Promise<void> {
  let offset = 0;
  for (;;) {
    const res = await call(c, ApiKey.Fetch, 12, fetchBody(topic, { partition, offset, maxBytes: 4 << 20 }));
    const p = res.responses[0].partitions[0];
    if (p.errorCode !== ErrorCode.NONE) throw new Error(`fetch ${topic}-${partition} at ${offset}: error ${p.errorCode}`);
    const records = decodeBatches(p.records ?? Buffer.alloc(0));
    for (const r of records) {
      if (r.offset < offset) continue;
      const m = /^p(\d+)-(\d+)$/.exec(r.value!.toString());
      if (m !== null) {
        const f = found[Number(m[1])]!;
        const seq = Number(m[2]);
        f.count[seq] = Math.min(255, f.count[seq]! + 1);
        f.tp[seq] = tpIndex(topic, partition);
        f.offset[seq] = r.offset;
      }
      offset = r.offset + 1;
    }
    if (offset >= Number(p.highWatermark) || records.length === 0) return;
  }
}

async function main(): Promise<number> {
  console.log(`soak: ${minutes} min, seed ${firstSeed}, data in ${dataDir}`);
  await start();
  const c = await connectNow();
  for (const t of TOPICS) {
    const res = await call(c, ApiKey.CreateTopics, 7, createTopicsBody(t, PARTITIONS));
    if (res.topics[0].errorCode !== ErrorCode.NONE) throw new Error(`creating ${t}: ${res.topics[0].errorMessage}`);
  }
  c.close();
  await sleep(1000);
  const idleRss = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${broker.child.pid}/status`, 'utf8'))![1]) / 1024;
  const load = [
    ...Array.from({ length: PRODUCERS }, (_, i) => producer(i)),
    ...Array.from({ length: GROUPS }, (_, g) => committer(g)),
    ...Array.from({ length: SLOW_CONSUMERS }, (_, i) => slowConsumer(i)),
    loiterers(),
    churn(),
    sampleMemory(),
    killer(),
  ];
  const progress = setInterval(() => {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    console.log(`  ${left}s left: ${stats.produced} records acknowledged, ${stats.commits} commits, ${stats.kills} kills, ${stats.churnCycles} churn cycles, max RSS ${stats.maxRssMb.toFixed(0)} MB`);
  }, 60_000);
  await sleep(Math.max(0, deadline - Date.now()));
  stopping = true;
  clearInterval(progress);
  await Promise.all(load);

  const exitCode = await broker.stop();
  await start();
  const v = await connectNow();
  const found: Found[] = sequences.map((n) => ({ count: new Uint8Array(n), tp: new Int16Array(n), offset: new Float64Array(n) }));
  for (const t of TOPICS) for (let p = 0; p < PARTITIONS; p++) await readPartition(v, t, p, found);
  let ackedRecords = 0;
  let missing = 0;
  let duplicated = 0;
  let moved = 0;
  const examples: string[] = [];
  const tpName = (i: number): string => `${TOPICS[Math.floor(i / PARTITIONS)]}-${i % PARTITIONS}`;
  acked.forEach((batches, id) => {
    const f = found[id]!;
    for (let b = 0; b < batches.length; b += 4) {
      const [tp, base, first, n] = [batches[b]!, batches[b + 1]!, batches[b + 2]!, batches[b + 3]!];
      for (let i = 0; i < n; i++) {
        ackedRecords++;
        const seq = first + i;
        if (f.count[seq] === 0) missing++;
        else if (f.count[seq]! > 1) duplicated++;
        else if (f.tp[seq] !== tp || f.offset[seq] !== base + i) moved++;
        else continue;
        if (examples.length < 5) examples.push(`p${id}-${seq} acknowledged at ${tpName(tp)}@${base + i}, found ${f.count[seq]} time(s), last at ${tpName(f.tp[seq]!)}@${f.offset[seq]}`);
      }
    }
  });
  let commitErrors = 0;
  for (let g = 0; g < GROUPS; g++) {
    const topic = TOPICS[g % TOPICS.length]!;
    const res = await call(v, ApiKey.OffsetFetch, 8, { groups: [{ groupId: `soak-g${g}`, topics: [{ name: topic, partitionIndexes: Array.from({ length: PARTITIONS }, (_, p) => p) }] }], requireStable: false });
    for (const p of res.groups[0].topics[0].partitions) {
      const e = commits.get(`soak-g${g}/${topic}/${p.partitionIndex}`);
      if (e === undefined) continue;
      const got = Number(p.committedOffset);
      if (got < e.acked || got > e.sent) {
        commitErrors++;
        if (examples.length < 10) examples.push(`soak-g${g} ${topic}-${p.partitionIndex}: committed ${got}, last acknowledged ${e.acked}, last sent ${e.sent}`);
      }
    }
  }
  v.close();
  await broker.stop();
  // What the settings let the broker hold beyond its idle size: the tail caches of the
  // partitions, the request bytes of every connection in flight, and 64 MB of slack for
  // the heap's own growth.
  const connections = PRODUCERS + GROUPS + SLOW_CONSUMERS + IDLE + HALF_FRAMES + 4;
  const boundMb = idleRss + (TOPICS.length * PARTITIONS * TAIL_CACHE + connections * CONNECTION_MEMORY) / (1 << 20) + 64;
  const ok = missing === 0 && duplicated === 0 && moved === 0 && commitErrors === 0 && stats.churnNotEmpty.length === 0 && exitCode === 0 && stats.maxRssMb <= boundMb;
  console.log(`
soak summary (seed ${firstSeed}, ${minutes} min)
  SIGKILLs                                ${stats.kills}
  records acknowledged (acks=all)         ${ackedRecords}
  sends that failed (may or may not land) ${stats.failedSends}
  acknowledged records missing            ${missing}
  acknowledged records duplicated         ${duplicated}
  acknowledged records at another offset  ${moved}
  offset commits acknowledged             ${stats.commits}
  committed offsets outside [acked, sent] ${commitErrors}
  topic churn cycles                      ${stats.churnCycles}
  re-created topics that were not empty   ${stats.churnNotEmpty.length}
  graceful stop exit code                 ${exitCode}
  broker RSS: idle ${idleRss.toFixed(0)} MB, max ${stats.maxRssMb.toFixed(0)} MB over ${stats.rssSamples} samples, bound ${boundMb.toFixed(0)} MB
${[...examples, ...stats.churnNotEmpty.slice(0, 5)].map((e) => `  ! ${e}`).join('\n')}
${ok ? 'PASS' : 'FAIL'}`);
  await broker.cleanup();
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (e) => {
    console.error('soak failed:', e);
    await broker?.cleanup();
    process.exit(1);
  },
);
