import assert from 'node:assert/strict';
import { syntheticImpressions } from '../../../../features/datasets/synthetic.js';
import { EventSchema } from '../../../../features/events/event-schema.js';
import { createRng } from '../../../../features/math/rng.js';
import { clickEvent, drawClicks, worldItemIndex } from '../../../../pipelines/simulation/outcome-events.js';
import { percentile, summarise } from '../../../../pipelines/simulation/simulate-users.js';
import { buildSyntheticWorld, clickProbability, rememberClick, sampleItems } from '../../../../features/datasets/synthetic-world.js';

describe('simulated users: the synthetic world and its click model', () => {
  const options = { seed: 7, users: 60, items: 90, events: 3000 };

  it("reproduces the generator's true click probability of every impression", () => {
    const world = buildSyntheticWorld(options);
    const recent = Array.from({ length: options.users }, (): number[] => []);
    let k = 0;
    for (const { event, probability } of syntheticImpressions(options)) {
      const u = Number(event.user_id.slice(1)), i = Number(event.item_id.slice(1));
      const mine = clickProbability(world, u, i, recent[u]!, k / options.events);
      assert.ok(Math.abs(mine - probability) < 1e-12, `impression ${k}: ${mine} vs ${probability}`);
      if (event.label === 1) rememberClick(world, recent[u]!, i);
      k++;
    }
    assert.equal(k, options.events);
  });

  it("draws candidates by the generator's item popularity", () => {
    const world = buildSyntheticWorld(options);
    const counts = new Map<string, number>();
    for (const { event } of syntheticImpressions(options)) counts.set(event.item_id, (counts.get(event.item_id) ?? 0) + 1);
    const mostShown = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    const pdf = Array.from(world.popularityCdf, (c, i) => c - (i > 0 ? world.popularityCdf[i - 1]! : 0));
    assert.equal(`i${pdf.indexOf(Math.max(...pdf))}`, mostShown);
    const sample = sampleItems(world, 30, createRng(1));
    assert.equal(new Set(sample).size, 30);
    assert.ok(sample.every((i) => i >= 0 && i < options.items));
  });

  it('holds the first users of a larger world unchanged', () => {
    const small = buildSyntheticWorld({ ...options, users: 5 });
    const large = buildSyntheticWorld({ ...options, users: 500 });
    for (let u = 0; u < 5; u++) assert.deepEqual(small.user[u], large.user[u]);
  });

  it('maps served ids onto the catalog: prefix + n is item n (mod items), others hash stably', () => {
    assert.equal(worldItemIndex('i12', 'i', 90), 12);
    assert.equal(worldItemIndex('i95', 'i', 90), 5);
    assert.equal(worldItemIndex('42', '', 90), 42);
    const h = worldItemIndex('new-item', 'i', 90);
    assert.ok(h >= 0 && h < 90);
    assert.equal(worldItemIndex('new-item', 'i', 90), h);
  });

  it('clicks with the true probabilities (frequency over many draws) and remembers clicks', () => {
    const world = buildSyntheticWorld(options);
    const rng = createRng(3);
    const shown = [{ item_id: 'i4', position: 1 }, { item_id: 'i3', position: 0 }];
    const p = [clickProbability(world, 2, 3, []), clickProbability(world, 2, 4, [])];
    const clicks = [0, 0];
    const n = 20_000;
    for (let t = 0; t < n; t++) {
      const draws = drawClicks(world, 2, [], shown, 'i', rng);
      assert.deepEqual(draws.map((d) => d.position), [0, 1]);
      draws.forEach((d, j) => {
        assert.equal(d.probability, p[j]);
        if (d.clicked) clicks[j]!++;
      });
    }
    for (let j = 0; j < 2; j++) {
      const se = Math.sqrt((p[j]! * (1 - p[j]!)) / n);
      assert.ok(Math.abs(clicks[j]! / n - p[j]!) < 4 * se, `item ${j}: ${clicks[j]! / n} vs ${p[j]}`);
    }
    const recent: number[] = [];
    const sure = drawClicks({ ...world, weights: { ...world.weights, bias: 50 } }, 2, recent, shown, 'i', rng);
    assert.ok(sure.every((d) => d.clicked));
    assert.deepEqual(recent, [world.category[3], world.category[4]]);
  });

  it('builds a valid click event that references the decision', () => {
    const event = clickEvent({ runId: 'r1', request: 7, requestId: 'req-abc', userId: 'u3', itemId: 'i9', position: 2, ts: 1_800_000_000_000 });
    assert.deepEqual(EventSchema.parse(event), event);
    assert.equal(event.type, 'click');
    assert.equal(event.label, 1);
    assert.equal(event.request_id, 'req-abc');
    assert.equal(event.event_id, 'simu-r1-7-2');
    assert.deepEqual(event.context, { position: 2 });
  });

  it('summarises CTR and latency percentiles', () => {
    assert.equal(percentile([1, 2, 3, 4], 0.5), 2);
    assert.equal(percentile([1, 2, 3, 4], 0.99), 4);
    const s = summarise({ requests: 4, failed: 1, shown: 30, clicks: 6, expectedClicks: 7.5, latenciesMs: [5, 1, 3], errors: ['HTTP 503'] }, 2);
    assert.deepEqual(s, { requests: 4, failed: 1, shown: 30, clicks: 6, ctr: 0.2, expected_ctr: 0.25, latency_p50_ms: 3, latency_p99_ms: 5, seconds: 2, errors: ['HTTP 503'] });
  });
});
