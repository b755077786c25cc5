import assert from 'node:assert/strict';
import { PolicyStats, accumulateDecision, policyValues, weightDiagnostics, type Estimator } from '../../../../../pipelines/replay/estimators/policy-stats.js';
import { loggingMarginals } from '../../../../../pipelines/replay/estimators/position-marginals.js';
import { nextPositionProbabilities } from '../../../../../serving/exploration.js';

/** The variance of an estimator over logged slates weighted by their probabilities (exact, no sampling). */
function varianceOver(slates: readonly { probability: number; stats: PolicyStats }[], e: Estimator): number {
  let m1 = 0, m2 = 0;
  for (const s of slates) {
    const v = policyValues(s.stats)[e];
    m1 += s.probability * v;
    m2 += s.probability * v * v;
  }
  return m2 - m1 * m1;
}

const close = (a: number, b: number, tol = 1e-9, what = '') => assert.ok(Math.abs(a - b) < tol, `${what}: ${a} != ${b}`);

/**
 * Slate estimators against the exact truth of a small position-based world:
 * every slate ε-greedy can log is enumerated with its probability (serving's
 * own conditional propensities), and rewards enter as their expectations
 * (the estimators are linear in them), so E[estimate] is computed exactly,
 * without sampling noise.
 */
describe('slate estimators', () => {
  const examination = [1, 0.6, 0.3];
  const attraction = [0.5, 0.2, 0.4, 0.1, 0.3];
  const k = examination.length;
  const n = attraction.length;
  const loggingScores = [5, 4, 3, 2, 1];
  const targetScores = [0.1, 0.5, 0.3, 0.9, 0.2]; // greedy ranking 3, 1, 2
  const truth = examination[0]! * attraction[3]! + examination[1]! * attraction[1]! + examination[2]! * attraction[2]!;
  const qhat = Array.from({ length: k * n }, () => 0.25); // a deliberately wrong reward model

  function slates(epsilon: number, exam: readonly number[] = examination): { probability: number; stats: PolicyStats }[] {
    const mu = loggingMarginals(n, k, { scheme: 'epsilon-greedy', epsilon })!;
    const out: { probability: number; stats: PolicyStats }[] = [];
    const walk = (placed: number[], propensities: number[], probability: number) => {
      if (placed.length === k) {
        const stats = new PolicyStats(k);
        const shown = placed.map((index, p) => ({ index, propensity: propensities[p]!, reward: exam[p]! * attraction[index]! }));
        accumulateDecision(stats, { shown, scores: targetScores, qhat, loggingMarginals: mu, uniformLogging: epsilon === 1 }, { policy: { kind: 'greedy' }, maxWeight: Infinity });
        out.push({ probability, stats });
        return;
      }
      for (const [a, p] of nextPositionProbabilities(loggingScores, placed, { scheme: 'epsilon-greedy', epsilon })) {
        if (p > 0) walk([...placed, a], [...propensities, p], probability * p);
      }
    };
    walk([], [], 1);
    return out;
  }

  it('per-position IPS and DR and whole-slate IPS and DR are unbiased in a position-based world (exact expectation)', () => {
    for (const epsilon of [0.1, 0.3, 1]) {
      const expected = new PolicyStats(k);
      for (const s of slates(epsilon)) expected.add(s.stats, s.probability);
      const v = policyValues(expected);
      for (const e of ['ips', 'dr', 'pp-ips', 'pp-dr'] as const) close(v[e], truth, 1e-9, `${e} at ε=${epsilon}`);
      if (epsilon === 1) close(v.pi, truth, 1e-9, 'pseudo-inverse under uniform logging');
      else assert.ok(Number.isNaN(v.pi), 'the pseudo-inverse is undefined under non-uniform logging');
    }
  });

  it('item-level IPS, SNIPS and DR are unbiased when position does not change clicks, and biased when it does', () => {
    const flat = [1, 1, 1];
    const itemTruth = attraction[3]! + attraction[1]! + attraction[2]!;
    for (const epsilon of [0.1, 0.3, 1]) {
      const expected = new PolicyStats(k);
      for (const s of slates(epsilon, flat)) expected.add(s.stats, s.probability);
      const v = policyValues(expected);
      for (const e of ['item-ips', 'item-snips', 'item-dr', 'pp-dr'] as const) close(v[e], itemTruth, 1e-9, `${e} at ε=${epsilon}`);
    }
    const positional = new PolicyStats(k);
    for (const s of slates(0.3)) positional.add(s.stats, s.probability);
    const v = policyValues(positional);
    assert.ok(Math.abs(v['item-ips'] - truth) > 0.01, `item-ips ${v['item-ips']} should miss the position-based truth ${truth}`);
    close(v['pp-ips'], truth, 1e-9, 'pp-ips in the same world');
  });

  it('item-level weights vary far less than per-position ones when position does not change clicks', () => {
    const all = slates(0.2, [1, 1, 1]);
    const variance = (e: Estimator) => varianceOver(all, e);
    const [item, pp] = [variance('item-ips'), variance('pp-ips')];
    assert.ok(item < pp / 2, `variance over slates: item-ips ${item}, pp-ips ${pp}`);
    const total = new PolicyStats(k);
    for (const s of all) total.add(s.stats);
    assert.ok(weightDiagnostics(total, 'item-ips').ess > weightDiagnostics(total, 'pp-ips').ess);
  });

  it('hand-computed item-level weights: three candidates, two positions, ε = 0.5', () => {
    // μ_0 = [2/3, 1/6, 1/6]; μ_1 = [1/4, 13/24, 5/24]; μ(a) = μ_0 + μ_1 = [11/12, 17/24, 3/8].
    const mu = loggingMarginals(3, 2, { scheme: 'epsilon-greedy', epsilon: 0.5 })!;
    [2 / 3, 1 / 6, 1 / 6, 1 / 4, 13 / 24, 5 / 24].forEach((m, i) => close(mu[i]!, m, 1e-12, `μ[${i}]`));
    const stats = new PolicyStats(2);
    // The target ranks candidate 2 first, then 0: π(a) = [1, 0, 1]. Logged (0, 1), both clicked: only item 0 counts, weight 12/11.
    accumulateDecision(stats, { shown: [{ index: 0, propensity: 2 / 3, reward: 1 }, { index: 1, propensity: 0.75, reward: 1 }], scores: [0.5, 0.1, 0.9], loggingMarginals: mu }, { policy: { kind: 'greedy' }, maxWeight: Infinity });
    const v = policyValues(stats);
    close(v['item-ips'], 12 / 11);
    close(v['item-snips'], 2 * 1); // the target's item mass (2) × Σ w·r / Σ w
    close(weightDiagnostics(stats, 'item-ips').maxWeight, 12 / 11);
  });

  it('the pseudo-inverse is unbiased for a softmax target too (uniform logging, additive reward)', () => {
    const expected = new PolicyStats(k);
    const slatesOf: number[][] = [];
    const walk = (placed: number[]) => {
      if (placed.length === k) return void slatesOf.push(placed);
      for (let a = 0; a < n; a++) if (!placed.includes(a)) walk([...placed, a]);
    };
    walk([]);
    // The softmax target's exact marginals, by enumerating its rankings.
    const policy = { kind: 'softmax', temperature: 0.3 } as const;
    let softTruth = 0;
    const weights = targetScores.map((s) => Math.exp(s / policy.temperature));
    for (const s of slatesOf) {
      let prob = 1, left = weights.reduce((a, b) => a + b, 0);
      for (const a of s) { prob *= weights[a]! / left; left -= weights[a]!; }
      softTruth += prob * s.reduce((sum, a, p) => sum + examination[p]! * attraction[a]!, 0);
    }
    let seed = 3;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const repeats = 100;
    for (const s of slatesOf) {
      const stats = new PolicyStats(k);
      const shown = s.map((index, p) => ({ index, propensity: 1 / (n - p), reward: examination[p]! * attraction[index]! }));
      for (let r = 0; r < repeats; r++) accumulateDecision(stats, { shown, scores: targetScores, uniformLogging: true, random }, { policy, maxWeight: Infinity });
      expected.add(stats, 1 / slatesOf.length);
    }
    // The target's marginals are sampled (32 rankings per slate and repeat): unbiased, so only sampling noise remains.
    close(policyValues(expected).pi, softTruth, 0.01, 'pseudo-inverse, softmax target');
  });

  it('per-position weights vary far less than whole-slate ones on the same logs', () => {
    const all = slates(0.2);
    const variance = (e: Estimator) => varianceOver(all, e);
    const [pp, slate] = [variance('pp-ips'), variance('ips')];
    assert.ok(pp < slate / 5, `variance over slates: pp-ips ${pp}, ips ${slate}`);
    const total = new PolicyStats(k);
    for (const s of all) total.add(s.stats);
    assert.ok(weightDiagnostics(total, 'pp-ips').maxWeight < weightDiagnostics(total, 'ips').maxWeight);
  });

  it('hand-computed: two candidates, two positions, ε = 0.5', () => {
    // μ_0 = [0.75, 0.25], μ_1 = [0.25, 0.75]; the target ranks candidate 1 first.
    const mu = loggingMarginals(2, 2, { scheme: 'epsilon-greedy', epsilon: 0.5 })!;
    const stats = new PolicyStats(2);
    const options = { policy: { kind: 'greedy' } as const, maxWeight: Infinity };
    // Logged (0, 1), clicked at 0: both positions disagree with the target → 0.
    accumulateDecision(stats, { shown: [{ index: 0, propensity: 0.75, reward: 1 }, { index: 1, propensity: 1, reward: 0 }], scores: [0.2, 0.8], loggingMarginals: mu }, options);
    // Logged (1, 0), both clicked: weights 1/0.25 = 4 at each position → 8.
    accumulateDecision(stats, { shown: [{ index: 1, propensity: 0.25, reward: 1 }, { index: 0, propensity: 1, reward: 1 }], scores: [0.2, 0.8], loggingMarginals: mu }, options);
    const v = policyValues(stats);
    close(v['pp-ips'], 8 / 2);
    close(v['pp-snips'], 1 * (4 / 4) + 1 * (4 / 4));
    // Whole-slate: position 1's weight is 4 · 1/1 = 4 too here (one candidate left).
    close(v.ips, 8 / 2);
    assert.equal(weightDiagnostics(stats, 'pp-ips').maxWeight, 4);
  });

  it('without logging marginals (softmax logging) the per-position estimators are NaN, the others stay', () => {
    const stats = new PolicyStats(1);
    accumulateDecision(stats, { shown: [{ index: 0, propensity: 0.6, reward: 1 }], scores: [0.9, 0.1] }, { policy: { kind: 'greedy' }, maxWeight: Infinity });
    const v = policyValues(stats);
    assert.ok(Number.isNaN(v['pp-ips']) && Number.isNaN(v['pp-snips']) && Number.isNaN(v['pp-dr']));
    assert.ok(Number.isNaN(v['item-ips']) && Number.isNaN(v['item-snips']) && Number.isNaN(v['item-dr']));
    close(v.ips, 1 / 0.6);
  });
});
