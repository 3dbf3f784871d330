// Reading the broker's /metrics (Prometheus text) in tests: one parser for every test.

import assert from 'node:assert/strict';
import { waitFor } from './wait.js';

export interface Scrape {
  /** The response body as served. */
  text: string;
  /** Series (name with labels, as printed) -> value. */
  values: Map<string, number>;
  /** Family name -> type, from the # TYPE lines. */
  types: Map<string, string>;
  get(series: string): number | undefined;
  /** Value of a series that must be there. */
  must(series: string): number;
}

export function parseMetrics(text: string): Scrape {
  const values = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1]!, t[2]!);
    if (line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    values.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return {
    text,
    values,
    types,
    get: (s) => values.get(s),
    must: (s) => {
      const v = values.get(s);
      assert.notEqual(v, undefined, `series ${s} is in the scrape`);
      return v!;
    },
  };
}

/** One scrape of http://127.0.0.1:<httpPort>/metrics. */
export async function scrapeMetrics(httpPort: number): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  assert.equal(res.status, 200, '/metrics answers 200');
  return parseMetrics(await res.text());
}

/** Scrapes until `pred` holds (every 50 ms, for at most `timeoutMs`); returns that scrape. */
export async function scrapeUntil(httpPort: number, pred: (s: Scrape) => boolean, what: string, timeoutMs = 20_000): Promise<Scrape> {
  let last: Scrape | undefined;
  await waitFor(`metrics to show ${what}`, async () => pred((last = await scrapeMetrics(httpPort))), timeoutMs);
  return last!;
}

/** The broker's Produce request counts by acks ("all", "1", "0"), from /metrics. */
export async function produceRequestsByAcks(httpPort: number): Promise<Record<'all' | '1' | '0', number>> {
  const m = await scrapeMetrics(httpPort);
  const get = (acks: string) => m.get(`rivulet_produce_requests_total{acks="${acks}"}`) ?? 0;
  return { all: get('all'), '1': get('1'), '0': get('0') };
}

/** Between two produceRequestsByAcks() readings, only the `acks` count grew (and it did). */
export function assertOnlyAcksGrew(before: Record<'all' | '1' | '0', number>, after: Record<'all' | '1' | '0', number>, acks: 'all' | '1' | '0'): void {
  for (const k of ['all', '1', '0'] as const) {
    if (k === acks) assert.ok(after[k] > before[k], `acks=${k} requests grew: ${JSON.stringify({ before, after })}`);
    else assert.equal(after[k], before[k], `no acks=${k} requests: ${JSON.stringify({ before, after })}`);
  }
}
