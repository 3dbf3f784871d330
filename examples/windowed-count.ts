// A per-key windowed count: page views per user per minute, in event time.
//
//   npx rivulet run examples/windowed-count.ts
//
// Reads "page-views" (key: the user, value: anything), counts each user's views in tumbling
// one-minute windows of event time (the record's timestamp) and writes every change of a
// count to "views-per-minute" as JSON { user, windowStart, windowEnd, views }, keyed by user.
// The counts live in a state store backed by a changelog topic, so a restart carries on
// counting where it stopped; under exactly-once (the default) each view counts once.
//
// For one result per window when it closes instead of one per change, use
// .count({ emit: 'final', name: 'views' }): results then wait for the window's end plus grace.

import { pipeline, serdes, tumbling } from 'rivulet/stream';

interface ViewCount {
  user: string;
  windowStart: string;
  windowEnd: string;
  views: number;
}

const p = pipeline(process.env.RIVULET_APPLICATION_ID ?? 'windowed-count');

p.stream('page-views', { key: serdes.string, value: serdes.string })
  .groupByKey()
  .windowedBy(tumbling(60_000).grace(10_000))
  .count({ emit: 'update', name: 'views' })
  .toStream()
  .map((r) => ({
    key: r.key.key,
    value: { user: r.key.key, windowStart: new Date(r.key.window.start).toISOString(), windowEnd: new Date(r.key.window.end).toISOString(), views: r.value ?? 0 },
  }))
  .to('views-per-minute', { key: serdes.string, value: serdes.json<ViewCount>() });

export default p;
