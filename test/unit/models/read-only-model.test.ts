import assert from 'node:assert/strict';
import fc from 'fast-check';
import { syntheticEvents } from '../../../features/datasets/synthetic.js';
import type { AttributeMap, Event } from '../../../features/events/event-schema.js';
import type { Example } from '../../../features/samples/example.js';
import { PointInTimeSampleBuilder } from '../../../features/samples/point-in-time-builder.js';
import { FeatureEncoder } from '../../../features/spec/feature-encoder.js';
import { loadFeatureSpec } from '../../../features/spec/feature-spec.js';
import { ValidationError } from '../../../infra/errors.js';
import { createCtrModel } from '../../../models/create-model.js';
import type { CtrModel } from '../../../models/ctr/ctr-model.js';
import { CtrScorer, type ScoreRequest } from '../../../models/ctr/ctr-scorer.js';
import { loadCtrModel, saveCtrModel } from '../../../models/ctr-artifact/model-artifact.js';
import type { LoggedDecision } from '../../../pipelines/replay/estimators/logged-decision.js';
import { ReplayScorer } from '../../../pipelines/replay/replay-scorer.js';
import { tempRegistry } from '../../helpers/registry-fixtures.js';
import { assertClose } from '../../helpers/assert-close.js';
import { SMALL, STREAM_SPEC } from '../pipelines/streaming/stream-fixtures.js';

/** Everything a lookup could move: weights, id map, admission counts, clocks, counters. */
function tableState(model: CtrModel): unknown[] {
  return model.layout.tables.map((t) => ({
    weights: t.weights.slice(),
    lookups: t.lookups,
    stats: t.stats(),
    dynamic: t.dynamicState && {
      rowIds: t.dynamicState.rowIds.slice(),
      live: t.dynamicState.live.slice(),
      lastSeen: t.dynamicState.lastSeen.slice(),
      filterCounts: t.dynamicState.filterCounts.slice(),
    },
  }));
}

