import assert from 'node:assert/strict';
import request from 'supertest';
import { createRng } from '../../../features/math/rng.js';
import { tinySplits } from '../../helpers/serving-fixtures.js';
import { ADMIN_TOKEN, createServingEnv, type ServingEnv } from './serving-env.js';

/** A response body never carries a stack trace or internal paths. */
function assertNoStack(body: unknown): void {
  const text = JSON.stringify(body);
  assert.doesNotMatch(text, /\n\s+at |\.ts:\d+|node_modules|Error:/, text);
}

describe('serving HTTP API', function () {
  this.timeout(120_000);
  let env: ServingEnv;
  const app = () => env.running.app;

  before(async () => { env = await createServingEnv(); });
  after(async () => { await env?.cleanup(); });

  it('answers health, readiness (with versions) and metrics', async () => {
    await request(app()).get('/healthz').expect(200, { status: 'ok' });
    const ready = await request(app()).get('/readyz').expect(200);
    assert.equal(ready.body.ranker.model, 'syn-din');
    assert.equal(ready.body.ranker.version, 1);
    assert.equal(ready.body.ranker.via, 'latest');
    assert.equal(ready.body.retrieval.index, 'hnsw');
    await request(app()).post('/v1/score').send({ user_id: 'u1', candidates: ['i1'] }).expect(200);
    await request(app()).post('/v1/recommend').send({ user_id: 'u1', k: 3 }).expect(200);
    const metrics = await request(app()).get('/metrics').expect(200);
    assert.match(metrics.text, /serving_decision_write_seconds_count\{sink="memory"\} 1\n/);
    assert.match(metrics.text, /serving_request_duration_seconds_bucket\{.*route="\/v1\/score"/);
    assert.match(metrics.text, /serving_model_version\{role="ranker",model="syn-din"\} 1/);
    assert.match(metrics.text, /serving_cache_requests_total\{cache="item_attributes",result="miss"\}/);
  });

  it('scores candidates with history from the online store; unknown items are cold start', async () => {
    const res = await request(app()).post('/v1/score').send({ user_id: 'u3', candidates: ['i1', 'i2', 'never-seen-item'], context: { device: 'mobile' } }).expect(200);
    assert.equal(res.body.history_source, 'online-store');
    assert.deepEqual(res.body.scores.map((s: { item_id: string }) => s.item_id), ['i1', 'i2', 'never-seen-item']);
    for (const s of res.body.scores) assert.ok(s.score > 0 && s.score < 1, JSON.stringify(s));
    assert.deepEqual(res.body.models.ranker, { model: 'syn-din', version: 1 });
    assert.equal(res.headers['x-request-id'], res.body.request_id);
  });

  it('uses the history and attributes a request supplies, and a new user is cold start', async () => {
    const res = await request(app()).post('/v1/score')
      .send({ user_id: 'brand-new-user', candidates: ['i5'], history: ['i1', { item_id: 'i2', ts: 1_700_000_000_000 }], user_attributes: { segment: 's1' } })
      .expect(200);
    assert.equal(res.body.history_source, 'request');
    assert.equal(res.body.scores.length, 1);
  });

  it('recommends: retrieval → ranking, seen items filtered, one decision record per response', async () => {
    const before = env.decisions.records.length;
    const user = await env.online.user('u3');
    const seen = new Set(user.history.map((h) => h.item_id));
    assert.ok(seen.size > 0, 'u3 has a history in the fixture');
    const res = await request(app()).post('/v1/recommend').send({ user_id: 'u3', k: 5, exclude: ['i0'] }).expect(200);
    assert.equal(res.body.items.length, 5);
    for (const item of res.body.items) {
      assert.ok(!seen.has(item.item_id) && item.item_id !== 'i0', `${item.item_id} was seen or excluded`);
      assert.equal(item.propensity, 1);
    }
    assert.equal(res.body.query, 'user');
    assert.equal(res.body.retrieval, 'index');
    const scores = res.body.items.map((i: { score: number }) => i.score);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
    assert.equal(env.decisions.records.length, before + 1);
    const record = env.decisions.records.at(-1)!;
    assert.equal(record.request_id, res.body.request_id);
    assert.equal(record.candidates.length, res.body.candidates);
    assert.ok(record.candidates.length <= 50 && record.candidates.length >= 5);
    assert.deepEqual(record.shown.map((s) => s.item_id), res.body.items.map((i: { item_id: string }) => i.item_id));
    assert.deepEqual(record.models, { ranker: { name: 'syn-din', version: 1 }, retrieval: { name: 'syn-graph', version: 1 } });
  });

  it('recommends with exploration and for users the models never saw', async () => {
    const res = await request(app()).post('/v1/recommend').send({ user_id: 'nobody', k: 10, exploration: { scheme: 'epsilon-greedy', epsilon: 0.5 } }).expect(200);
    assert.equal(res.body.query, 'mean');
    assert.equal(res.body.items.length, 10);
    for (const item of res.body.items) assert.ok(item.propensity > 0 && item.propensity <= 1);
    const ranked = await request(app()).post('/v1/recommend').send({ user_id: 'u1', k: 2, candidates: ['i1', 'i2', 'i3', 'unknown-item'], exploration: { scheme: 'softmax', temperature: 0.1 } }).expect(200);
    assert.equal(ranked.body.retrieval, 'request');
    assert.equal(ranked.body.items.length, 2);
    assert.equal(env.decisions.records.at(-1)!.models.retrieval, null);
  });

  it('serves feature embeddings (single and batch) and retrieval embeddings', async () => {
    const known = tinySplits().train[0]!.event.item_id;
    const one = await request(app()).get(`/v1/embeddings/features/item_id/${known}`).expect(200);
    assert.equal(one.body.embedding.length, 8);
    assert.equal(one.body.known, true);
    assert.equal(one.body.chunks, 1);
    assert.equal(one.body.precision, 'float');
    const unknown = await request(app()).get('/v1/embeddings/features/item_id/no-such-item').expect(200);
    assert.equal(unknown.body.known, false);
    // A behaviour sequence uses its item field's rows.
    const hist = await request(app()).get(`/v1/embeddings/features/hist_items/${known}`).expect(200);
    assert.deepEqual(hist.body.embedding, one.body.embedding);
    const batch = await request(app()).post('/v1/embeddings/features').send({ features: [{ field: 'item_id', value: known }, { field: 'category', value: 'c1' }] }).expect(200);
    assert.equal(batch.body.embeddings.length, 2);
    assert.deepEqual(batch.body.embeddings[0].embedding, one.body.embedding);
    const bad = await request(app()).get('/v1/embeddings/features/no_such_field/x').expect(400);
    assert.match(bad.body.error, /unknown field/);

    const item = await request(app()).get('/v1/embeddings/items/i7').expect(200);
    assert.equal(item.body.embedding.length, 8);
    assert.equal(item.body.model, 'syn-graph');
    await request(app()).get('/v1/embeddings/users/u2').expect(200);
    const missing = await request(app()).get('/v1/embeddings/items/nope').expect(404);
    assertNoStack(missing.body);
    const many = await request(app()).post('/v1/embeddings/items').send({ ids: ['i1', 'nope'] }).expect(200);
    assert.equal(many.body.embeddings[1].embedding, null);
  });

  const badRequests: [string, string, unknown, number][] = [
    ['no body', '/v1/score', undefined, 400],
    ['missing user', '/v1/score', { candidates: ['i1'] }, 400],
    ['empty candidates', '/v1/score', { user_id: 'u1', candidates: [] }, 400],
    ['1,001 candidates', '/v1/score', { user_id: 'u1', candidates: Array.from({ length: 1001 }, (_, i) => `i${i}`) }, 400],
    ['candidate not a string', '/v1/score', { user_id: 'u1', candidates: [1, 2] }, 400],
    ['unknown field', '/v1/score', { user_id: 'u1', candidates: ['i1'], extra: true }, 400],
    ['empty user id', '/v1/score', { user_id: '', candidates: ['i1'] }, 400],
    ['bad history entry', '/v1/score', { user_id: 'u1', candidates: ['i1'], history: [{ item: 'x' }] }, 400],
    ['k = 0', '/v1/recommend', { user_id: 'u1', k: 0 }, 400],
    ['k not an integer', '/v1/recommend', { user_id: 'u1', k: 2.5 }, 400],
    ['unknown exploration', '/v1/recommend', { user_id: 'u1', exploration: { scheme: 'thompson' } }, 400],
    ['epsilon > 1', '/v1/recommend', { user_id: 'u1', exploration: { scheme: 'epsilon-greedy', epsilon: 2 } }, 400],
    ['array body', '/v1/recommend', [1, 2, 3], 400],
    ['features not a list', '/v1/embeddings/features', { features: 'item_id' }, 400],
  ];
  for (const [name, path, body, status] of badRequests) {
    it(`refuses ${name} with ${status} and a message`, async () => {
      const res = await request(app()).post(path).send(body as object).expect(status);
      assert.equal(typeof res.body.error, 'string');
      assertNoStack(res.body);
    });
  }

  it('400 for malformed JSON, 413 for an oversized body, 404 as JSON', async () => {
    const malformed = await request(app()).post('/v1/score').set('content-type', 'application/json').send('{"user_id": "u1", ').expect(400);
    assert.equal(malformed.body.error, 'malformed JSON body');
    assertNoStack(malformed.body);
    const big = await request(app()).post('/v1/score').send({ user_id: 'u1', candidates: ['x'.repeat(70 * 1024)] }).expect(413);
    assert.match(big.body.error, /too large/);
    assertNoStack(big.body);
    const notJson = await request(app()).post('/v1/score').set('content-type', 'text/plain').send('user_id=u1').expect(400);
    assertNoStack(notJson.body);
    await request(app()).get('/v1/nothing-here').expect(404);
  });

  it('a fuzz corpus of bad requests gets only 4xx, never 5xx', async () => {
    const rng = createRng(99);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
    const values: unknown[] = [null, true, 0, -1, 1e308, 'x', '', [], {}, [null], { a: 1 }, 'i1', ['i1', 5], Array(3).fill('i2')];
    const keys = ['user_id', 'candidates', 'k', 'history', 'context', 'exploration', 'exclude', 'num_candidates', 'user_attributes', 'features', 'ids', '__proto__', 'constructor'];
    const paths = ['/v1/score', '/v1/recommend', '/v1/embeddings/features', '/v1/embeddings/items', '/v1/embeddings/users'];
    for (let i = 0; i < 150; i++) {
      const body: Record<string, unknown> = {};
      const n = Math.floor(rng.next() * 4);
      for (let j = 0; j < n; j++) body[pick(keys)] = pick(values);
      const res = await request(app()).post(pick(paths)).send(body);
      assert.ok(res.status < 500 && res.status >= 200, `${res.status} for ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assertNoStack(res.body);
    }
    for (const path of ['/v1/embeddings/features/%E0%A4%A/x', '/v1/embeddings/items/%00', `/v1/embeddings/features/item_id/${'z'.repeat(2000)}`]) {
      const res = await request(app()).get(path);
      assert.ok(res.status < 500, `${res.status} for ${path}`);
    }
  });

  it('admin routes need the bearer token', async () => {
    await request(app()).post('/admin/reload').expect(401);
    await request(app()).post('/admin/reload').set('authorization', 'Bearer wrong').expect(401);
    const ok = await request(app()).post('/admin/reload').set('authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
    assert.equal(ok.body.outcome, 'unchanged');
    const promoted = await request(app()).post('/admin/promote').set('authorization', `Bearer ${ADMIN_TOKEN}`).send({ model: 'syn-din', version: 1 }).expect(200);
    assert.equal(promoted.body.to, 1);
    const ready = await request(app()).get('/readyz').expect(200);
    assert.equal(ready.body.ranker.via, 'serving');
    const unknown = await request(app()).post('/admin/promote').set('authorization', `Bearer ${ADMIN_TOKEN}`).send({ model: 'syn-din', version: 9 }).expect(400);
    assert.match(unknown.body.error, /no version 9/);
  });
});

describe('serving HTTP API without an admin token', function () {
  this.timeout(120_000);
  let env: ServingEnv;
  before(async () => { env = await createServingEnv({ adminToken: '' }); });
  after(async () => { await env?.cleanup(); });

  it('refuses every admin route with 403', async () => {
    await request(env.running.app).post('/admin/reload').set('authorization', 'Bearer anything').expect(403);
  });
});
