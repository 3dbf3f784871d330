// Kafka's default partitioner for keyed records: murmur2 of the key bytes (seed 0x9747b28c),
// made positive by masking the sign bit, modulo the partition count. Written from the
// algorithm's description (Austin Appleby's MurmurHash2, 32-bit, as Kafka's Utils.murmur2
// applies it: little-endian 4-byte blocks, then the tail, then the final mix).

const M = 0x5bd1e995;

/** Kafka's murmur2 of `data`, as a signed 32-bit integer (what Java's Utils.murmur2 returns). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= data[blocks + 2]! << 16;
  if (tail >= 2) h ^= data[blocks + 1]! << 8;
  if (tail >= 1) {
    h ^= data[blocks]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for a record with these key bytes. */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