describe('a model loaded for serving, replay or evaluation is read-only', function () {
  this.timeout(180_000);
  const spec = loadFeatureSpec(STREAM_SPEC);
  const events: Event[] = [...syntheticEvents(SMALL)];
  const builder = new PointInTimeSampleBuilder(spec);
  const examples: Example[] = [];
  for (const e of events) examples.push(...builder.push(e));
  // What streaming training uses, with the two mechanisms that made lookups
  // change a table: an admission filter (a second sighting allocates a fresh
  // row) and expiry after a few lookups (a trained row is reset).
  const config = {
    type: 'din' as const, seed: 4, learningRate: 0.005, embeddingLearningRate: 0.05, mlpUnits: [16], attentionUnits: [8],
    embedding: { kind: 'unified' as const, rows: 8192, chunkDim: 4, defaultChunks: 2, dynamic: { admitAfter: 2, expireAfter: 40 } },
  };
  let dir: string;

  before(async () => {
    const encoder = FeatureEncoder.fit(spec, []);
    const model = createCtrModel(encoder, config);
    for (let i = 0; i < 12; i++) model.trainStep(encoder.encode(examples.slice(i * 200, i * 200 + 200)));
    dir = (await saveCtrModel(model, { registry: tempRegistry(), name: 'read-only' })).dir;
    model.dispose();
  });

  // A request of a user the model was trained on, with a real history.
  const probe = examples[2500]!;
  const fixed: ScoreRequest = {
    userId: probe.event.user_id,
    user: probe.user,
    history: probe.history,
    candidates: examples.slice(2400, 2440).map((e) => e.event.item_id),
  };
  const knownItems = (id: string): AttributeMap => examples.find((e) => e.event.item_id === id)?.item ?? {};

  const token = fc.string({ minLength: 1, maxLength: 12 });
  const attributes = fc.dictionary(fc.oneof(fc.constantFrom('segment', 'category', 'age'), token), fc.oneof(token, fc.integer(), fc.double({ noNaN: true })), { maxKeys: 3 });
  const randomRequest: fc.Arbitrary<ScoreRequest> = fc.record({
    userId: token,
    user: attributes,
    history: fc.array(fc.record({ item_id: token, type: fc.constantFrom('impression', 'click'), ts: fc.nat() }), { maxLength: 12 }),
    candidates: fc.array(token, { minLength: 1, maxLength: 30 }),
  }) as fc.Arbitrary<ScoreRequest>;

  it('scores a fixed request bit-identically before and after thousands of requests with random unseen ids and values', async () => {
    const { model } = await loadCtrModel(dir);
    try {
      const scorer = CtrScorer.fromModel(model);
      const before = scorer.score(fixed, knownItems);
      const state = tableState(model);
      let requests = 0;
      fc.assert(fc.property(randomRequest, fc.array(fc.constantFrom(...fixed.candidates), { maxLength: 5 }), (request, known) => {
        // Known candidates too: repeated sightings are what admission and expiry count.
        scorer.score({ ...request, candidates: [...request.candidates, ...known] }, (id) => (id.length % 2 ? knownItems(id) : { category: id }));
        requests++;
      }), { numRuns: 2000, seed: 17 });
      assert.equal(requests, 2000);
      assert.deepEqual(scorer.score(fixed, knownItems), before, 'the same scores, to the bit');
      assert.deepEqual(tableState(model), state, 'no table state moved');
    } finally {
      model.dispose();
    }
  });

  it('replays decisions to the same scores whatever order they are scored in', async () => {
    const decisions: LoggedDecision[] = Array.from({ length: 240 }, (_, i) => {
      const e = examples[(i * 11) % examples.length]!;
      // Half of each slate the model knows, half it has never seen (new every few decisions, so ids recur).
      const candidates = [...examples.slice(i, i + 6).map((x) => x.event.item_id), ...Array.from({ length: 6 }, (_, j) => `new-${(i >> 2) + j}`)];
      return { requestId: `r${i}`, userId: i % 3 ? e.event.user_id : `new-user-${i >> 1}`, ts: e.event.ts, candidates, loggedScores: new Float32Array(candidates.length), shown: [] };
    });
    const replay = async (order: LoggedDecision[], batch: number): Promise<Map<string, Float32Array>> => {
      const { model } = await loadCtrModel(dir);
      try {
        const scorer = new ReplayScorer(model);
        for (const e of events.slice(0, 2000)) scorer.state.push(e);
        const out = new Map<string, Float32Array>();
        for (let i = 0; i < order.length; i += batch) {
          const slice = order.slice(i, i + batch);
          scorer.predict(slice.map((d) => scorer.examples(d))).forEach((s, j) => out.set(slice[j]!.requestId, s));
        }
        return out;
      } finally {
        model.dispose();
      }
    };
    // One decision per predict call, so only the order differs: bit-identical.
    const forward = await replay(decisions, 1);
    const backward = await replay([...decisions].reverse(), 1);
    assert.equal(forward.size, decisions.length);
    for (const d of decisions) assert.deepEqual(backward.get(d.requestId), forward.get(d.requestId), `decision ${d.requestId}`);
    // Batched differently, the kernels sum in another order: equal to float rounding.
    const batched = await replay([...decisions].reverse(), 32);
    for (const d of decisions) assertClose(batched.get(d.requestId)!, forward.get(d.requestId)!, { atol: 1e-6 }, `decision ${d.requestId} in batches of 32`);
  });

  it('refuses to train, before anything moves', async () => {
    const { model } = await loadCtrModel(dir);
    try {
      const dense = model.denseState().data.slice();
      const state = tableState(model);
      assert.throws(() => model.trainStep(model.encoder.encode(examples.slice(0, 50))), (e: Error) => e instanceof ValidationError && /read-only/.test(e.message));
      assert.deepEqual(model.denseState().data, dense);
      assert.deepEqual(tableState(model), state);
    } finally {
      model.dispose();
    }
  });

  it('loads trainable when asked (a trainer resuming from a version)', async () => {
    const { model } = await loadCtrModel(dir, { trainable: true });
    try {
      assert.ok(model.layout.tables.every((t) => !t.readOnly));
      assert.ok(Number.isFinite(model.trainStep(model.encoder.encode(examples.slice(0, 50)))));
    } finally {
      model.dispose();
    }
  });
});
