// Nexmark q1, currency conversion (model.ts): every bid with its price in euros,
// Math.floor(price * 908 / 1000), to nexmark-q1-out keyed by auction.
//
//   rivulet run dist/src/nexmark/queries/q1.js      (or src/nexmark/queries/q1.ts)

import { pipeline, serdes, type Pipeline } from 'rivulet/stream';
import { outputTopic, type Bid, type QueryOptions } from '../model.js';
import { toEuros } from '../reference/q1.js';
import { bids, optionsFromEnv, resolve } from './common.js';

export function build(options?: QueryOptions): Pipeline {
  const o = resolve('q1', options);
  const p = pipeline(o.applicationId);
  bids(p, o)
    .mapValues((r) => ({ ...r.value, price: toEuros(r.value.price) }), { name: 'to-euros' })
    .to(outputTopic('q1'), { key: serdes.string, value: serdes.json<Bid>() });
  return p;
}

export default build(optionsFromEnv());
