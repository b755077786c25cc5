import assert from 'node:assert/strict';
import type { FeatureEncoderJson } from '../../../../features/spec/feature-encoder.js';
import { serveBanner, servedExampleIds, type ServedDescription } from '../../../../cli/output/serve-banner.js';

function encoder(users: string[] | 'hash', items: string[] | 'hash'): FeatureEncoderJson {
  const vocab = (tokens: string[] | 'hash') => (tokens === 'hash' ? { type: 'hash' as const } : { type: 'fixed' as const, tokens });
  return {
    spec: {
      name: 't', version: 1, label: { from: 'label' }, exampleTypes: ['impression'], behaviour: { types: ['click'], positiveOnly: true, maxLength: 5 },
      fields: [
        { kind: 'categorical', name: 'uid', source: 'user_id', vocab: { type: 'fixed', minCount: 1 } },
        { kind: 'categorical', name: 'iid', source: 'item_id', vocab: { type: 'fixed', minCount: 1 } },
      ],
    } as unknown as FeatureEncoderJson['spec'],
    vocabularies: { uid: vocab(users), iid: vocab(items) },
  };
}

const served = (retrieval: boolean): ServedDescription => ({
  url: 'http://127.0.0.1:8080',
  ranker: { model: 'din', version: 3, via: 'serving' },
  retrieval: retrieval ? { model: 'graph', version: 2, via: 'latest', items: 1500, ann: 'HNSW', recall: 0.97 } : null,
  onlineStore: 'redis redis://127.0.0.1:6379 (keys recsys:*)',
  decisions: 'kafka topic recsys.decisions',
});

describe('serve banner (what recsys serve prints once ready)', () => {
  it("takes the ranker's most frequent user and items", () => {
    assert.deepEqual(servedExampleIds({ ranker: encoder(['u7', 'u1'], ['i3', 'i9', 'i4', 'i8']), retrieval: null }), { userId: 'u7', items: ['i3', 'i9', 'i4'] });
  });

  it('with retrieval, only ids the graph model has rows for (so retrieval and the embedding lookup find them)', () => {
    const ids = servedExampleIds({ ranker: encoder(['u7', 'u1'], ['i3', 'i9', 'i4', 'i8']), retrieval: { itemIds: ['i8', 'i9', 'i4'], userIds: ['u1'] } });
    assert.deepEqual(ids, { userId: 'u1', items: ['i9', 'i4', 'i8'] });
  });

  it("falls back to the graph model's rows when the ranker's vocabularies are hashed, and to none without either", () => {
    assert.deepEqual(servedExampleIds({ ranker: encoder('hash', 'hash'), retrieval: { itemIds: ['i1', 'i2'], userIds: ['u5', 'u6'] } }), { userId: 'u5', items: ['i1', 'i2'] });
    assert.equal(servedExampleIds({ ranker: encoder('hash', 'hash'), retrieval: null }), undefined);
  });

  it('says what it serves, then curls for those ids; without retrieval the recommend curl supplies candidates', () => {
    const lines = serveBanner(served(false), { userId: 'u7', items: ['i3', 'i9'] });
    assert.deepEqual(lines.slice(0, 5), [
      'serving on http://127.0.0.1:8080 (Ctrl-C or SIGTERM to stop)',
      '  ranker:        din v3',
      '  retrieval:     none: /v1/recommend ranks the candidates a request supplies (--retrieval <graph model> to retrieve)',
      '  online store:  redis redis://127.0.0.1:6379 (keys recsys:*)',
      '  decisions:     kafka topic recsys.decisions',
    ]);
    assert.ok(lines.includes(`curl -s http://127.0.0.1:8080/v1/recommend -H 'content-type: application/json' -d '{"user_id":"u7","k":2,"candidates":["i3","i9"]}'`), lines.join('\n'));
    assert.ok(!lines.some((l) => l.includes('/v1/embeddings/items/')), 'no graph embedding lookup without a graph model');
  });

  it('with retrieval: its version, size and index, and a recommend without candidates', () => {
    const lines = serveBanner(served(true), { userId: 'u7', items: ['i3'] });
    assert.equal(lines[2], '  retrieval:     graph v2 (latest: no serving alias), 1,500 items, HNSW index (recall@100 0.970)');
    assert.ok(lines.includes(`curl -s http://127.0.0.1:8080/v1/recommend -H 'content-type: application/json' -d '{"user_id":"u7","k":5}'`));
    assert.ok(lines.includes('curl -s http://127.0.0.1:8080/v1/embeddings/items/i3'));
  });

  it('says why there are no curls when the models list no ids', () => {
    assert.match(serveBanner(served(false), undefined).at(-1)!, /no curl examples/);
  });
});
