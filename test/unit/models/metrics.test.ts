import assert from 'node:assert/strict';
import { calibration, ctrMetrics, gauc, logloss } from '../../../models/metrics/classification.js';
import { rankingMetrics } from '../../../models/metrics/ranking.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('CTR metrics', () => {
  it('logloss matches the hand-computed value and clips certain mistakes', () => {
    close(logloss([1, 0], [0.8, 0.4]), -(Math.log(0.8) + Math.log(0.6)) / 2);
    assert.ok(Number.isFinite(logloss([1], [0])));
  });

  it('GAUC weights per-user AUC by impressions and skips one-class users', () => {
    // user a: AUC 1 over 4 rows; user b: AUC 0 over 2 rows; user c: one class only.
    const groups = ['a', 'a', 'a', 'a', 'b', 'b', 'c'];
    const labels = [1, 0, 1, 0, 1, 0, 1];
    const scores = [0.9, 0.1, 0.8, 0.2, 0.3, 0.7, 0.5];
    close(gauc(groups, labels, scores), (4 * 1 + 2 * 0) / 6);
  });

  it('calibration bins, ECE and ratio', () => {
    const cal = calibration([1, 0, 0, 1], [0.05, 0.05, 0.95, 0.95], 10);
    assert.deepEqual(cal.bins.map((b) => b.count), [2, 2]);
    close(cal.ece, 0.45);
    close(cal.ratio, 1);
  });

  it('bundles the metrics', () => {
    const m = ctrMetrics(['u', 'u', 'v', 'v'], [1, 0, 1, 0], [0.9, 0.2, 0.6, 0.7]);
    close(m.auc, 0.75);
    close(m.gauc, 0.5);
    assert.equal(m.examples, 4);
  });
});

describe('ranking metrics', () => {
  it('Recall, Precision, NDCG and F1 at K against a hand-computed ranking', () => {
    // relevant {2, 5, 9}; ranked hits at positions 1 and 3 (0-based 0 and 2).
    const m = rankingMetrics([2, 7, 5, 1], new Set([2, 5, 9]), 4);
    close(m.recall, 2 / 3);
    close(m.precision, 2 / 4);
    const dcg = 1 / Math.log2(2) + 1 / Math.log2(4);
    const idcg = 1 / Math.log2(2) + 1 / Math.log2(3) + 1 / Math.log2(4);
    close(m.ndcg, dcg / idcg);
    close(m.f1, (2 * (2 / 3) * 0.5) / (2 / 3 + 0.5));
  });

  it('the ideal DCG uses min(K, #relevant) positions', () => {
    const m = rankingMetrics([4, 1, 2], new Set([4]), 3);
    close(m.ndcg, 1);
    close(rankingMetrics([1, 4], new Set([4, 8, 9]), 2).ndcg, (1 / Math.log2(3)) / (1 + 1 / Math.log2(3)));
  });
});
