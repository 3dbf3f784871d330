// Nexmark q2, selection (model.ts): bids whose auction % 123 === 0, as { auction, price }, to
// nexmark-q2-out keyed by auction.
//
//   rivulet run dist/src/nexmark/queries/q2.js      (or src/nexmark/queries/q2.ts)

import { pipeline, serdes, type Pipeline } from 'rivulet/stream';
import { outputTopic, type Q2Result, type QueryOptions } from '../model.js';
import { Q2_MODULUS } from '../reference/q2.js';
import { bids, optionsFromEnv, resolve } from './common.js';

export function build(options?: QueryOptions): Pipeline {
  const o = resolve('q2', options);
  const p = pipeline(o.applicationId);
  bids(p, o)
    .filter((r) => r.value.auction % Q2_MODULUS === 0, { name: 'auction-mod-123' })
    .mapValues((r): Q2Result => ({ auction: r.value.auction, price: r.value.price }), { name: 'project' })
    .to(outputTopic('q2'), { key: serdes.string, value: serdes.json<Q2Result>() });
  return p;
}

export default build(optionsFromEnv());
