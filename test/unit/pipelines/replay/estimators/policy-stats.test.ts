import assert from 'node:assert/strict';
import { PolicyStats, accumulateDecision, policyValues, weightDiagnostics } from '../../../../../pipelines/replay/estimators/policy-stats.js';
import { conditionalProbabilities, pick } from '../../../../../pipelines/replay/estimators/ranking-policy.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) < tol, `${a} != ${b}`);

describe('ranking policies', () => {
  it('greedy picks the best remaining candidate; ties go to the earlier one', () => {
    assert.deepEqual([...conditionalProbabilities([0.2, 0.9, 0.9], [false, false, false], { kind: 'greedy' })], [0, 1, 0]);
    assert.deepEqual([...conditionalProbabilities([0.2, 0.9, 0.9], [false, true, false], { kind: 'greedy' })], [0, 0, 1]);
  });

  it('softmax is Plackett–Luce over the remaining candidates (hand-computed)', () => {
    const p = conditionalProbabilities([0, Math.log(3)], [false, false], { kind: 'softmax', temperature: 1 });
    close(p[0]!, 0.25);
    close(p[1]!, 0.75);
    assert.deepEqual([...conditionalProbabilities([0, Math.log(3)], [false, true], { kind: 'softmax', temperature: 1 })], [1, 0]);
    assert.equal(pick(p, 0.2), 0);
    assert.equal(pick(p, 0.3), 1);
  });
});

describe('policy-value estimators on a tiny logged set (hand-computed)', () => {
  // Two candidates x (index 0), y (index 1); the target ranks greedily by [0.2, 0.9]: always y.
  // Logged (one position): x p=.8 r=1 | y p=.2 r=1 | y p=.2 r=0 | x p=.8 r=0.
  // Weights: 0, 5, 5, 0.
  const logged = [
    { index: 0, propensity: 0.8, reward: 1 },
    { index: 1, propensity: 0.2, reward: 1 },
    { index: 1, propensity: 0.2, reward: 0 },
    { index: 0, propensity: 0.8, reward: 0 },
  ];
  const qhat = [0.4, 0.3];
  const run = (maxWeight: number) => {
    const stats = new PolicyStats(1);
    for (const shown of logged) accumulateDecision(stats, { shown: [shown], scores: [0.2, 0.9], qhat }, { policy: { kind: 'greedy' }, maxWeight });
    return stats;
  };

  it('logging value, IPS, SNIPS, replay and DR', () => {
    const stats = run(Infinity);
    const v = policyValues(stats);
    close(v.logging, 0.5);
    close(v.ips, (5 * 1 + 5 * 0) / 4); // 1.25
    close(v.snips, 5 / 10); // 0.5
    close(v.replay, (1 + 0) / 2); // only the two matched events count
    // DR per request: direct π·q̂ = 0.3, plus w·(r − q̂(shown)):
    // 0.3 + 0 | 0.3 + 5·(1 − 0.3) | 0.3 + 5·(0 − 0.3) | 0.3 + 0  → mean 3.2 / 4
    close(v.dr, 0.8);
  });

  it('diagnostics: effective sample size, largest weight, clipping', () => {
    const d = weightDiagnostics(run(Infinity), 'ips');
    close(d.ess, (10 * 10) / 50);
    assert.equal(d.maxWeight, 5);
    assert.equal(d.clipRate, 0);
    // Matching has no weights: its ESS is not a number (the match count is `weights`).
    assert.ok(Number.isNaN(weightDiagnostics(run(Infinity), 'replay').ess));
    assert.equal(weightDiagnostics(run(Infinity), 'replay').weights, 2);
    const clipped = run(4);
    assert.equal(weightDiagnostics(clipped, 'ips').clipRate, 0.5);
    close(policyValues(clipped).ips, 4 / 4);
  });

  it('a ranking: prefix weights multiply down the positions; replay needs the whole prefix to match', () => {
    // Target order by scores [0.1, 0.5, 0.9]: z (2), y (1), x (0).
    const stats = new PolicyStats(2);
    accumulateDecision(stats, { shown: [{ index: 2, propensity: 0.5, reward: 0 }, { index: 1, propensity: 0.25, reward: 1 }], scores: [0.1, 0.5, 0.9] }, { policy: { kind: 'greedy' }, maxWeight: Infinity });
    accumulateDecision(stats, { shown: [{ index: 0, propensity: 0.5, reward: 1 }, { index: 1, propensity: 0.5, reward: 1 }], scores: [0.1, 0.5, 0.9] }, { policy: { kind: 'greedy' }, maxWeight: Infinity });
    const v = policyValues(stats);
    // Request 1: w0 = 2, w1 = 2 · 1/0.25 = 8 → 8 clicks-weighted; request 2: w0 = 0, w1 = 0.
    close(v.ips, 8 / 2);
    // Replay: position 0 matched once (reward 0), position 1 matched once (reward 1).
    close(v.replay, 0 + 1);
    close(v.logging, (1 + 2) / 2);
    assert.equal(weightDiagnostics(stats, 'ips').maxWeight, 8);
  });

  it('statistics add up: users summed in any grouping give the same values', () => {
    const perRequest = logged.map((shown) => {
      const s = new PolicyStats(1);
      accumulateDecision(s, { shown: [shown], scores: [0.2, 0.9], qhat }, { policy: { kind: 'greedy' }, maxWeight: Infinity });
      return s;
    });
    const total = perRequest.reduce((acc, s) => acc.add(s), new PolicyStats(1));
    assert.deepEqual(policyValues(total), policyValues(run(Infinity)));
    const doubled = new PolicyStats(1).add(perRequest[1]!, 2);
    close(policyValues(doubled).ips, 5);
  });
});
