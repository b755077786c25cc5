import assert from 'node:assert/strict';
import { bootstrapIntervals, percentileInterval, resampleCounts } from '../../../../../pipelines/replay/estimators/bootstrap.js';
import { crossFit, foldOf } from '../../../../../pipelines/replay/estimators/cross-fit.js';
import { fitClickModel, predictClick } from '../../../../../pipelines/replay/estimators/click-model.js';
import { predictionQuality } from '../../../../../pipelines/replay/estimators/prediction-quality.js';

describe('user-level bootstrap', () => {
  it('each resample draws as many units as there are, from a fixed seed', () => {
    const first = [...resampleCounts(7, { samples: 5, seed: 3 })];
    const again = [...resampleCounts(7, { samples: 5, seed: 3 })];
    const other = [...resampleCounts(7, { samples: 5, seed: 4 })];
    assert.equal(first.length, 5);
    for (const counts of first) assert.equal(counts.reduce((a, b) => a + b, 0), 7);
    assert.deepEqual(first, again);
    assert.notDeepEqual(first, other);
  });

  it('percentile interval (linear interpolation, non-finite values dropped)', () => {
    assert.deepEqual(percentileInterval([0, 1, 2, 3, 4, Number.NaN], 0.5), { lo: 1, hi: 3 });
    assert.ok(Number.isNaN(percentileInterval([Number.NaN]).lo));
  });

  it('resamples users, not rows: one user with many rows gives a zero-width interval', () => {
    const rows = { rowsByUser: [[0, 1, 2, 3, 4, 5]], labels: [1, 0, 1, 0, 0, 1], scoresA: [0.9, 0.1, 0.6, 0.4, 0.3, 0.2], scoresB: [0.8, 0.2, 0.7, 0.1, 0.3, 0.6] };
    const q = predictionQuality(rows, { samples: 50, seed: 1 });
    assert.equal(q.a.auc.lo, q.a.auc.value);
    assert.equal(q.a.auc.hi, q.a.auc.value);
    assert.equal(q.diff.logloss.lo, q.diff.logloss.hi);
    // The same rows as six users do vary.
    const six = predictionQuality({ ...rows, rowsByUser: rows.rowsByUser[0]!.map((r) => [r]) }, { samples: 50, seed: 1 });
    assert.ok(six.a.logloss.hi > six.a.logloss.lo);
  });

  it('the interval of a mean over users covers it and narrows with more users', () => {
    const values = Array.from({ length: 400 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const mean = (counts: Uint32Array, n: number) => ({ m: counts.reduce((acc, c, i) => acc + c * values[i]!, 0) / n });
    const small = bootstrapIntervals(40, (c) => mean(c, 40), { samples: 300, seed: 9 }).get('m')!;
    const large = bootstrapIntervals(400, (c) => mean(c, 400), { samples: 300, seed: 9 }).get('m')!;
    assert.ok(large.lo < 0.25 && large.hi > 0.25);
    assert.ok(large.hi - large.lo < small.hi - small.lo);
  });
});

describe('click model and cross-fitting', () => {
  it('an intercept-only model learns the base rate', () => {
    const labels = [1, 0, 0, 0, 1, 0, 0, 0];
    const model = fitClickModel(labels.map(() => 1), labels, 1);
    assert.ok(Math.abs(predictClick(model, [1]) - 0.25) < 1e-6);
  });

  it('recovers a logistic slope', () => {
    const xs = Array.from({ length: 2000 }, (_, i) => (i / 1000) - 1);
    const labels = xs.map((x, i) => (((i * 7919) % 1000) / 1000 < 1 / (1 + Math.exp(-(0.5 + 2 * x))) ? 1 : 0));
    const model = fitClickModel(xs.flatMap((x) => [1, x]), labels, 2, { l2: 1e-3 });
    assert.ok(Math.abs(model.weights[1]! - 2) < 0.35, `slope ${model.weights[1]}`);
  });

  it('folds split users deterministically, and a fold is scored by the model of the other fold', () => {
    assert.equal(foldOf('u1'), foldOf('u1'));
    const folds = Array.from({ length: 200 }, (_, i) => foldOf(`u${i}`));
    const ones = folds.filter((f) => f === 1).length;
    assert.ok(ones > 70 && ones < 130, `fold 1 has ${ones} of 200 users`);
    // Fold 0 always clicks, fold 1 never: each fold's model must have learned the other's rate.
    const [m0, m1] = crossFit([{ features: [1, 1, 1, 1], labels: [1, 1, 1, 1] }, { features: [1, 1, 1, 1], labels: [0, 0, 0, 0] }], 1);
    assert.ok(predictClick(m0, [1]) < 0.2, 'fold 0 is scored by the model fitted on fold 1');
    assert.ok(predictClick(m1, [1]) > 0.8, 'fold 1 is scored by the model fitted on fold 0');
  });
});

describe('weighted metrics for resamples', () => {
  it('equal the plain metrics on the rows a resample stands for (a user drawn twice = two groups)', async () => {
    const { WeightedModelMetrics } = await import('../../../../../pipelines/replay/estimators/weighted-metrics.js');
    const { ctrMetrics } = await import('../../../../../models/metrics/classification.js');
    const labels = [1, 0, 1, 0, 0, 1, 1, 0, 0];
    const scores = [0.9, 0.1, 0.6, 0.6, 0.3, 0.2, 0.55, 0.7, 0.05];
    const rowsByUser = [[0, 1, 2], [3, 4, 5], [6, 7, 8]];
    const rowUser = Uint32Array.from([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    const m = new WeightedModelMetrics(labels, scores, rowsByUser);
    // Resample: user 0 twice, user 1 not at all, user 2 once → rows of 0, 0, 2 as groups g0, g1, g2.
    const rows = [0, 1, 2, 0, 1, 2, 6, 7, 8];
    const groups = ['g0', 'g0', 'g0', 'g1', 'g1', 'g1', 'g2', 'g2', 'g2'];
    const expected = ctrMetrics(groups, rows.map((r) => labels[r]!), rows.map((r) => scores[r]!));
    const got = m.compute([2, 0, 1], rowUser);
    for (const [k, e] of [['auc', expected.auc], ['gauc', expected.gauc], ['logloss', expected.logloss], ['ece', expected.ece], ['calibration_ratio', expected.calibrationRatio]] as const) {
      assert.ok(Math.abs(got[k] - e) < 1e-12, `${k}: ${got[k]} vs ${e}`);
    }
  });
});
