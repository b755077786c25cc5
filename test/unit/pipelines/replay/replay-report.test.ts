import assert from 'node:assert/strict';
import { createRng } from '../../../../features/math/rng.js';
import { evaluateDecisions, type ScoredDecision } from '../../../../pipelines/replay/replay-evaluation.js';
import { replayReport } from '../../../../pipelines/replay/replay-report.js';
import { resultRows } from '../../../../pipelines/replay/replay-results.js';
import { parseReplaySpec } from '../../../../pipelines/replay/replay-spec.js';
import { explore } from '../../../../serving/exploration.js';

/** Logged ε-greedy decisions (10 candidates, 3 shown) by 60 users with clicks drawn from a known score. */
function decisions(): ScoredDecision[] {
  const rng = createRng(3);
  const out: ScoredDecision[] = [];
  for (let n = 0; n < 600; n++) {
    const truth = Array.from({ length: 10 }, () => rng.next() * 0.4);
    const logged = Float32Array.from(truth.map((t) => t + 0.2 * rng.next())).sort().reverse();
    const placements = explore(logged, 3, { scheme: 'epsilon-greedy', epsilon: 0.3 }, () => rng.next());
    out.push({
      requestId: `r${n}`, userId: `u${n % 60}`, ts: 1e12 + n, candidates: truth.map((_, i) => `i${i}`), loggedScores: logged,
      shown: placements.map((p) => ({ index: p.index, propensity: p.propensity, reward: rng.next() < truth[p.index]! ? 1 : 0 })),
      logging: { scheme: 'epsilon-greedy', epsilon: 0.3 }, scoresA: logged, scoresB: Float32Array.from(truth),
    });
  }
  return out;
}

describe('replay report', () => {
  const spec = parseReplaySpec({ a: { model: 'm', version: 1 }, b: { model: 'm', version: 2 }, from: 1e12, to: 1e12 + 86_400_000, positions: 3, bootstrapSamples: 50 });
  const evaluation = evaluateDecisions(decisions(), spec);
  const rows = resultRows('replay-test', spec, evaluation);
  const html = replayReport({ jobId: 'replay-test', a: 'm@1', b: 'm@2', from: spec.from, to: spec.to, rows, calibration: evaluation.calibration });

  it('opens with the verdict sentence, before any plot', () => {
    const lead = rows.find((r) => r.metric === 'lead')!.note;
    assert.match(lead, /^(B vs A: [+−]\d+\.\d\d clicks\/request \[[+−]\d+\.\d\d, [+−]\d+\.\d\d\] by .+; reliable|no reliable estimate: .+)$/);
    const at = html.indexOf(lead);
    assert.ok(at > 0 && at < html.indexOf('<svg'), 'the sentence comes before the plots');
  });

  it('forest plots name the estimators on a categorical axis, draw the zero line and carry captions', () => {
    for (const estimator of spec.estimators) assert.ok(html.includes(`<text class="category" x=`) && new RegExp(`class="category"[^>]*>${estimator}</text>`).test(html), `axis label ${estimator}`);
    assert.ok((html.match(/class="zero"/g) ?? []).length >= 2, 'a zero line in each difference plot');
    assert.ok((html.match(/<figcaption>/g) ?? []).length >= 3);
  });

  it('every verdict is reliable or unreliable with a reason, and the replay row has no ESS', () => {
    for (const r of rows.filter((x) => (spec.estimators as readonly string[]).includes(x.metric))) assert.match(r.verdict, /^(reliable|unreliable: .+)$/);
    const replay = rows.find((r) => r.arm === 'a' && r.metric === 'replay')!;
    assert.equal(replay.ess, null);
    assert.match(replay.note, /matching has no weights \(\d+ matched request-positions\)/);
  });
});
