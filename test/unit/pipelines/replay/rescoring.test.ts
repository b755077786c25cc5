import assert from 'node:assert/strict';
import request from 'supertest';
import type { Event } from '../../../../features/events/event-schema.js';
import { createRng } from '../../../../features/math/rng.js';
import { loadCtrModel } from '../../../../models/ctr-artifact/model-artifact.js';
import type { DecisionRecord } from '../../../../pipelines/decisions/decision-record.js';
import { decisionItemRows, decisionRow } from '../../../../pipelines/decisions/decision-rows.js';
import type { StoredDecision } from '../../../../pipelines/decisions/decision-store.js';
import { compareStored } from '../../../../pipelines/ingest/offline-store.js';
import { ModelRegistry } from '../../../../pipelines/registry/model-registry.js';
import { toLoggedDecision } from '../../../../pipelines/replay/decision-window.js';
import { EventCursor } from '../../../../pipelines/replay/point-in-time-state.js';
import { ReplayScorer } from '../../../../pipelines/replay/replay-scorer.js';
import { TINY, tinySplits } from '../../../helpers/serving-fixtures.js';
import { createServingEnv, type ServingEnv } from '../../serving/serving-env.js';

/**
 * The replay re-scores the logging model (same version) on the features
 * serving used, so its scores must be the logged ones bit for bit. Traffic
 * goes through the real serving code path (HTTP app, online store, batcher,
 * exploration, decision builder); the online store lags behind the events
 * (ingestion applies a user's clicks some requests later), and a request's
 * clicks share one millisecond, as simulate-users writes them.
 */
async function* fromArray(events: readonly Event[]): AsyncGenerator<Event> {
  yield* events;
}

/** A decision as the offline store returns it (decisions + decision_items rows). */
function stored(record: DecisionRecord): StoredDecision {
  const { kafka_partition: _p, kafka_offset: _o, ...row } = decisionRow(record);
  return { ...row, items: decisionItemRows(record).map(({ request_id: _r, ts: _t, user_id: _u, ...item }) => item) };
}

describe('replay: re-scoring the logging policy', function () {
  this.timeout(180_000);
  let env: ServingEnv;
  /** What ingestion has written to the offline store: the online store's starting events, then every click. */
  const offline: Event[] = [];

  before(async () => {
    const rng = createRng(19);
    env = await createServingEnv({ exploration: 'epsilon-greedy', epsilon: 0.2 }, { random: () => rng.next() });
    const splits = tinySplits();
    offline.push(...splits.train.map((e) => e.event));
    for (const e of splits.train.slice(0, 400)) {
      offline.push({ schema_version: 1, type: 'item_update', event_id: `attr-${e.event.item_id}`, ts: 1, item_id: e.event.item_id, attributes: e.item });
    }
  });
  after(async () => { await env?.cleanup(); });

  it('the replay\'s re-scored logging policy reproduces the logged scores exactly (same model version, same features as served)', async () => {
    const rng = createRng(7);
    let pending: Event[] = [];
    for (let n = 0; n < 80; n++) {
      const userId = `u${rng.int(6)}`;
      const candidates = [...new Set(Array.from({ length: 30 }, () => `i${rng.int(TINY.items)}`))].slice(0, 20);
      const res = await request(env.running.app).post('/v1/recommend').send({ user_id: userId, k: 5, candidates }).expect(200);
      // Every shown item at positions 0 and 2 is clicked, both in the same millisecond.
      const ts = Date.now();
      for (const item of res.body.items as { item_id: string; position: number }[]) {
        if (item.position !== 0 && item.position !== 2) continue;
        pending.push({ schema_version: 1, type: 'click', event_id: `c${n}-${item.position}`, ts, user_id: userId, item_id: item.item_id, label: 1, request_id: res.body.request_id });
      }
      // Ingestion lag: the online store receives the clicks only every 5th request.
      if (n % 5 === 4) {
        env.online.applyEvents(pending);
        offline.push(...pending);
        pending = [];
      }
    }
    offline.push(...pending);
    const records = env.decisions.records;
    assert.equal(records.length, 80);

    const served = await new ModelRegistry(env.registry).resolve('syn-din');
    assert.deepEqual(records.map((r) => r.models.ranker.version), records.map(() => served.version));
    const { model } = await loadCtrModel(served.dir);
    try {
      // As runReplay scores A: the model loaded as its pinned version, examples built with the state at each decision, batched.
      const scorer = new ReplayScorer(model, { model: served.model, version: served.version });
      const cursor = new EventCursor(fromArray([...offline].sort(compareStored)), [scorer.state]);
      const decisions = records.map((r) => toLoggedDecision(stored(r), undefined));
      const examples = [];
      for (const d of decisions) {
        await cursor.advanceTo(d.ts);
        examples.push(scorer.examples(d));
      }
      const scores = scorer.predict(examples, decisions);
      const differing = decisions.filter((d, i) => d.loggedScores.some((s, j) => s !== scores[i]![j]));
      assert.deepEqual(differing.map((d) => d.requestId), [], `${differing.length} of ${decisions.length} decisions re-scored differently from what was served`);

      // Actually re-scored (no logged scores taken): the same features, so the
      // same numbers up to float32 rounding (which may reorder exact ties, e.g.
      // two cold-start items, hence the logged scores above), and the same
      // order of any two candidates the logged scores separate.
      const rescored = scorer.predict(examples);
      let worst = 0;
      decisions.forEach((d, i) => {
        const s = rescored[i]!;
        d.loggedScores.forEach((logged, j) => {
          worst = Math.max(worst, Math.abs(logged - s[j]!));
          const next = d.loggedScores[j + 1];
          if (next !== undefined && logged - next > 1e-6) assert.ok(s[j]! > s[j + 1]!, `decision ${d.requestId}: candidates ${j} and ${j + 1} swapped on re-scoring`);
        });
      });
      assert.ok(worst <= 1e-6, `re-scored on the served features, a score moved by ${worst} (more than float32 rounding)`);
    } finally {
      model.dispose();
    }
  });
});
