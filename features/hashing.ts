import { ValidationError } from '../infra/errors.js';

/**
 * MurmurHash3 x86_32 (Appleby, SMHasher). Hashed ids become stored row
 * indices, so these functions must return the same numbers in every process
 * and every release: golden values in the tests pin them.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const TWO_32 = 4294967296;

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalMix(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** murmur3_32 of `length` bytes of `bytes` (default all), as an unsigned 32-bit integer. */
export function murmur3(bytes: Uint8Array, seed = 0, length = bytes.length): number {
  let h = seed | 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    const k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    h = mixBlock(h, k);
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = bytes[blocks]!;
    if (tail > 1) k |= bytes[blocks + 1]! << 8;
    if (tail > 2) k |= bytes[blocks + 2]! << 16;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  return finalMix(h, length);
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** murmur3_32 of the string's UTF-8 bytes. */
export function hashString(value: string, seed = 0): number {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  if (scratch.length < value.length * 3) scratch = new Uint8Array(value.length * 3);
  const { written } = encoder.encodeInto(value, scratch);
  return murmur3(scratch, seed, written);
}

/**
 * murmur3_32 of the integer as 8 little-endian bytes (two's complement int64),
 * so any safe integer hashes, and an id hashes the same whether it arrived as
 * an int32 or a wider number. Equals `murmur3` over those 8 bytes.
 */
export function hashInt(value: number, seed = 0): number {
  // ToUint32 (>>>) takes the low word modulo 2^32 for negatives too; floor
  // division gives the two's complement high word.
  const low = value >>> 0;
  const high = Math.floor(value / TWO_32) | 0;
  return finalMix(mixBlock(mixBlock(seed | 0, low), high), 8);
}

export type HashableValue = string | number;

/** Hash of an id that is either a string or a safe integer. */
export function hashValue(value: HashableValue, seed = 0): number {
  if (typeof value === 'string') return hashString(value, seed);
  if (!Number.isSafeInteger(value)) {
    throw new ValidationError('cannot hash id', [`expected a string or a safe integer, got ${value}`]);
  }
  return hashInt(value, seed);
}

/** Deterministic bucket in [0, buckets) of a value under a salt (hash seed). */
export function bucket(value: HashableValue, salt: number, buckets: number): number {
  // Modulo bias is below buckets / 2^32 (0.2% at 10M buckets): negligible for embedding rows.
  return hashValue(value, salt) % checkBuckets(buckets);
}

/** `bucket` for a whole batch of ids, into `out` (allocated if absent). */
export function bucketAll(
  values: ArrayLike<HashableValue>,
  salt: number,
  buckets: number,
  out: Int32Array = new Int32Array(values.length),
  stride = 1,
  offset = 0,
): Int32Array {
  checkBuckets(buckets);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    const h = typeof value === 'number' && (value | 0) === value ? hashInt(value, salt) : hashValue(value, salt);
    out[offset + i * stride] = h % buckets;
  }
  return out;
}

function checkBuckets(buckets: number): number {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > 2 ** 31 - 1) {
    throw new ValidationError('invalid bucket count', [`buckets must be an integer in [1, 2^31-1], got ${buckets}`]);
  }
  return buckets;
}
