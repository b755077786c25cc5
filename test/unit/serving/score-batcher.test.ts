import assert from 'node:assert/strict';
import { CtrScorer } from '../../../models/ctr/ctr-scorer.js';
import { ScoreBatcher } from '../../../serving/score-batcher.js';
import { tinySplits, trainTinyCtr } from '../../helpers/serving-fixtures.js';

describe('micro-batching of score requests', function () {
  this.timeout(120_000);

  it('concurrent requests share model calls and get exactly the scores of one-by-one scoring', async () => {
    const model = trainTinyCtr();
    try {
      const scorer = CtrScorer.fromModel(model);
      const examples = tinySplits().test.slice(0, 12);
      const requests = examples.map((e, i) => ({
        userId: e.event.user_id, user: e.user, history: e.history, ts: 1_700_000_000_000,
        candidates: [e.event.item_id, `i${i}`, 'unknown-item'].slice(0, 1 + (i % 3)),
      }));
      const attrs = examples[0]!.itemAttributes;
      const expected = requests.map((r) => scorer.score(r, attrs));
      const batcher = new ScoreBatcher(10);
      const got = await Promise.all(requests.map((r) => batcher.score(scorer, r, attrs)));
      got.forEach((scores, i) => scores.forEach((s, j) => assert.ok(Math.abs(s - expected[i]![j]!) < 1e-5, `request ${i} candidate ${j}: ${s} vs ${expected[i]![j]}`)));
      assert.equal(batcher.requests, 12);
      assert.ok(batcher.calls < 12 && batcher.calls >= Math.ceil(24 / 10), `${batcher.calls} model calls`);
      const off = new ScoreBatcher(0);
      await Promise.all(requests.map((r) => off.score(scorer, r, attrs)));
      assert.equal(off.calls, 12);
    } finally {
      model.dispose();
    }
  });
});
