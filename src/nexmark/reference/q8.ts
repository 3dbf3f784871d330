// Reference q8 (monitor new users, model.ts): each person who opened at least one auction in
// the tumbling window (WINDOW.q8SizeMs, aligned to epoch 0) in which they were created, once
// per person and window. Key: the person id.
import { WINDOW, type NexmarkEvent, type Q8Result } from '../model.js';

/** Start of the tumbling window holding `t` (floor, so negative times work too). */
export const q8WindowStart = (t: number): number => Math.floor(t / WINDOW.q8SizeMs) * WINDOW.q8SizeMs;

export function referenceQ8(events: readonly NexmarkEvent[]): Array<{ key: string; value: Q8Result }> {
  // "seller@windowStart" of every auction.
  const sold = new Set<string>();
  for (const e of events) if (e.type === 'auction') sold.add(`${e.auction.seller}@${q8WindowStart(e.auction.dateTime)}`);
  const out: Array<{ key: string; value: Q8Result }> = [];
  for (const e of events) {
    if (e.type !== 'person') continue;
    const start = q8WindowStart(e.person.dateTime);
    if (!sold.has(`${e.person.id}@${start}`)) continue;
    out.push({ key: String(e.person.id), value: { id: e.person.id, name: e.person.name, windowStart: start, windowEnd: start + WINDOW.q8SizeMs } });
  }
  return out;
}
