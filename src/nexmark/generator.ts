// The Nexmark event generator, after the published Nexmark model (as Beam's and Flink's
// generators implement it): event n is a person, an auction or a bid by its place in a cycle of
// 50 (1 person, 3 auctions, 46 bids); ids grow with n; sellers, bidders and auctions are drawn
// from the recent ("active", "in flight") ones, with hot sellers, bidders and auctions taking a
// share of them; sizes are padded through `extra` to Nexmark's averages (a bid's JSON is about
// 135 B without padding, over Nexmark's 100 B: bids are not padded).
//
// Two departures, both for the contract of model.ts: an auction's seller, a bid's bidder and a
// bid's auction are always ids already generated (Nexmark lets them run a few ids ahead), so every
// seller exists and every bid's dateTime is >= its auction's. And out-of-order is a delay of
// emission: a delayed event keeps its dateTime and comes out after later events.
//
// Deterministic from `seed`: one small PRNG (sfc32 seeded by splitmix32), no Math.random.

import { TOPICS, type Auction, type Bid, type NexmarkEvent, type Person } from './model.js';

/** Nexmark's proportions: per 50 events, 1 person, 3 auctions, 46 bids. */
export const PROPORTIONS = { person: 1, auction: 3, bid: 46 } as const;
const TOTAL_PROPORTION = PROPORTIONS.person + PROPORTIONS.auction + PROPORTIONS.bid;

/** The first id of people and of auctions (Nexmark's). */
export const FIRST_PERSON_ID = 1000;
export const FIRST_AUCTION_ID = 1000;
export const FIRST_CATEGORY_ID = 10;
export const NUM_CATEGORIES = 5;

/** A hot seller, bidder or auction is the last id that is a multiple of this (Nexmark's). */
const HOT_GROUP = 100;

export const US_STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'] as const;
export const US_CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne'] as const;
const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'] as const;
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'] as const;
const CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'] as const;

export interface GeneratorOptions {
  seed: number;
  /** Event-time rate: event n has dateTime firstEventTime + floor(n * 1000 / eventsPerSecond). */
  eventsPerSecond: number;
  /** dateTime of event 0, epoch ms. */
  firstEventTime: number;
  /** 1 in hotAuctionRatio bids goes to a random in-flight auction, the others to the hot one (default 2). */
  hotAuctionRatio?: number;
  /** As above for auctions' sellers (default 4). */
  hotSellersRatio?: number;
  /** As above for bids' bidders (default 4). */
  hotBiddersRatio?: number;
  /** Sellers and bidders are drawn from the last this many people (default 1000). */
  numActivePeople?: number;
  /** Bids go to the last this many auctions; also sets auction lengths (default 100). */
  numInFlightAuctions?: number;
  /** Average encoded sizes, bytes (defaults 200, 500, 100). */
  avgPersonBytes?: number;
  avgAuctionBytes?: number;
  avgBidBytes?: number;
  /** Fraction (0..1) of events emitted late (default 0). */
  delayedFraction?: number;
  /** A delayed event comes out up to this many ms of event time after its dateTime (default 0). */
  outOfOrderMs?: number;
}

/** A small seeded PRNG: sfc32, its state seeded by splitmix32. Uniform 32-bit outputs. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }
  /** Uniform integer in [0, n) for n >= 1 (up to 2^53). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
}

interface Pending {
  emitAt: number;
  seq: number;
  event: NexmarkEvent;
}

/** An event and when it comes out in event time (its dateTime, later when delayed). */
export interface TimedEvent {
  event: NexmarkEvent;
  emitAt: number;
}

export class NexmarkGenerator {
  private readonly rnd: Prng;
  private readonly o: Required<GeneratorOptions>;
  /** Events generated so far (the next event's number). */
  private n = 0;
  private seq = 0;
  /** Generated events waiting for their emission time, a min-heap by (emitAt, seq). */
  private readonly heap: Pending[] = [];

  constructor(options: GeneratorOptions) {
    const o: Required<GeneratorOptions> = {
      hotAuctionRatio: 2,
      hotSellersRatio: 4,
      hotBiddersRatio: 4,
      numActivePeople: 1000,
      numInFlightAuctions: 100,
      avgPersonBytes: 200,
      avgAuctionBytes: 500,
      avgBidBytes: 100,
      delayedFraction: 0,
      outOfOrderMs: 0,
      ...options,
    };
    if (!(o.eventsPerSecond > 0) || !Number.isFinite(o.eventsPerSecond)) throw new RangeError(`eventsPerSecond must be a positive number, got ${o.eventsPerSecond}`);
    if (!Number.isSafeInteger(o.firstEventTime)) throw new RangeError(`firstEventTime must be epoch milliseconds (an integer), got ${o.firstEventTime}`);
    if (!(o.delayedFraction >= 0 && o.delayedFraction <= 1)) throw new RangeError(`delayedFraction must be between 0 and 1, got ${o.delayedFraction}`);
    if (!Number.isSafeInteger(o.outOfOrderMs) || o.outOfOrderMs < 0) throw new RangeError(`outOfOrderMs must be a whole number >= 0, got ${o.outOfOrderMs}`);
    for (const k of ['hotAuctionRatio', 'hotSellersRatio', 'hotBiddersRatio', 'numActivePeople', 'numInFlightAuctions'] as const) {
      if (!Number.isSafeInteger(o[k]) || o[k] < 1) throw new RangeError(`${k} must be a whole number >= 1, got ${o[k]}`);
    }
    this.o = o;
    this.rnd = new Prng(o.seed);
  }

