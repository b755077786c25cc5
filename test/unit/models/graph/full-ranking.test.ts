import assert from 'node:assert/strict';
import { evaluateFullRanking, itemsPerUser, topK } from '../../../../models/graph/full-ranking.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('full-ranking evaluation', () => {
  it('topK: best first, ties keep index order, masked items never appear', () => {
    const scores = Float32Array.from([0.5, 2, -Infinity, 2, 1, -1]);
    assert.deepEqual(topK(scores, 3), [1, 3, 4]);
    assert.deepEqual(topK(scores, 10), [1, 3, 4, 0, 5]);
  });

  it('excludes the user\'s train items from the ranking and matches hand-computed metrics', () => {
    // 1-d embeddings: item scores for user 0 are the item values (user vector = 1).
    // Items 0 and 1 score highest but are train items; the held-out items are 3 and 5.
    const items = Float32Array.from([10, 9, 8, 7, 6, 5]);
    const emb = { dim: 1, users: Float32Array.from([1, -1]), items };
    const train = { users: Int32Array.from([0, 0, 1]), items: Int32Array.from([0, 1, 5]) };
    const test = { users: Int32Array.from([0, 0]), items: Int32Array.from([3, 5]) };
    const exclude = itemsPerUser(2, train);
    const m = evaluateFullRanking(emb, test, exclude, [2, 3]);
    // Ranking without train items: [2, 3, 4, 5]. @2: hit at position 2 (item 3).
    assert.equal(m.users, 1); // user 1 has no test items and is not counted
    close(m['recall@2']!, 1 / 2);
    close(m['precision@2']!, 1 / 2);
    close(m['ndcg@2']!, (1 / Math.log2(3)) / (1 + 1 / Math.log2(3)));
    close(m['f1@2']!, 1 / 2);
    // @3: still one hit (item 4 is not relevant).
    close(m['recall@3']!, 1 / 2);
    close(m['precision@3']!, 1 / 3);
    // Without the mask the train items 0 and 1 would take both top places and NDCG@2 would be 0.
    const unmasked = evaluateFullRanking(emb, test, [new Int32Array(0), new Int32Array(0)], [2]);
    close(unmasked['ndcg@2']!, 0);
  });

  it('averages over users with held-out items, blocks of any size give the same result', () => {
    const emb = { dim: 2, users: Float32Array.from([1, 0, 0, 1, 1, 1]), items: Float32Array.from([1, 0, 0, 1, 0.5, 0.5, -1, -1]) };
    const test = { users: Int32Array.from([0, 1, 2]), items: Int32Array.from([0, 0, 2]) };
    const exclude = itemsPerUser(3, { users: Int32Array.from([2]), items: Int32Array.from([0]) });
    const a = evaluateFullRanking(emb, test, exclude, [1, 2], 1);
    const b = evaluateFullRanking(emb, test, exclude, [1, 2], 256);
    assert.deepEqual(a, b);
    // user 0 ranks [0, 2, 1, 3] → hit@1; user 1 ranks [1, 2, 0, 3] → miss@1, hit@3 only;
    // user 2 (item 0 excluded) ranks [1, 2, 3]: ties 1.0 between 1 and 2 → [1, 2], hit@2.
    close(a['recall@1']!, 1 / 3);
    close(a['recall@2']!, 2 / 3);
  });
});
