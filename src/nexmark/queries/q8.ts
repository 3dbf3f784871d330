// Nexmark q8, monitor new users (model.ts): people who opened an auction in the same 10 s
// tumbling window (aligned to epoch 0) in which they were created; one result per person
// and window.
//
//   RIVULET_APPLICATION_ID=nexmark-q8 npx rivulet run dist/src/nexmark/queries/q8.js
//
// Persons (keyed by id) and auctions (re-keyed by seller) are merged into one stream, keyed
// by person id (repartition topic `<app>-new-users-repartition`), and aggregated per tumbling
// window: the person's name, if created in it, and how many auctions they opened in it. The
// result goes out the moment a window first holds both (the update that completes it), not
// when the window closes, so the last windows of a run need no watermark beyond them; later
// auctions in the same window change nothing. A window closes at its end plus graceMs, and a
// record arriving after that is late and dropped (counted in lateRecords). The window's task
// reads the repartition topic, where the upstream tasks' records interleave as they were
// produced, not by event time: give graceMs (RIVULET_NEXMARK_GRACE_MS) that covers the skew
// between upstream tasks. Against a broker, 3000 pre-written events on 2 partitions gave 59 of
// 113 results with grace 0 (the rest late), all 113 with 60 s.
import { pipeline, serdes, tumbling, type Pipeline } from 'rivulet/stream';
import { WINDOW, outputTopic, type Q8Result, type QueryOptions } from '../model.js';
import { auctions, optionsFromEnv, persons, resolve } from './common.js';

/** One input of the window: a person's creation (with their name) or one of their auctions. */
interface Activity {
  /** The person's name for a person; null for an auction. */
  person: string | null;
}

interface WindowState {
  name: string | null;
  auctions: number;
  /** This update is the one that first made the window hold both a person and an auction. */
  complete: boolean;
}

function addActivity(s: WindowState, a: Activity): WindowState {
  if (a.person !== null) return { name: a.person, auctions: s.auctions, complete: s.name === null && s.auctions > 0 };
  const auctions = s.auctions + 1;
  return { name: s.name, auctions, complete: s.name !== null && auctions === 1 };
}

export function build(options?: QueryOptions): Pipeline {
  const o = resolve('q8', options);
  const p = pipeline(o.applicationId);
  const created = persons(p, o).mapValues((r): Activity => ({ person: r.value.name }), { name: 'person' });
  const sold = auctions(p, o).map((r) => ({ key: String(r.value.seller), value: { person: null } as Activity }), { name: 'by-seller' });
  created
    .merge(sold)
    .groupByKey({ key: serdes.string, value: serdes.json<Activity>() })
    .windowedBy(tumbling(WINDOW.q8SizeMs).grace(o.graceMs))
    .aggregate<WindowState>(() => ({ name: null, auctions: 0, complete: false }), addActivity, { name: 'new-users', value: serdes.json<WindowState>(), emit: 'update' })
    .toStream()
    .flatMap((r) => {
      const s = r.value;
      if (s === null || !s.complete || s.name === null) return [];
      const result: Q8Result = { id: Number(r.key.key), name: s.name, windowStart: r.key.window.start, windowEnd: r.key.window.end };
      return [{ key: r.key.key, value: result }];
    }, { name: 'result' })
    .to(outputTopic('q8'), { key: serdes.string, value: serdes.json<Q8Result>() });
  return p;
}

export default build(optionsFromEnv());
