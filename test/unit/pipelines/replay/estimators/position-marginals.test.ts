import assert from 'node:assert/strict';
import { loggingMarginals, targetMarginals } from '../../../../../pipelines/replay/estimators/position-marginals.js';
import { nextPositionProbabilities } from '../../../../../serving/exploration.js';

/** μ_p(a) by enumerating every ordered slate with serving's own conditional probabilities. */
function enumerated(n: number, k: number, epsilon: number): Float64Array {
  const scores = Array.from({ length: n }, (_, i) => 1 - i / n);
  const out = new Float64Array(k * n);
  const walk = (placed: number[], probability: number) => {
    if (placed.length === k) return;
    for (const [a, p] of nextPositionProbabilities(scores, placed, { scheme: 'epsilon-greedy', epsilon })) {
      if (p === 0) continue;
      out[placed.length * n + a] = out[placed.length * n + a]! + probability * p;
      walk([...placed, a], probability * p);
    }
  };
  walk([], 1);
  return out;
}

describe('position marginals', () => {
  it('ε-greedy: the dynamic programme equals enumeration of every slate through serving\'s explorer', () => {
    for (const [n, k] of [[3, 2], [5, 3], [6, 6], [7, 4], [4, 1]] as const) {
      for (const epsilon of [0, 0.2, 0.5, 1]) {
        const dp = loggingMarginals(n, k, { scheme: 'epsilon-greedy', epsilon })!;
        const brute = enumerated(n, k, epsilon);
        dp.forEach((v, i) => assert.ok(Math.abs(v - brute[i]!) < 1e-12, `n=${n} k=${k} ε=${epsilon} at ${i}: ${v} vs ${brute[i]}`));
        for (let p = 0; p < k; p++) assert.ok(Math.abs(dp.slice(p * n, (p + 1) * n).reduce((a, b) => a + b, 0) - 1) < 1e-12);
      }
    }
  });

  it('hand-computed: two candidates, ε = 0.5', () => {
    // Position 0: best with 1 − ε + ε/2 = 0.75; position 1 takes the other one.
    assert.deepEqual([...loggingMarginals(2, 2, { scheme: 'epsilon-greedy', epsilon: 0.5 })!], [0.75, 0.25, 0.25, 0.75]);
    assert.deepEqual([...loggingMarginals(3, 2, { scheme: 'none' })!], [1, 0, 0, 0, 1, 0]);
    assert.equal(loggingMarginals(3, 2, { scheme: 'softmax', temperature: 1 }), undefined);
  });

  it('a greedy target puts its ranking at the positions; a sampled softmax target sums to one per position', () => {
    assert.deepEqual([...targetMarginals([0.1, 0.9, 0.5], 2, { kind: 'greedy' })], [0, 1, 0, 0, 0, 1]);
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const m = targetMarginals([0.1, 0.9, 0.5], 2, { kind: 'softmax', temperature: 0.5 }, random, 64);
    for (let p = 0; p < 2; p++) assert.ok(Math.abs(m[p * 3]! + m[p * 3 + 1]! + m[p * 3 + 2]! - 1) < 1e-12);
  });
});
