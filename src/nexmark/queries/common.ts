// What the Rivulet Nexmark queries share: their options (from the caller, or from the RIVULET_*
// environment for `rivulet run`), the input streams with event time from dateTime, and serdes.
//
// The queries import the library as `rivulet/stream` (tsconfig's paths map it to src/stream for
// the compiler; Node resolves it to this package's dist/src/stream): `rivulet run` bundles a
// query with `rivulet/stream` left external, where a relative import would bundle a second copy
// of the library and its dependencies.

import { serdes, type KStream, type Pipeline } from 'rivulet/stream';
import { TOPICS, type Auction, type Bid, type Person, type QueryName, type QueryOptions } from '../model.js';

/** QueryOptions with defaults applied. */
export interface ResolvedOptions {
  applicationId: string;
  graceMs: number;
  maxOutOfOrderMs: number;
}

export function resolve(query: QueryName, o?: QueryOptions): ResolvedOptions {
  const r = { applicationId: o?.applicationId ?? `nexmark-${query}`, graceMs: o?.graceMs ?? 0, maxOutOfOrderMs: o?.maxOutOfOrderMs ?? 0 };
  for (const k of ['graceMs', 'maxOutOfOrderMs'] as const) {
    if (!Number.isSafeInteger(r[k]) || r[k] < 0) throw new RangeError(`${query}: ${k} must be a whole number of milliseconds >= 0, got ${r[k]}`);
  }
  return r;
}

/**
 * The options of a query run by `rivulet run`: RIVULET_APPLICATION_ID (--application-id),
 * RIVULET_NEXMARK_GRACE_MS and RIVULET_NEXMARK_MAX_OUT_OF_ORDER_MS.
 */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): QueryOptions {
  const o: QueryOptions = {};
  if (env.RIVULET_APPLICATION_ID) o.applicationId = env.RIVULET_APPLICATION_ID;
  const ms = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a whole number of milliseconds >= 0, got "${v}"`);
    return n;
  };
  const grace = ms('RIVULET_NEXMARK_GRACE_MS');
  const ooo = ms('RIVULET_NEXMARK_MAX_OUT_OF_ORDER_MS');
  if (grace !== undefined) o.graceMs = grace;
  if (ooo !== undefined) o.maxOutOfOrderMs = ooo;
  return o;
}

/** nexmark-person as a stream keyed by person id (text), event time the dateTime. */
export function persons(p: Pipeline, o: ResolvedOptions): KStream<string, Person> {
  return p.stream(TOPICS.person, { key: serdes.string, value: serdes.json<Person>(), timestamp: (r) => r.value.dateTime, watermark: { maxOutOfOrderMs: o.maxOutOfOrderMs } });
}

/** nexmark-auction as a stream keyed by auction id (text), event time the dateTime. */
export function auctions(p: Pipeline, o: ResolvedOptions): KStream<string, Auction> {
  return p.stream(TOPICS.auction, { key: serdes.string, value: serdes.json<Auction>(), timestamp: (r) => r.value.dateTime, watermark: { maxOutOfOrderMs: o.maxOutOfOrderMs } });
}

/** nexmark-bid as a stream keyed by auction (text), event time the bid's dateTime. */
export function bids(p: Pipeline, o: ResolvedOptions): KStream<string, Bid> {
  return p.stream(TOPICS.bid, { key: serdes.string, value: serdes.json<Bid>(), timestamp: (r) => r.value.dateTime, watermark: { maxOutOfOrderMs: o.maxOutOfOrderMs } });
}
