// The Nexmark benchmark's data model and the contract every engine's queries keep: the three
// input topics, how their records are encoded, and each query's output topic and shape.
// The generator (generator.ts), Rivulet Streams' queries (queries/), the plain TypeScript
// reference implementations (reference/qN.ts, compared with an output by check.ts) and the Kafka
// Streams queries (bench/nexmark/kstreams) all follow this file, so that any engine's output can
// be checked against the reference.
//
// The model is Nexmark's published one (an online auction: people open auctions and bid on
// them); the queries are q0-q8 as Nexmark defines them, restated below for a Kafka setting.

/** A person who opens auctions and bids. */
export interface Person {
  id: number;
  name: string;
  emailAddress: string;
  creditCard: string;
  city: string;
  state: string;
  /** Event time, epoch milliseconds. */
  dateTime: number;
  extra: string;
}

/** An auction opened by a seller (a person), open from dateTime until expires. */
export interface Auction {
  id: number;
  itemName: string;
  description: string;
  initialBid: number;
  reserve: number;
  /** Event time, epoch milliseconds. */
  dateTime: number;
  /** When the auction closes, epoch milliseconds. */
  expires: number;
  seller: number;
  category: number;
  extra: string;
}

/** A bid on an auction. */
export interface Bid {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  url: string;
  /** Event time, epoch milliseconds. */
  dateTime: number;
  extra: string;
}

export type NexmarkEvent = { type: 'person'; person: Person } | { type: 'auction'; auction: Auction } | { type: 'bid'; bid: Bid };

/**
 * Input topics. Values are the event as UTF-8 JSON (the interfaces above, nothing else);
 * keys are the decimal id as UTF-8 text: a person's id, an auction's id, and for a bid the
 * auction it bids on. The record timestamp is the event's dateTime.
 */
export const TOPICS = {
  person: 'nexmark-person',
  auction: 'nexmark-auction',
  bid: 'nexmark-bid',
} as const;

/** The output topic of a query: nexmark-q0-out ... nexmark-q8-out. */
export const outputTopic = (query: QueryName): string => `nexmark-${query}-out`;

export const QUERIES = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7', 'q8'] as const;
export type QueryName = (typeof QUERIES)[number];

/** Window sizes the windowed queries use (Nexmark's defaults). */
export const WINDOW = {
  /** q5: hopping windows of 10 s advancing by 2 s. */
  q5SizeMs: 10_000,
  q5AdvanceMs: 2_000,
  /** q7, q8: tumbling windows of 10 s. */
  q7SizeMs: 10_000,
  q8SizeMs: 10_000,
} as const;

// ---- Output shapes (UTF-8 JSON values; keys as stated) ---------------------------------------
//
// q0 pass-through: every bid, unchanged. Key: the bid's key. Value: Bid.
// q1 currency conversion: every bid with price converted from dollars to euros,
//    Math.floor(price * 908 / 1000) (integer arithmetic, identical in every engine). Key: the
//    bid's key. Value: Bid with the converted price.
// q2 selection: bids whose auction % 123 === 0. Key: the bid's key. Value: Q2Result.
// q3 local item suggestion: for each auction of category 10 whose seller lives in OR, ID or CA,
//    the seller's name, city and state with the auction's id (an unbounded join of auctions and
//    people on seller = id). Key: the auction id. Value: Q3Result. One result per such auction.
// q4 average price per category: an auction's winning price is the highest price among its
//    bids whose dateTime is in [auction.dateTime, auction.expires] (Nexmark's q4 as Flink runs
//    it: an unbounded join, updated as bids arrive, not waiting for the auction to close). Per
//    category, Math.floor of the mean of the winning prices of its auctions that have one.
//    Key: the category. Value: Q4Result, updated on every change; the check compares the last
//    value per key after all input is processed.
// q5 hot items: per hopping window (WINDOW.q5*), the auction(s) with the most bids, ties all
//    reported. Key: the auction id. Value: Q5Result. One result per (window, hot auction), when
//    the window closes.
// q6 average selling price by seller: per seller, Math.floor of the mean of the winning prices
//    (as in q4) of their last 10 auctions that have one, "last" ordered by the auction's
//    dateTime, then id. Key: the seller id. Value: Q6Result, updated on every change; the check
//    compares the last value per key.
// q7 highest bid: per tumbling window (WINDOW.q7SizeMs), the bid(s) with the highest price,
//    ties all reported. Key: the auction id. Value: Q7Result. Emitted when the window closes.
// q8 monitor new users: people who opened at least one auction in the same tumbling window
//    (WINDOW.q8SizeMs) in which they were created. Key: the person id. Value: Q8Result. One
//    result per such person and window.
//
// Windows are aligned to epoch 0, start inclusive, end exclusive. A window closes when the
// watermark passes its end plus the grace the run was given (the reference assumes no record
// is dropped as late: the checks generate data without delay beyond the grace). A finite data
// set is followed by closing bids (writer.ts closingBids: one per bid partition, far later),
// and the windowed results are compared with the reference's windows that their time closes.
//
// Joins (q3, q4, q6, q8) see every auction before its bids only if a task takes its inputs in
// timestamp order and puts an auction first on a tie: the generator gives every bid a dateTime
// at or after its auction's (often the same millisecond), and the checks write all input
// before a query starts. So each engine must merge a task's input partitions by timestamp,
// auctions first on equal timestamps (Rivulet: the input declared first wins a tie; the Kafka
// Streams peer stamps an auction 1 ms early, bench/nexmark/kstreams/README.md), or buffer
// until both sides are known, to match the reference.

export interface Q2Result {
  auction: number;
  price: number;
}

export interface Q3Result {
  name: string;
  city: string;
  state: string;
  id: number;
}

export interface Q4Result {
  category: number;
  /** Average winning price, Math.floor of the exact mean. */
  avgPrice: number;
  /** Auctions with a winning price counted in the average. */
  auctions: number;
}

export interface Q5Result {
  auction: number;
  count: number;
  windowStart: number;
  windowEnd: number;
}

export interface Q6Result {
  seller: number;
  /** Average of the last (up to) 10 winning prices, Math.floor of the exact mean. */
  avgPrice: number;
  auctions: number;
}

export interface Q7Result {
  auction: number;
  bidder: number;
  price: number;
  dateTime: number;
  windowStart: number;
  windowEnd: number;
}

export interface Q8Result {
  id: number;
  name: string;
  windowStart: number;
  windowEnd: number;
}

/**
 * What a Rivulet query module (src/nexmark/queries/qN.ts) takes: each exports
 * `build(options?: QueryOptions)` returning its pipeline, and a default export built from the
 * RIVULET_* environment, so that `rivulet run` runs it.
 */
export interface QueryOptions {
  /** Kafka application id (consumer group, transactional id prefix); default `nexmark-<query>`. */
  applicationId?: string;
  /** Grace after a window's end before it closes, ms; default 0 (the watermark's bound applies). */
  graceMs?: number;
  /** Bounded out-of-orderness of event time, ms; default 0. */
  maxOutOfOrderMs?: number;
}
