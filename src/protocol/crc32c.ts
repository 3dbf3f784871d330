// CRC-32C (Castagnoli), as record batches carry it: @node-rs/crc32 (native, SSE4.2/ARMv8 CRC).
// It is CommonJS, so it is loaded with require(): importing it as an ES module makes Node
// scan its source for export names first (cjs-module-lexer), several ms of every start.

import { createRequire } from 'node:module';

export const { crc32c } = createRequire(import.meta.url)('@node-rs/crc32') as typeof import('@node-rs/crc32');
