import assert from 'node:assert/strict';
import { examplesFromEvents } from '../../../features/datasets/ctr-sources.js';
import {
  blurredProbability, buildInterestWorld, interestBayesReport, interestClickProbability, interestEvents, interestImpressions, resolveInterestWorldOptions,
} from '../../../features/datasets/interest-world.js';
import { parseEvent } from '../../../features/events/parse-event.js';
import { loadFeatureSpec } from '../../../features/spec/feature-spec.js';

const spec = loadFeatureSpec(new URL('../../../configs/features/interest.json', import.meta.url).pathname);

describe('interest world (DIN: several interests, long histories, closest interest decides)', () => {
  const small = { users: 60, items: 600, categories: 12 };

  it('is deterministic from its seed', () => {
    const a = interestImpressions({ ...small, seed: 3 });
    const b = interestImpressions({ ...small, seed: 3 });
    const c = interestImpressions({ ...small, seed: 4 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.map((x) => x.event.item_id), c.map((x) => x.event.item_id));
  });

  it('gives every user minInterests..maxInterests distinct interests and minImpressions..maxImpressions impressions', () => {
    const world = buildInterestWorld(small);
    const o = world.options;
    const perUser = new Map<string, number>();
    for (const { event } of interestImpressions(small, world)) perUser.set(event.user_id, (perUser.get(event.user_id) ?? 0) + 1);
    world.user.forEach((user, u) => {
      assert.ok(user.interests.length >= o.minInterests && user.interests.length <= o.maxInterests, `u${u}: ${user.interests.length} interests`);
      assert.equal(new Set(user.interests.map((x) => x.category)).size, user.interests.length, `u${u}: distinct categories`);
      assert.ok(Math.abs(user.interests.reduce((a, x) => a + x.weight, 0) - 1) < 1e-9);
      assert.equal(perUser.get(`u${u}`), user.impressions);
      assert.ok(user.impressions >= o.minImpressions && user.impressions <= o.maxImpressions, `u${u}: ${user.impressions} impressions`);
    });
  });

  it('emits valid events in time order; a click follows each clicked impression', () => {
    const events = [...interestEvents(small)];
    let last = -Infinity;
    const clicked = new Set<string>();
    for (const event of events) {
      const parsed = parseEvent(JSON.stringify(event));
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
      assert.ok(event.ts >= last, `time order at ${event.event_id}`);
      last = event.ts;
      if (event.type === 'impression' && event.label === 1) clicked.add(event.event_id);
      if (event.type === 'click') assert.ok(clicked.delete(event.event_id.replace(/-click$/, '')), `${event.event_id} follows its impression`);
    }
    assert.equal(clicked.size, 0, 'every clicked impression has its click');
    assert.ok(events.some((e) => e.type === 'click'));
  });

  it('makes examples whose histories hold clicks and non-clicks, 50–200 behaviours for most of the test period', () => {
    const impressions = interestImpressions(small);
    const examples = examplesFromEvents(spec, interestEvents(small, impressions));
    assert.equal(examples.length, impressions.length, 'one example per impression, none per click');
    const test = examples.slice(Math.floor(0.8 * examples.length));
    const lengths = test.map((e) => e.history.length);
    assert.ok(Math.max(...lengths) <= spec.behaviour.maxLength);
    const inRange = lengths.filter((n) => n >= 50 && n <= 200).length / lengths.length;
    assert.ok(inRange > 0.9, `share of test histories of 50–200 behaviours: ${inRange}`);
    // A clicked impression enters the history twice (impression, then click); a non-click once.
    const labelOf = new Map(impressions.map((x) => [`${x.event.user_id}/${x.event.ts}`, x.event.label]));
    const last = test.at(-1)!;
    const seen = new Map<number, number>();
    for (const h of last.history) if (h.ts % 2 === 0) seen.set(labelOf.get(`${last.event.user_id}/${h.ts}`)!, (seen.get(labelOf.get(`${last.event.user_id}/${h.ts}`)!) ?? 0) + 1);
    assert.ok((seen.get(0) ?? 0) > 0 && (seen.get(1) ?? 0) > 0, `non-clicks ${seen.get(0)} and clicks ${seen.get(1)} in one history`);
    assert.equal(last.history.filter((h) => h.ts % 2 === 1).length, seen.get(1), 'one click behaviour per clicked impression');
  });

  it('click probability follows the CLOSEST interest, not the weighted mean (hand-built case)', () => {
    const world = buildInterestWorld({ ...small, latentDim: 2 });
    const { bias, wRelevance } = world.options;
    const major = { category: 0, centre: Float64Array.of(0, 0), weight: 0.9 };
    const minor = { category: 1, centre: Float64Array.of(10, 0), weight: 0.1 };
    const user = { interests: [major, minor], impressions: 100 };
    // Item 0 sits on the major centre, item 1 on the minor one, item 2 on the weighted mean (1, 0); equal quality.
    world.itemLatent[0] = Float64Array.of(0, 0);
    world.itemLatent[1] = Float64Array.of(10, 0);
    world.itemLatent[2] = Float64Array.of(1, 0);
    for (const i of [0, 1, 2]) world.quality[i] = 0;
    const onCentre = 1 / (1 + Math.exp(-(bias + wRelevance)));
    assert.ok(Math.abs(interestClickProbability(world, user, 0) - onCentre) < 1e-12);
    assert.ok(Math.abs(interestClickProbability(world, user, 1) - onCentre) < 1e-12, 'a minor interest is as clickable as the main one');
    assert.ok(interestClickProbability(world, user, 2) < interestClickProbability(world, user, 0), 'the mean of the interests is not an interest');
    // The mean-pooled oracle gets it backwards on the minor interest.
    assert.ok(blurredProbability(world, user, 1) < 0.5 * blurredProbability(world, user, 2));
  });

  it('has a Bayes AUC well above the mean-pooled oracle (what attention can gain)', () => {
    const report = interestBayesReport(interestImpressions({ users: 300 }));
    assert.ok(report.clickRate > 0.1 && report.clickRate < 0.6, `click rate ${report.clickRate}`);
    assert.ok(report.bayesAuc > 0.78, `Bayes AUC ${report.bayesAuc}`);
    assert.ok(report.bayesAuc - report.blurredAuc > 0.1, `Bayes ${report.bayesAuc} vs mean-pooled ${report.blurredAuc}`);
  });

  it('rejects bad options, naming each', () => {
    assert.throws(() => resolveInterestWorldOptions({ users: 0 }), /users must be a positive integer, got 0/);
    assert.throws(() => resolveInterestWorldOptions({ minImpressions: 100, maxImpressions: 50 }), /maxImpressions must be an integer ≥ minImpressions \(100\), got 50/);
    assert.throws(() => resolveInterestWorldOptions({ categories: 3, maxInterests: 5 }), /maxInterests must be an integer in \[minInterests, categories\] = \[2, 3\], got 5/);
    assert.throws(() => resolveInterestWorldOptions({ exploreRate: 1.5 }), /exploreRate must be in \[0, 1\], got 1.5/);
  });
});
