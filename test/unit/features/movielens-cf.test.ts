import assert from 'node:assert/strict';
import { movieLensCfSplit } from '../../../features/datasets/movielens-cf.js';
import type { MovieLensRating } from '../../../features/datasets/movielens.js';

/** Pairs (user id, item id) of a part, in the split's order. */
const pairs = (part: { users: Int32Array; items: Int32Array }, userIds: string[], itemIds: string[]) =>
  Array.from(part.users, (u, k) => [Number(userIds[u]!), Number(itemIds[part.items[k]!]!)]);

describe('MovieLens CF split protocol', () => {
  // user 1: 10 positives (+ a 3-star rating that is not a positive); ts ties broken by item id.
  // user 2: 4 positives → all train.  user 3: 15 positives → 0.2·15 must be 3, not 4 (float rounding).
  const ratings: MovieLensRating[] = [];
  const add = (user: number, item: number, rating: number, ts: number) => ratings.push({ user, item, rating, ts });
  add(1, 50, 3, 1); // negative: ignored
  for (let k = 0; k < 10; k++) add(1, 100 - k, 5, k < 2 ? 7 : 10 + k); // items 100, 99 share ts 7 → 99 first
  for (let k = 0; k < 4; k++) add(2, 10 + k, 4, k);
  for (let k = 0; k < 15; k++) add(3, 200 + k, 4, 1000 - k); // reverse time order in the file
  add(3, 999, 1, 5); // a negative-only item still gets an index

  const split = movieLensCfSplit(ratings);

  it('indexes every user and item seen, ascending', () => {
    assert.deepEqual(split.userIds, ['1', '2', '3']);
    assert.equal(split.itemIds.length, 10 + 4 + 15 + 1 + 1);
    assert.ok(split.itemIds.every((id, i) => i === 0 || Number(id) > Number(split.itemIds[i - 1]!)), 'numeric ids in numeric order');
  });

  it('user with 10 positives: last ceil(20%) = 2 test, then last ceil(10% of 8) = 1 validation, in (ts, item) order', () => {
    const order = [99, 100, 98, 97, 96, 95, 94, 93, 92, 91]; // ts 7,7,12..19
    const of = (part: typeof split.train) => pairs(part, split.userIds, split.itemIds).filter(([u]) => u === 1).map(([, i]) => i);
    assert.deepEqual(of(split.train), order.slice(0, 7));
    assert.deepEqual(of(split.validation), order.slice(7, 8));
    assert.deepEqual(of(split.test), order.slice(8));
  });

  it('users with fewer than 5 positives keep all of them in train, none in validation or test', () => {
    const of = (part: typeof split.train) => pairs(part, split.userIds, split.itemIds).filter(([u]) => u === 2).map(([, i]) => i);
    assert.deepEqual(of(split.train), [10, 11, 12, 13]);
    assert.deepEqual(of(split.validation), []);
    assert.deepEqual(of(split.test), []);
  });

  it('ceil of 20% and 10% is exact for 15 positives: 3 test, 2 validation, 10 train', () => {
    const count = (part: typeof split.train) => pairs(part, split.userIds, split.itemIds).filter(([u]) => u === 3).length;
    assert.deepEqual([count(split.train), count(split.validation), count(split.test)], [10, 2, 3]);
    const test = pairs(split.test, split.userIds, split.itemIds).filter(([u]) => u === 3).map(([, i]) => i);
    assert.deepEqual(test.sort(), [200, 201, 202]); // the latest timestamps
  });

  it('negatives never appear; trainedUntil is the latest train/validation time in ms', () => {
    const all = [split.train, split.validation, split.test].flatMap((p) => pairs(p, split.userIds, split.itemIds));
    assert.ok(!all.some(([, i]) => i === 50 || i === 999));
    assert.equal(all.length, 10 + 4 + 15);
    assert.equal(split.trainedUntil, 997 * 1000); // user 3: items 200–202 (ts 1000–998) are test, 203 (ts 997) is validation
  });
});
