import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRng } from '../../../../features/math/rng.js';
import { dotScores, expectedRandomRecall, meanInterval, recallOf, topKExcluding } from '../../../../bench/lib/retrieval-recall.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);

describe('retrieval recall against a known truth (bench/lib)', () => {
  // Two users and five items in 2-d, worked by hand:
  //   user 0 = (1, 0) scores the items 3, 2, 1, 0, −1;  user 1 = (0, 1) scores 0, 1, 5, 2, 0.
  const users = Float32Array.from([1, 0, 0, 1]);
  const items = Float32Array.from([3, 0, 2, 1, 1, 5, 0, 2, -1, 0]);

  it('scores a user against every item by dot product', () => {
    assert.deepEqual([...dotScores(users, items, 2, 0, new Float64Array(5))], [3, 2, 1, 0, -1]);
    assert.deepEqual([...dotScores(users, items, 2, 1, new Float64Array(5))], [0, 1, 5, 2, 0]);
  });

  it('a hand-computed recall: user 0 has seen item 0, truth {3, 2}, the model retrieves {1, 2}: 1 of 2', () => {
    const seen = new Set([0]);
    const trueProbability = [0.9, 0.1, 0.5, 0.7, 0.2];
    const truth = topKExcluding(trueProbability, 2, seen);
    assert.deepEqual(truth, [3, 2]);
    const retrieved = topKExcluding(dotScores(users, items, 2, 0, new Float64Array(5)), 2, seen);
    assert.deepEqual(retrieved, [1, 2]);
    assert.equal(recallOf(truth, retrieved), 0.5);
    // Popularity with counts (5, 4, 0, 1, 3) returns {1, 4} outside the seen item: no truth item.
    assert.equal(recallOf(truth, topKExcluding([5, 4, 0, 1, 3], 2, seen)), 0);
    // Retrieving all four unseen items finds the whole truth.
    assert.equal(recallOf(truth, topKExcluding(trueProbability.map(() => 0), 4, seen)), 1);
  });

  it('ranks best first, breaks ties towards the lower index, skips excluded and non-finite scores', () => {
    const scores = dotScores(users, items, 2, 1, new Float64Array(5));
    assert.deepEqual(topKExcluding(scores, 3, new Set([2])), [3, 1, 0]);
    assert.deepEqual(topKExcluding([0, 0, 0, 0], 2), [0, 1]);
    assert.deepEqual(topKExcluding([1, -Infinity, Number.NaN, 2], 4), [3, 0]);
    assert.deepEqual(topKExcluding([1, 2], 5, new Set([1])), [0]);
  });

  it('agrees with a full sort on random scores (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 60 }),
      fc.integer({ min: 1, max: 70 }),
      fc.array(fc.nat(59), { maxLength: 20 }),
      (scores, k, excluded) => {
        const exclude = new Set(excluded);
        const expected = scores.map((s, i) => ({ s, i })).filter(({ i }) => !exclude.has(i))
          .sort((a, b) => b.s - a.s || a.i - b.i).slice(0, k).map(({ i }) => i);
        assert.deepEqual(topKExcluding(scores, k, exclude), expected);
      },
    ));
  });

  it('counts a retrieved item once and refuses a truth that is empty or repeats items', () => {
    assert.equal(recallOf([1, 2], [1, 1, 1]), 0.5);
    assert.throws(() => recallOf([], [1]), /empty truth/);
    assert.throws(() => recallOf([1, 1], [1]), /repeats items/);
    assert.throws(() => topKExcluding([1, 2], 0), /k must be a positive integer, got 0/);
  });

  it('random retrieval: expected recall retrieve / candidates, matching seeded draws', () => {
    assert.equal(expectedRandomRecall(200, 4000), 0.05);
    assert.equal(expectedRandomRecall(200, 150), 1);
    assert.throws(() => expectedRandomRecall(200, 0), /no candidates/);
    // 20 candidates, truth = the first 5, draw 4: expected recall 4 / 20 = 0.2.
    const rng = createRng(7);
    const truth = [0, 1, 2, 3, 4];
    const draws = Array.from({ length: 20_000 }, () => {
      const pool = Array.from({ length: 20 }, (_, i) => i);
      for (let k = 0; k < 4; k++) {
        const j = k + rng.int(20 - k);
        [pool[k], pool[j]] = [pool[j]!, pool[k]!];
      }
      return recallOf(truth, pool.slice(0, 4));
    });
    close(meanInterval(draws).mean, expectedRandomRecall(4, 20), 0.01, 'mean recall of the draws');
  });

  it('mean with a normal 95% interval', () => {
    const m = meanInterval([1, 2, 3]);
    close(m.mean, 2, 1e-12, 'mean');
    close(m.hi - m.mean, 1.96 / Math.sqrt(3), 1e-12, 'half width (sd 1)');
    assert.deepEqual(meanInterval([0.5]), { mean: 0.5, lo: 0.5, hi: 0.5 });
    assert.throws(() => meanInterval([]), /no values/);
  });
});