  /** Events generated so far (including ones still held back by a delay). */
  get generated(): number {
    return this.n;
  }

  /** The dateTime of event number n. */
  timestampOf(n: number): number {
    return this.o.firstEventTime + Math.floor((n * 1000) / this.o.eventsPerSecond);
  }

  /** The next event in emission order. */
  next(): NexmarkEvent {
    return this.nextTimed().event;
  }

  /** The next event in emission order, with its emission time (for pacing against a clock). */
  nextTimed(): TimedEvent {
    // An event pending at emitAt t can go once no event still to generate can come out before
    // it: every later event has dateTime (hence emitAt) >= the next one's dateTime.
    while (this.heap.length === 0 || this.heap[0]!.emitAt > this.timestampOf(this.n)) this.generateOne();
    const p = this.popMin();
    return { event: p.event, emitAt: p.emitAt };
  }

  /** The next `count` events in emission order. */
  events(count: number): NexmarkEvent[] {
    const out: NexmarkEvent[] = new Array(count);
    for (let i = 0; i < count; i++) out[i] = this.next();
    return out;
  }

  private generateOne(): void {
    const n = this.n++;
    const ts = this.timestampOf(n);
    const offset = n % TOTAL_PROPORTION;
    let event: NexmarkEvent;
    if (offset < PROPORTIONS.person) event = { type: 'person', person: this.person(n, ts) };
    else if (offset < PROPORTIONS.person + PROPORTIONS.auction) event = { type: 'auction', auction: this.auction(n, ts) };
    else event = { type: 'bid', bid: this.bid(n, ts) };
    let emitAt = ts;
    if (this.o.delayedFraction > 0 && this.o.outOfOrderMs > 0 && this.rnd.float() < this.o.delayedFraction) emitAt += 1 + this.rnd.int(this.o.outOfOrderMs);
    this.push({ emitAt, seq: this.seq++, event });
  }

  // ---- ids: base 0 counts of people and auctions generated up to event n

  /** The base-0 id of the last person generated at or before event n. */
  private lastPerson(n: number): number {
    const epoch = Math.floor(n / TOTAL_PROPORTION);
    const offset = Math.min(n % TOTAL_PROPORTION, PROPORTIONS.person - 1);
    return epoch * PROPORTIONS.person + offset;
  }

  /** The base-0 id of the last auction generated at or before event n (-1: none yet). */
  private lastAuction(n: number): number {
    const epoch = Math.floor(n / TOTAL_PROPORTION);
    let offset = (n % TOTAL_PROPORTION) - PROPORTIONS.person;
    offset = Math.min(offset, PROPORTIONS.auction - 1);
    return epoch * PROPORTIONS.auction + offset;
  }

  /** A random person among the active ones (already generated). */
  private activePerson(n: number): number {
    const last = this.lastPerson(n);
    const active = Math.min(last + 1, this.o.numActivePeople);
    return last - this.rnd.int(active);
  }

  private person(n: number, ts: number): Person {
    const r = this.rnd;
    const id = FIRST_PERSON_ID + this.lastPerson(n);
    const name = `${pick(r, FIRST_NAMES)} ${pick(r, LAST_NAMES)}`;
    const p: Person = {
      id,
      name,
      emailAddress: `${randomString(r, 7)}@${randomString(r, 5)}.com`,
      creditCard: `${digits(r, 4)} ${digits(r, 4)} ${digits(r, 4)} ${digits(r, 4)}`,
      city: pick(r, US_CITIES),
      state: pick(r, US_STATES),
      dateTime: ts,
      extra: '',
    };
    p.extra = extra(r, JSON.stringify(p).length, this.o.avgPersonBytes);
    return p;
  }

  private auction(n: number, ts: number): Auction {
    const r = this.rnd;
    const id = FIRST_AUCTION_ID + this.lastAuction(n);
    const seller = r.int(this.o.hotSellersRatio) > 0 ? hot(this.lastPerson(n)) : this.activePerson(n);
    const initialBid = price(r);
    const a: Auction = {
      id,
      itemName: randomString(r, 20),
      description: randomString(r, 100),
      initialBid,
      reserve: initialBid + price(r),
      dateTime: ts,
      expires: ts + this.auctionLength(n, ts),
      seller: FIRST_PERSON_ID + seller,
      category: FIRST_CATEGORY_ID + r.int(NUM_CATEGORIES),
      extra: '',
    };
    a.extra = extra(r, JSON.stringify(a).length, this.o.avgAuctionBytes);
    return a;
  }

