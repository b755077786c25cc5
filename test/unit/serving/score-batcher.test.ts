import assert from 'node:assert/strict';
import type { EncodedBatch } from '../../../features/spec/feature-encoder.js';
import { CtrScorer } from '../../../models/ctr/ctr-scorer.js';
import { ScoreBatcher, type Ranker } from '../../../serving/score-batcher.js';
import { tinySplits, trainTinyCtr } from '../../helpers/serving-fixtures.js';

const inProcess = (scorer: CtrScorer): Ranker => ({ scorer, predict: async (batch) => scorer.model.predict(batch) });

describe('micro-batching of score requests', function () {
  this.timeout(120_000);
  let model: ReturnType<typeof trainTinyCtr>;
  let scorer: CtrScorer;
  before(() => {
    model = trainTinyCtr();
    scorer = CtrScorer.fromModel(model);
  });
  after(() => model.dispose());

  it('concurrent requests share model calls and get exactly the scores of one-by-one scoring', async () => {
    const examples = tinySplits().test.slice(0, 12);
    const requests = examples.map((e, i) => ({
      userId: e.event.user_id, user: e.user, history: e.history, ts: 1_700_000_000_000,
      candidates: [e.event.item_id, `i${i}`, 'unknown-item'].slice(0, 1 + (i % 3)),
    }));
    const attrs = examples[0]!.itemAttributes;
    const expected = requests.map((r) => scorer.score(r, attrs));
    const ranker = inProcess(scorer);
    const batcher = new ScoreBatcher({ maxCandidates: 10, maxInFlight: 8 });
    const got = await Promise.all(requests.map((r) => batcher.score(ranker, r, attrs)));
    got.forEach((scores, i) => scores.forEach((s, j) => assert.ok(Math.abs(s - expected[i]![j]!) < 1e-5, `request ${i} candidate ${j}: ${s} vs ${expected[i]![j]}`)));
    assert.equal(batcher.requests, 12);
    assert.ok(batcher.calls < 12 && batcher.calls >= Math.ceil(24 / 10), `${batcher.calls} model calls`);
    const off = new ScoreBatcher({ maxCandidates: 0 });
    await Promise.all(requests.map((r) => off.score(ranker, r, attrs)));
    assert.equal(off.calls, 12);
  });

  it('a model call that fails rejects its requests only, and frees its slot for the next', async () => {
    const e = tinySplits().test[0]!;
    let failNext = true;
    const flaky: Ranker = {
      scorer,
      predict: async (batch) => {
        if (failNext) {
          failNext = false;
          throw new Error('model call failed');
        }
        return scorer.model.predict(batch);
      },
    };
    const batcher = new ScoreBatcher({ maxCandidates: 2000, maxInFlight: 1 });
    const request = { userId: e.event.user_id, history: e.history, ts: 1, candidates: [e.event.item_id] };
    const [first, second] = await Promise.allSettled([batcher.score(flaky, request, () => ({})), batcher.score(flaky, request, () => ({}))]);
    assert.equal(first.status, 'rejected');
    assert.equal(second.status, 'rejected', 'requests of one call share its outcome');
    const after = await batcher.score(flaky, request, () => ({}));
    assert.equal(after.length, 1);
    assert.equal(batcher.calls, 2);
  });

  it('runs at most maxInFlight model calls; requests that arrive meanwhile go together in the next call', async () => {
    const e = tinySplits().test[0]!;
    const request = (i: number) => ({ userId: e.event.user_id, history: e.history, ts: 1, candidates: [e.event.item_id, `i${i}`] });
    // A ranker whose calls finish only when the test lets them: it sees every call's size and how many overlap.
    const calls: { size: number; finish: () => void }[] = [];
    let running = 0;
    let most = 0;
    const slow: Ranker = {
      scorer,
      predict: (batch: EncodedBatch) => new Promise((resolve) => {
        running++;
        most = Math.max(most, running);
        calls.push({ size: batch.size, finish: () => { running--; resolve(scorer.model.predict(batch)); } });
      }),
    };
    const batcher = new ScoreBatcher({ maxCandidates: 2000, maxInFlight: 2 });
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    const answers: Promise<Float32Array>[] = [];
    answers.push(batcher.score(slow, request(0), () => ({})));
    await tick();
    answers.push(batcher.score(slow, request(1), () => ({})));
    await tick();
    // Two calls are running: these five wait, then go as one call.
    for (let i = 2; i < 7; i++) answers.push(batcher.score(slow, request(i), () => ({})));
    await tick();
    await tick();
    assert.deepEqual(calls.map((c) => c.size), [2, 2]);
    calls[0]!.finish();
    await tick();
    await tick();
    assert.deepEqual(calls.map((c) => c.size), [2, 2, 10]);
    calls[1]!.finish();
    calls[2]!.finish();
    const scores = await Promise.all(answers);
    assert.equal(most, 2);
    assert.equal(batcher.calls, 3);
    scores.forEach((s, i) => scorer.score(request(i)).forEach((x, j) => assert.ok(Math.abs(s[j]! - x) < 1e-5, `request ${i} candidate ${j}: ${s[j]} vs ${x}`)));
  });
});
