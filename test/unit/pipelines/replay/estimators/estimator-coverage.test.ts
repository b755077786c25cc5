import assert from 'node:assert/strict';
import { createRng, type Rng } from '../../../../../features/math/rng.js';
import { predictClick } from '../../../../../pipelines/replay/estimators/click-model.js';
import { crossFit, foldOf, type FoldRows } from '../../../../../pipelines/replay/estimators/cross-fit.js';
import { PolicyStats, accumulateDecision, type Estimator } from '../../../../../pipelines/replay/estimators/policy-stats.js';
import { policyValue } from '../../../../../pipelines/replay/estimators/policy-value.js';

/**
 * A synthetic logging policy with known propensities: each request has K
 * candidates with a feature x (true click probability sigmoid(−1 + 1.5x)) and
 * a nuisance z; the logger samples one item ∝ exp(1.2·z) (non-uniform and
 * blind to x), or uniformly. The target policy shows argmax x. Its true value
 * comes from direct simulation on fresh requests.
 */
const K = 5;
const REQUESTS = 900;
const PER_USER = 3;
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const truth = (x: number) => sigmoid(-1 + 1.5 * x);

interface Request { x: number[]; z: number[] }
const draw = (rng: Rng): Request => ({ x: Array.from({ length: K }, () => rng.normal()), z: Array.from({ length: K }, () => rng.normal()) });

function trueValue(): number {
  const rng = createRng(987_654);
  let sum = 0;
  const n = 200_000;
  for (let i = 0; i < n; i++) sum += truth(Math.max(...draw(rng).x));
  return sum / n;
}

function simulate(seed: number, uniform: boolean, estimators: readonly Estimator[]) {
  const rng = createRng(seed);
  const logged = Array.from({ length: REQUESTS }, (_, i) => {
    const request = draw(rng);
    const w = request.z.map((z) => (uniform ? 1 : Math.exp(1.2 * z)));
    const total = w.reduce((a, b) => a + b, 0);
    let u = rng.next() * total;
    let index = K - 1;
    for (let k = 0; k < K; k++) { u -= w[k]!; if (u < 0) { index = k; break; } }
    const reward = rng.next() < truth(request.x[index]!) ? 1 : 0;
    return { user: `u${Math.floor(i / PER_USER)}`, request, shown: [{ index, propensity: w[index]! / total, reward }] };
  });
  // Reward model on [1, x], cross-fitted over users.
  const folds: [FoldRows, FoldRows] = [{ features: [], labels: [] }, { features: [], labels: [] }];
  for (const l of logged) {
    const f = folds[foldOf(l.user)];
    f.features.push(1, l.request.x[l.shown[0]!.index]!);
    f.labels.push(l.shown[0]!.reward);
  }
  const models = crossFit(folds, 2);
  const users = new Map<string, PolicyStats>();
  for (const l of logged) {
    let s = users.get(l.user);
    if (!s) users.set(l.user, (s = new PolicyStats(1)));
    const model = models[foldOf(l.user)];
    accumulateDecision(s, { shown: l.shown, scores: l.request.x, qhat: l.request.x.map((x) => predictClick(model, [1, x])) }, { policy: { kind: 'greedy' }, maxWeight: Infinity });
  }
  const stats = [...users.values()];
  return policyValue(stats, stats, estimators, { samples: 200, seed: seed + 1 });
}

describe('estimators against a known truth (40 seeds)', function () {
  this.timeout(120_000);
  const value = trueValue();
  const SEEDS = Array.from({ length: 40 }, (_, i) => 1000 + i);

  it('non-uniform logging: IPS, SNIPS and DR intervals cover the truth in ≥ 85% of seeds; IPS unbiased; SNIPS less variable', () => {
    const runs = SEEDS.map((seed) => simulate(seed, false, ['ips', 'snips', 'dr']).a);
    const maxWeight = Math.max(...runs.map((r) => r.ips!.maxWeight));
    assert.ok(maxWeight >= 5, `largest importance weight ${maxWeight}`);
    for (const e of ['ips', 'snips', 'dr'] as const) {
      const covered = runs.filter((r) => r[e]!.value.lo <= value && value <= r[e]!.value.hi).length;
      assert.ok(covered >= 0.85 * SEEDS.length, `${e} covers the truth ${value.toFixed(4)} in ${covered}/${SEEDS.length} seeds`);
    }
    const ips = runs.map((r) => r.ips!.value.value);
    const snips = runs.map((r) => r.snips!.value.value);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const variance = (v: number[]) => mean(v.map((x) => (x - mean(v)) ** 2));
    const se = Math.sqrt(variance(ips) / ips.length);
    assert.ok(Math.abs(mean(ips) - value) <= 2 * se, `IPS mean error ${mean(ips) - value} vs 2 SE ${2 * se}`);
    assert.ok(variance(snips) < variance(ips), `SNIPS variance ${variance(snips)} vs IPS ${variance(ips)}`);
  });

  it('uniform logging: the replay interval covers the truth in ≥ 85% of seeds', () => {
    const runs = SEEDS.map((seed) => simulate(seed, true, ['replay']).a.replay!);
    const covered = runs.filter((r) => r.value.lo <= value && value <= r.value.hi).length;
    assert.ok(covered >= 0.85 * SEEDS.length, `replay covers ${value.toFixed(4)} in ${covered}/${SEEDS.length} seeds`);
    assert.ok(runs.every((r) => r.weights < REQUESTS / 2 && Number.isNaN(r.ess)), 'replay counts only the matched events, and reports them as matches, not as an ESS');
  });
});
