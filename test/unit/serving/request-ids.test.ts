import assert from 'node:assert/strict';
import request from 'supertest';
import { parseDecision } from '../../../pipelines/decisions/decision-record.js';
import { decisionRow } from '../../../pipelines/decisions/decision-rows.js';
import { sampleDecision } from '../pipelines/decisions/decision-fixtures.js';
import { createServingEnv, type ServingEnv } from './serving-env.js';

/**
 * The server names every request; a caller's x-request-id is only a trace
 * field, so a header sent twice (a retry, a copied curl, a buggy client) never
 * makes two recommendations share a decision key.
 */
describe('serving: request ids', function () {
  this.timeout(120_000);
  let env: ServingEnv;
  const app = () => env.running.app;

  before(async () => { env = await createServingEnv(); });
  after(async () => { await env?.cleanup(); });

  it('the same x-request-id sent twice gives two decisions with different server keys, both carrying the caller\'s id as client_request_id', async () => {
    const before = env.decisions.records.length;
    const responses = [];
    for (let i = 0; i < 2; i++) {
      const res = await request(app()).post('/v1/recommend').set('x-request-id', 'client-trace-42').send({ user_id: 'u3', k: 3 }).expect(200);
      assert.equal(res.headers['x-request-id'], res.body.request_id, 'the response header is the server\'s id');
      responses.push(res.body.request_id as string);
    }
    assert.notEqual(responses[0], responses[1]);
    assert.ok(responses.every((id) => id !== 'client-trace-42'));
    const records = env.decisions.records.slice(before);
    assert.deepEqual(records.map((r) => r.request_id), responses);
    assert.deepEqual(records.map((r) => r.client_request_id), ['client-trace-42', 'client-trace-42']);
    for (const r of records) {
      const parsed = parseDecision(JSON.stringify(r));
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
      assert.equal(decisionRow(parsed.record).client_request_id, 'client-trace-42');
    }
  });

  it('without a header, or with one that is not a plain id, the record has no client_request_id; a request is never refused for it', async () => {
    const before = env.decisions.records.length;
    await request(app()).post('/v1/recommend').send({ user_id: 'u3', k: 2 }).expect(200);
    await request(app()).post('/v1/recommend').set('x-request-id', 'has spaces and {braces}').send({ user_id: 'u3', k: 2 }).expect(200);
    const records = env.decisions.records.slice(before);
    assert.equal(records.length, 2);
    assert.ok(records.every((r) => r.client_request_id === undefined));
    assert.equal(decisionRow(records[0]!).client_request_id, '');
  });

  it('error bodies carry the server\'s id, not the caller\'s', async () => {
    const res = await request(app()).post('/v1/recommend').set('x-request-id', 'client-trace-43').send({ user_id: '' }).expect(400);
    assert.notEqual(res.body.request_id, 'client-trace-43');
    assert.equal(res.headers['x-request-id'], res.body.request_id);
  });

  it('the decision schema refuses a client_request_id that is not a plain id', () => {
    const parsed = parseDecision(JSON.stringify(sampleDecision({ client_request_id: 'a b' })));
    assert.equal(parsed.ok, false);
    if (!parsed.ok) assert.match(parsed.reason, /client_request_id: letters, digits/);
  });
});
