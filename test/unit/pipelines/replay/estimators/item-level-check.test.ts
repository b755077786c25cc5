import assert from 'node:assert/strict';
import { PolicyStats, accumulateDecision } from '../../../../../pipelines/replay/estimators/policy-stats.js';
import { loggingMarginals } from '../../../../../pipelines/replay/estimators/position-marginals.js';
import { policyValue } from '../../../../../pipelines/replay/estimators/policy-value.js';
import { itemLevelVerdict } from '../../../../../pipelines/replay/estimators/verdict.js';
import { nextPositionProbabilities } from '../../../../../serving/exploration.js';
import { createRng } from '../../../../../features/math/rng.js';

/**
 * The item-level estimators are reliable only where position does not change
 * clicks; the check compares them with per-position DR on the same users.
 * Logs are sampled through serving's own ε-greedy propensities.
 */
describe('item-level estimators: the position check', () => {
  const attraction = [0.5, 0.2, 0.4, 0.1, 0.3];
  const loggingScores = [5, 4, 3, 2, 1];
  const targetA = [5, 4, 3, 2, 1];
  const targetB = [0.1, 0.5, 0.3, 0.9, 0.2];
  const n = attraction.length;
  const k = 3;
  const epsilon = 0.5;

  function users(examination: readonly number[], count: number, seed: number): [PolicyStats[], PolicyStats[]] {
    const rng = createRng(seed);
    const mu = loggingMarginals(n, k, { scheme: 'epsilon-greedy', epsilon })!;
    const qhat = Array.from({ length: k * n }, () => 0.2);
    const a: PolicyStats[] = [];
    const b: PolicyStats[] = [];
    for (let u = 0; u < count; u++) {
      const placed: number[] = [];
      const shown = [];
      for (let p = 0; p < k; p++) {
        let draw = rng.next();
        let pick = -1, propensity = 0;
        for (const [item, prob] of nextPositionProbabilities(loggingScores, placed, { scheme: 'epsilon-greedy', epsilon })) {
          if (pick < 0 && (draw -= prob) < 0) [pick, propensity] = [item, prob];
        }
        placed.push(pick);
        shown.push({ index: pick, propensity, reward: rng.next() < examination[p]! * attraction[pick]! ? 1 : 0 });
      }
      const [sa, sb] = [new PolicyStats(k), new PolicyStats(k)];
      const options = { policy: { kind: 'greedy' } as const, maxWeight: Infinity };
      accumulateDecision(sa, { shown, scores: targetA, qhat, loggingMarginals: mu }, options);
      accumulateDecision(sb, { shown, scores: targetB, qhat, loggingMarginals: mu }, options);
      a.push(sa);
      b.push(sb);
    }
    return [a, b];
  }

  it('flags item-level estimates unreliable when position changes clicks', () => {
    const [a, b] = users([1, 0.3, 0.1], 6_000, 7);
    const result = policyValue(a, b, ['pp-dr', 'item-dr', 'item-ips'], { samples: 200, seed: 1 });
    assert.match(result.b['item-dr']!.verdict, /^unreliable: position changes clicks here/);
    assert.match(result.b['item-ips']!.verdict, /^unreliable: position changes clicks here/);
    assert.equal(result.b['pp-dr']!.verdict, 'reliable');
  });

  it('keeps them reliable when it does not, and they agree with the truth', () => {
    const [a, b] = users([1, 1, 1], 6_000, 7);
    const result = policyValue(a, b, ['pp-dr', 'item-dr'], { samples: 200, seed: 1 });
    assert.equal(result.b['item-dr']!.verdict, 'reliable');
    const truthB = attraction[3]! + attraction[1]! + attraction[2]!;
    const { lo, hi } = result.b['item-dr']!.value;
    assert.ok(lo <= truthB && truthB <= hi, `item-dr B [${lo}, ${hi}] should cover ${truthB}`);
  });

  it('the check passes a reliable verdict through only when its interval holds zero', () => {
    assert.equal(itemLevelVerdict('reliable', { value: 0.01, lo: -0.02, hi: 0.04 }), 'reliable');
    assert.equal(itemLevelVerdict('reliable', { value: 0.3, lo: 0.2, hi: 0.4 }), 'unreliable: position changes clicks here (item-level DR − per-position DR +0.30 [+0.20, +0.40])');
    assert.equal(itemLevelVerdict('unreliable: ESS 3 of 9', { value: 0.3, lo: 0.2, hi: 0.4 }), 'unreliable: ESS 3 of 9');
  });
});
