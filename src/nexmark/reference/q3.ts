// Reference q3 (local item suggestion, model.ts): each auction of category 10 whose seller
// lives in OR, ID or CA, with the seller's name, city and state. Key: the auction id.
import type { NexmarkEvent, Person, Q3Result } from '../model.js';

export const Q3_CATEGORY = 10;
export const Q3_STATES: readonly string[] = ['OR', 'ID', 'CA'];

export function referenceQ3(events: readonly NexmarkEvent[]): Array<{ key: string; value: Q3Result }> {
  const people = new Map<number, Person>();
  for (const e of events) if (e.type === 'person') people.set(e.person.id, e.person);
  const out: Array<{ key: string; value: Q3Result }> = [];
  for (const e of events) {
    if (e.type !== 'auction' || e.auction.category !== Q3_CATEGORY) continue;
    const seller = people.get(e.auction.seller);
    if (seller === undefined || !Q3_STATES.includes(seller.state)) continue;
    out.push({ key: String(e.auction.id), value: { name: seller.name, city: seller.city, state: seller.state, id: e.auction.id } });
  }
  return out;
}
