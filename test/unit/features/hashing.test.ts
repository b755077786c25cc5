import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bucket, bucketAll, hashInt, hashString, hashValue, murmur3 } from '../../../features/hashing.js';
import { ValidationError } from '../../../infra/errors.js';

function int64LittleEndian(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigInt64(0, BigInt(value), true);
  return bytes;
}

describe('hashing', () => {
  // Reference values from the mmh3 Python binding of Appleby's MurmurHash3_x86_32.
  it('matches MurmurHash3 x86_32 reference vectors over UTF-8 strings', () => {
    const vectors: [string, number, number][] = [
      ['', 0, 0x00000000],
      ['', 1, 0x514e28b7],
      ['', 0xffffffff, 0x81f16f39],
      ['a', 0, 0x3c2569b2],
      ['ab', 0, 0x9bbfd75f],
      ['abc', 0, 0xb3dd93fa],
      ['abcd', 0, 0x43ed676a],
      ['hello', 0, 0x248bfa47],
      ['hello', 1, 0xbb4abcad],
      ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
      ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
      ['héllo wörld 日本', 42, 0xa0d330b5],
    ];
    for (const [text, seed, expected] of vectors) {
      assert.equal(hashString(text, seed), expected, `murmur3(${JSON.stringify(text)}, ${seed})`);
      assert.equal(murmur3(new TextEncoder().encode(text), seed), expected);
    }
  });

  it('hashes integers as int64 little-endian bytes, pinned by reference values', () => {
    const vectors: [number, number, number][] = [
      [0, 0x63852afc, 0xfb4b803b],
      [1, 0x53075d44, 0xb3b95f2c],
      [-1, 0x627564e8, 0x632d4ac7],
      [5, 0x67c25ef7, 0x8847ed61],
      [2 ** 31 - 1, 0x6c6f39be, 0x417a61d4],
      [-(2 ** 31), 0x846fffd8, 0x57045964],
      [2 ** 40 + 7, 0xf47dcee2, 0xd50dc1e9],
      [2 ** 53 - 1, 0xb59d8b9b, 0x18ae63c2],
    ];
    for (const [value, seed0, seed123] of vectors) {
      assert.equal(hashInt(value, 0), seed0, `hashInt(${value}, 0)`);
      assert.equal(hashInt(value, 123), seed123, `hashInt(${value}, 123)`);
    }
  });

  it('hashInt equals murmur3 over the 8-byte encoding for any safe integer', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (value, seed) => {
        assert.equal(hashInt(value, seed), murmur3(int64LittleEndian(value), seed));
      }),
    );
  });

  it('buckets deterministically within range, and bucketAll agrees with bucket', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.maxSafeInteger(), fc.string())),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (values, salt, buckets) => {
          const all = bucketAll(values, salt, buckets);
          values.forEach((value, i) => {
            const b = bucket(value, salt, buckets);
            assert.ok(b >= 0 && b < buckets);
            assert.equal(all[i], b);
            assert.equal(b, hashValue(value, salt) % buckets);
          });
        },
      ),
    );
    assert.equal(bucket('hello', 0, 1000), 0x248bfa47 % 1000);
  });

  it('writes strided output for chunked layouts', () => {
    const out = new Int32Array(6).fill(-1);
    bucketAll([10, 20, 30], 7, 100, out, 2, 1);
    assert.deepEqual([...out], [-1, bucket(10, 7, 100), -1, bucket(20, 7, 100), -1, bucket(30, 7, 100)]);
  });

  it('rejects ids it cannot hash stably and bad bucket counts', () => {
    assert.throws(() => hashValue(1.5), ValidationError);
    assert.throws(() => hashValue(2 ** 53), ValidationError);
    assert.throws(() => bucket(1, 0, 0), ValidationError);
    assert.throws(() => bucket(1, 0, 2 ** 31), ValidationError);
  });
});
