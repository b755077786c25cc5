import assert from 'node:assert/strict';
import { syntheticBayesReport, syntheticEvents, syntheticImpressions } from '../../../features/datasets/synthetic.js';
import { parseEvent } from '../../../features/events/parse-event.js';
import { auc } from '../../../features/math/auc.js';

describe('synthetic click stream', () => {
  const small = { events: 20_000, users: 300, items: 1000 };

  it('is deterministic from its seed', () => {
    const a = [...syntheticImpressions({ ...small, seed: 7 })].slice(0, 500);
    const b = [...syntheticImpressions({ ...small, seed: 7 })].slice(0, 500);
    const c = [...syntheticImpressions({ ...small, seed: 8 })].slice(0, 500);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('a stream seed draws fresh impressions of the same world (a second simulate run does not replay the first)', () => {
    const opts = { ...small, events: 400, seed: 7 };
    const first = [...syntheticEvents({ ...opts, streamSeed: 1 })];
    const again = [...syntheticEvents({ ...opts, streamSeed: 1 })];
    const second = [...syntheticEvents({ ...opts, streamSeed: 2 })];
    const catalog = (events: typeof first) => events.filter((e) => e.type !== 'impression');
    const impressions = (events: typeof first) => events.filter((e) => e.type === 'impression');
    assert.deepEqual(again, first, 'deterministic from both seeds');
    assert.deepEqual(catalog(second), catalog(first), 'the same users and items');
    const pairs = (events: typeof first) => impressions(events).map((e) => `${(e as { user_id: string }).user_id}/${(e as { item_id: string }).item_id}`);
    const shared = pairs(second).filter((p, i) => p === pairs(first)[i]).length;
    assert.ok(shared < 20, `impressions drawn afresh: ${shared} of 400 identical by position`);
    const ids = new Set(impressions(first).map((e) => e.event_id));
    assert.ok(impressions(second).every((e) => !ids.has(e.event_id)), 'event ids never collide across stream seeds');
    // Without a stream seed, the stream is the world's own, as before.
    assert.deepEqual([...syntheticImpressions({ ...opts })].map((x) => x.event.event_id).slice(0, 2), ['syn-7-0', 'syn-7-1']);
  });

  it('emits valid events in time order', () => {
    let last = 0;
    let count = 0;
    for (const event of syntheticEvents({ ...small, events: 2000 })) {
      const parsed = parseEvent(JSON.stringify(event));
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
      assert.ok(event.ts >= last);
      last = event.ts;
      count++;
    }
    assert.equal(count, 2000 + 1000 + 300);
  });

  it('has Zipf popularity: the top 1% of items get a large share of impressions', () => {
    const counts = new Map<string, number>();
    for (const { event } of syntheticImpressions(small)) counts.set(event.item_id, (counts.get(event.item_id) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    const top = sorted.slice(0, 10).reduce((a, b) => a + b, 0);
    assert.ok(top / small.events > 0.25, `top-10 share ${top / small.events}`);
  });

  it('labels are drawn from the reported probabilities (calibration)', () => {
    let sumP = 0, clicks = 0, n = 0;
    for (const { event, probability } of syntheticImpressions(small)) {
      sumP += probability;
      clicks += event.label!;
      n++;
    }
    const se = Math.sqrt(sumP / n / n);
    assert.ok(Math.abs(clicks / n - sumP / n) < 4 * se, `click rate ${clicks / n} vs mean p ${sumP / n}`);
  });

  it('reports a Bayes AUC well above chance, equal to the AUC of the true probabilities', () => {
    const report = syntheticBayesReport(small);
    const labels: number[] = [], scores: number[] = [];
    for (const { event, probability } of syntheticImpressions(small)) { labels.push(event.label!); scores.push(probability); }
    assert.equal(report.bayesAuc, auc(labels, scores));
    assert.ok(report.bayesAuc > 0.75 && report.bayesAuc < 0.95, String(report.bayesAuc));
  });

  it('an abrupt drift makes pre-drift probabilities a worse predictor afterwards', () => {
    const drifted = [...syntheticImpressions({ ...small, abruptDriftAt: 0.5 })].slice(10_000);
    const steady = [...syntheticImpressions(small)].slice(10_000);
    // Same impressions (same stream draws) but the drifted world re-drew users' interests.
    const labels = drifted.map((d) => d.event.label!);
    assert.ok(auc(labels, drifted.map((d) => d.probability)) - auc(labels, steady.map((s) => s.probability)) > 0.1);
  });
});

describe('AUC', () => {
  it('matches hand-computed cases, with ties counting one half', () => {
    assert.equal(auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
    assert.equal(auc([0, 1], [0.5, 0.5]), 0.5);
    assert.equal(auc([1, 1, 0], [0.9, 0.8, 0.1]), 1);
    assert.ok(Number.isNaN(auc([1, 1], [0.2, 0.3])));
  });
});
