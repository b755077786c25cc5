import assert from 'node:assert/strict';
import { createRng } from '../../../features/math/rng.js';
import type { Exploration } from '../../../pipelines/decisions/decision-record.js';
import { explore, nextPositionProbabilities } from '../../../serving/exploration.js';

const SCORES = [0.9, 0.7, 0.5, 0.45, 0.1];
const SCHEMES: Exploration[] = [
  { scheme: 'epsilon-greedy', epsilon: 0.3 },
  { scheme: 'softmax', temperature: 0.2 },
];

describe('exploration: propensities', () => {
  it('no exploration shows the top k with propensity 1', () => {
    assert.deepEqual(explore(SCORES, 3, { scheme: 'none' }), [0, 1, 2].map((index) => ({ index, propensity: 1 })));
    assert.equal(explore(SCORES, 10, { scheme: 'none' }).length, 5);
  });

  for (const exploration of SCHEMES) {
    describe(exploration.scheme, () => {
      it('at every position the probabilities over the remaining items sum to 1 and the logged one is among them', () => {
        const rng = createRng(1);
        for (let trial = 0; trial < 200; trial++) {
          const placed = explore(SCORES, 4, exploration, () => rng.next());
          assert.equal(new Set(placed.map((p) => p.index)).size, 4, 'no item twice');
          placed.forEach((p, position) => {
            const probs = nextPositionProbabilities(SCORES, placed.slice(0, position).map((q) => q.index), exploration);
            const total = [...probs.values()].reduce((a, b) => a + b, 0);
            assert.ok(Math.abs(total - 1) < 1e-12, `sum ${total}`);
            assert.ok(Math.abs(probs.get(p.index)! - p.propensity) < 1e-12, `logged ${p.propensity}, exact ${probs.get(p.index)}`);
          });
        }
      });

      it('empirical frequencies of the first two positions match the logged propensities (product = slate probability)', () => {
        const rng = createRng(7);
        const n = 40_000;
        const counts = new Map<string, number>();
        const logged = new Map<string, number>();
        for (let i = 0; i < n; i++) {
          const [a, b] = explore(SCORES, 2, exploration, () => rng.next());
          const key = `${a!.index},${b!.index}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
          logged.set(key, a!.propensity * b!.propensity);
        }
        let totalProbability = 0;
        for (const [key, count] of counts) {
          const p = logged.get(key)!;
          totalProbability += p;
          const se = Math.sqrt((p * (1 - p)) / n);
          assert.ok(Math.abs(count / n - p) < 4 * se + 1e-3, `${key}: frequency ${count / n} vs propensity ${p}`);
        }
        // Every ordered pair with positive probability was seen, so the slate probabilities sum to 1.
        assert.ok(Math.abs(totalProbability - 1) < 1e-9, `slate probabilities sum to ${totalProbability}`);
        assert.equal(counts.size, 20);
      });
    });
  }

  it('epsilon-greedy propensities are exact: (1 − ε)·[best] + ε/remaining', () => {
    const placed = explore(SCORES, 1, { scheme: 'epsilon-greedy', epsilon: 0.2 }, () => 0.99);
    assert.deepEqual(placed, [{ index: 0, propensity: 0.8 + 0.2 / 5 }]);
    const explored = explore(SCORES, 1, { scheme: 'epsilon-greedy', epsilon: 0.2 }, (() => { const u = [0.1, 0.7]; return () => u.shift()!; })());
    assert.deepEqual(explored, [{ index: 3, propensity: 0.2 / 5 }]);
  });
});
