// Nexmark q0, pass-through (model.ts): every bid to nexmark-q0-out, unchanged, keyed by auction.
// Measures the cost of reading, decoding, encoding and writing alone.
//
//   rivulet run dist/src/nexmark/queries/q0.js      (or src/nexmark/queries/q0.ts)

import { pipeline, serdes, type Pipeline } from 'rivulet/stream';
import { outputTopic, type Bid, type QueryOptions } from '../model.js';
import { bids, optionsFromEnv, resolve } from './common.js';

export function build(options?: QueryOptions): Pipeline {
  const o = resolve('q0', options);
  const p = pipeline(o.applicationId);
  bids(p, o).to(outputTopic('q0'), { key: serdes.string, value: serdes.json<Bid>() });
  return p;
}

export default build(optionsFromEnv());