  /** Nexmark's: up to twice the event time it takes to open numInFlightAuctions more auctions, so about that many are open at once. */
  private auctionLength(n: number, ts: number): number {
    const eventsForAuctions = Math.floor((this.o.numInFlightAuctions * TOTAL_PROPORTION) / PROPORTIONS.auction);
    const horizon = this.timestampOf(n + eventsForAuctions) - ts;
    return 1 + this.rnd.int(Math.max(horizon * 2, 1));
  }

  private bid(n: number, ts: number): Bid {
    const r = this.rnd;
    const last = this.lastAuction(n);
    let auction: number;
    if (r.int(this.o.hotAuctionRatio) > 0) auction = hot(last);
    else auction = last - r.int(Math.min(last + 1, this.o.numInFlightAuctions));
    const bidder = r.int(this.o.hotBiddersRatio) > 0 ? hot(this.lastPerson(n)) : this.activePerson(n);
    const c = r.int(CHANNELS.length + 1);
    const channel = c < CHANNELS.length ? CHANNELS[c]! : `channel-${r.int(10_000)}`;
    const b: Bid = {
      auction: FIRST_AUCTION_ID + auction,
      bidder: FIRST_PERSON_ID + bidder,
      price: price(r),
      channel,
      url: `https://nexmark.com/${randomString(r, 5)}`,
      dateTime: ts,
      extra: '',
    };
    b.extra = extra(r, JSON.stringify(b).length, this.o.avgBidBytes);
    return b;
  }

  // ---- the pending heap

  private push(p: Pending): void {
    const h = this.heap;
    h.push(p);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private popMin(): Pending {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const rr = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (rr < h.length && before(h[rr]!, h[m]!)) m = rr;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: Pending, b: Pending): boolean => a.emitAt < b.emitAt || (a.emitAt === b.emitAt && a.seq < b.seq);

/** The hot id at or below `last` (always one already generated). */
const hot = (last: number): number => Math.floor(last / HOT_GROUP) * HOT_GROUP;

const pick = <T>(r: Prng, xs: readonly T[]): T => xs[r.int(xs.length)]!;

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
function randomString(r: Prng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += LETTERS[r.int(26)];
  return s;
}

function digits(r: Prng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(r.int(10));
  return s;
}

/** Nexmark's price distribution: cents, log-uniform from 1 to 10^6 dollars. */
function price(r: Prng): number {
  return Math.round(Math.pow(10, r.float() * 6) * 100);
}

/** Padding that brings an event's size to `average` on average (within +/- 20% of the gap). */
function extra(r: Prng, size: number, average: number): string {
  if (size >= average) return '';
  const want = average - size;
  const delta = Math.round(want * 0.2);
  return randomString(r, want - delta + r.int(2 * delta + 1));
}

// ---- encoding to Kafka records (model.ts: key = decimal id, value = JSON, timestamp = dateTime)

export interface NexmarkRecord {
  topic: string;
  key: Buffer;
  value: Buffer;
  timestamp: number;
}

/** The Kafka record of an event, as model.ts encodes it. */
export function encodeEvent(e: NexmarkEvent): NexmarkRecord {
  switch (e.type) {
    case 'person':
      return { topic: TOPICS.person, key: Buffer.from(String(e.person.id)), value: Buffer.from(JSON.stringify(e.person)), timestamp: e.person.dateTime };
    case 'auction':
      return { topic: TOPICS.auction, key: Buffer.from(String(e.auction.id)), value: Buffer.from(JSON.stringify(e.auction)), timestamp: e.auction.dateTime };
    case 'bid':
      return { topic: TOPICS.bid, key: Buffer.from(String(e.bid.auction)), value: Buffer.from(JSON.stringify(e.bid)), timestamp: e.bid.dateTime };
  }
}

/** The event of a record read from one of the input topics. */
export function decodeEvent(topic: string, value: Buffer | string): NexmarkEvent {
  const v = JSON.parse(value.toString()) as unknown;
  if (topic === TOPICS.person) return { type: 'person', person: v as Person };
  if (topic === TOPICS.auction) return { type: 'auction', auction: v as Auction };
  if (topic === TOPICS.bid) return { type: 'bid', bid: v as Bid };
  throw new Error(`${topic} is not a Nexmark input topic (${Object.values(TOPICS).join(', ')})`);
}

/** The dateTime of any event. */
export function eventTime(e: NexmarkEvent): number {
  return e.type === 'person' ? e.person.dateTime : e.type === 'auction' ? e.auction.dateTime : e.bid.dateTime;
}
