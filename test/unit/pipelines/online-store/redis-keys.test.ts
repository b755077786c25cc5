import assert from 'node:assert/strict';
import keySlot from 'cluster-key-slot';
import { bucketOfId, bucketPrefix, redisKeys } from '../../../../pipelines/online-store/redis-keys.js';

describe('online store key layout', () => {
  it('hashes ids with 32-bit FNV-1a (published test vectors), so a stored layout reads the same forever', () => {
    // FNV-1a 32: '' → 0x811c9dc5, 'a' → 0xe40c292c, 'foobar' → 0xbf9cf968.
    assert.equal(bucketOfId('', 2 ** 31), 0x811c9dc5 % 2 ** 31);
    assert.equal(bucketOfId('a', 2 ** 31), 0xe40c292c % 2 ** 31);
    assert.equal(bucketOfId('foobar', 1000), 0xbf9cf968 % 1000);
    assert.equal(bucketOfId('anything', 1), 0);
  });

  it('keeps the one-bucket layout as it was before buckets (the same keys)', () => {
    const keys = redisKeys('{recsys}:');
    assert.equal(keys.history('u1'), '{recsys}:u:u1:h');
    assert.equal(keys.counters('item', 'i9'), '{recsys}:i:i9:c');
    assert.equal(keys.watermark('events', 0), '{recsys}:ingest:wm:events');
    assert.equal(keys.seen('events', 3, 0), '{recsys}:ingest:seen:events:3');
  });

  it('gives each bucket a hash tag of its own, in the prefix\'s tag or after an untagged prefix', () => {
    assert.match(bucketPrefix('{recsys}:', 7, 16), /^\{recsys\.7\.\d+\}:$/);
    assert.match(bucketPrefix('app:{recsys}:', 0, 16), /^app:\{recsys\.0\.\d+\}:$/);
    assert.match(bucketPrefix('recsys:', 3, 4), /^recsys:\{3\.\d+\}:$/);
    const keys = redisKeys('{recsys}:', 16);
    const b = bucketOfId('u1', 16);
    assert.equal(keys.history('u1'), `${keys.bucketPrefix(b)}u:u1:h`);
    assert.equal(keys.attributes('user', 'u1'), `${keys.bucketPrefix(b)}u:u1:a`, 'a user\'s keys share its bucket');
    assert.equal(keys.watermark('events', 5), `${keys.bucketPrefix(5)}ingest:wm:events`);
    assert.equal(keys.behind('events'), '{recsys}:ingest:behind:events', 'store-wide keys stay under the prefix');
    assert.equal(keys.layout(), '{recsys}:online:buckets');
    assert.equal(new Set(Array.from({ length: 16 }, (_, i) => keys.bucketPrefix(i))).size, 16);
  });

  it('puts bucket b\'s slot in the b-th 1/buckets of the slot space, so primaries with even slot ranges share the buckets evenly', () => {
    for (const prefix of ['{recsys}:', 'recsys:', '{test_k3v9}:']) {
      for (const buckets of [2, 3, 16, 64]) {
        const keys = redisKeys(prefix, buckets);
        for (let b = 0; b < buckets; b++) {
          const slot = keySlot(`${keys.bucketPrefix(b)}u:x:h`);
          assert.equal(Math.floor((slot * buckets) / 16_384), b, `${prefix} bucket ${b} of ${buckets}: slot ${slot}`);
        }
      }
      // Three primaries as redis-cli deals them (0-5460, 5461-10922, 10923-16383): 16 buckets fall 5 or 6 each, give or
      // take the bucket whose slot range a boundary cuts.
      const keys = redisKeys(prefix, 16);
      const perPrimary = [0, 0, 0];
      for (let b = 0; b < 16; b++) { const slot = keySlot(keys.bucketPrefix(b)); perPrimary[slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2]!++; }
      assert.ok(Math.min(...perPrimary) >= 4 && Math.max(...perPrimary) <= 7, `${prefix}: ${perPrimary.join('/')}`);
    }
  });

  it('spreads ids over the buckets', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[bucketOfId(`user-${i}`, 16)]!++;
    assert.ok(Math.min(...counts) > 800 && Math.max(...counts) < 1200, counts.join(','));
  });

  it('refuses a bucket count out of range', () => {
    assert.throws(() => redisKeys('p:', 0), RangeError);
    assert.throws(() => redisKeys('p:', 1.5), RangeError);
    assert.throws(() => redisKeys('p:', 1025), RangeError);
  });
});
