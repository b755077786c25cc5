import assert from 'node:assert/strict';
import { PolicyStats } from '../../../../../pipelines/replay/estimators/policy-stats.js';
import { RELIABILITY, leadSentence, verdictOf } from '../../../../../pipelines/replay/estimators/verdict.js';

describe('replay verdicts', () => {
  const est = (value: number, lo = value - 0.1, hi = value + 0.1) => ({ value, lo, hi });
  const diag = (o: Partial<{ ess: number; weights: number; maxWeight: number; clipRate: number; support: number }> = {}) => ({ ess: 5_000, weights: 30_000, maxWeight: 10, clipRate: 0, support: 1, ...o });
  const stats = new PolicyStats(1);

  it('reliable only within every documented threshold, with the reason otherwise', () => {
    assert.equal(verdictOf('pp-dr', est(0.3), diag(), stats), 'reliable');
    assert.equal(verdictOf('ips', est(0.3), diag({ ess: 25.7 }), stats), 'unreliable: ESS 26 of 30,000');
    assert.equal(verdictOf('ips', est(0.3), diag({ ess: 250 }), stats), 'unreliable: ESS 250 of 30,000', `${RELIABILITY.minEssShare} of the weights`);
    assert.equal(verdictOf('snips', est(0.3), diag({ clipRate: 0.2 }), stats), 'unreliable: 20.0% of weights clipped');
    assert.match(verdictOf('pp-ips', est(0.3), diag({ support: 0.8 }), stats), /^unreliable: support 0\.800/);
    assert.match(verdictOf('pp-ips', est(Number.NaN), diag(), Object.assign(new PolicyStats(1), { ppMissing: 3 })), /^unreliable: undefined \(the logging policy's item-position marginals are unknown for 3 requests/);
    assert.equal(verdictOf('replay', est(0.3), diag(), Object.assign(new PolicyStats(1), { piMissing: 1 })), 'unreliable: matching is biased unless the logging policy is uniform');
  });

  it('the lead sentence names the preferred reliable estimate, or why there is none', () => {
    assert.equal(
      leadSentence({ ips: { value: est(0.5), verdict: 'reliable' }, 'pp-dr': { value: { value: 0.31, lo: 0.18, hi: 0.44 }, verdict: 'reliable' } }),
      'B vs A: +0.31 clicks/request [+0.18, +0.44] by position-based DR; reliable',
    );
    assert.equal(
      leadSentence({ dr: { value: est(-0.976), verdict: 'unreliable: ESS 26 of 30,000' }, ips: { value: est(-1), verdict: 'unreliable: ESS 14 of 30,000' } }),
      'no reliable estimate: ESS 26 of 30,000 (whole-slate DR); log with more exploration or shorter slates',
    );
  });
});
