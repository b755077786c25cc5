import assert from 'node:assert/strict';
import request from 'supertest';
import { ValidationError } from '../../../infra/errors.js';
import { MAX_DECISION_BYTES, parseDecision } from '../../../pipelines/decisions/decision-record.js';
import { loadServeSettings } from '../../../serving/serve-config.js';
import { createServingEnv, type ServingEnv } from './serving-env.js';

/**
 * What /v1/recommend serves is always a decision ingestion accepts: the
 * exploration parameters are bounded where they come in (request, settings),
 * and a record that would not pass is refused before anything is shown.
 */
describe('serving: every served decision is a valid decision record', function () {
  this.timeout(120_000);
  let env: ServingEnv;
  const app = () => env.running.app;

  before(async () => { env = await createServingEnv({ maxBodyBytes: 4 * 1024 * 1024 }); });
  after(async () => { await env?.cleanup(); });

  it('a request with a temperature or ε out of bounds gets 400 naming the bound, and nothing is logged', async () => {
    const before = env.decisions.records.length;
    for (const [exploration, message] of [
      [{ scheme: 'softmax', temperature: 1e-9 }, /exploration\.temperature: the temperature must be in \[1e-6, 1e6\]/],
      [{ scheme: 'softmax', temperature: 1e9 }, /exploration\.temperature: the temperature must be in \[1e-6, 1e6\]/],
      [{ scheme: 'epsilon-greedy', epsilon: 1e-12 }, /exploration\.epsilon: ε must be 0 or at least 1e-6/],
    ] as const) {
      const res = await request(app()).post('/v1/recommend').send({ user_id: 'u1', k: 3, exploration }).expect(400);
      assert.match(res.body.details.join('; '), message, JSON.stringify(res.body));
    }
    assert.equal(env.decisions.records.length, before);
  });

  it('the server default exploration is bounded the same way (RECSYS_TEMPERATURE, RECSYS_EPSILON)', () => {
    for (const [envVars, field] of [[{ RECSYS_TEMPERATURE: '1e9' }, 'temperature'], [{ RECSYS_TEMPERATURE: '1e-9' }, 'temperature'], [{ RECSYS_EPSILON: '1e-12' }, 'epsilon']] as const) {
      assert.throws(() => loadServeSettings(envVars), (error: unknown) => error instanceof ValidationError && error.message.includes(field), JSON.stringify(envVars));
    }
    assert.equal(loadServeSettings({ RECSYS_TEMPERATURE: '1e6' }).temperature, 1e6);
  });

  it('a request whose decision record would exceed the record limit gets 400 before anything is shown or logged', async () => {
    const before = env.decisions.records.length;
    // 1,000 candidate ids of 256 control characters: ~1.5 KB each in JSON, twice over (candidates and shown).
    const candidates = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(4, '0')}${'\u0001'.repeat(252)}`);
    const res = await request(app()).post('/v1/recommend').send({ user_id: 'u1', k: 1000, candidates }).expect(400);
    assert.match(res.body.error, new RegExp(`the decision record would be \\d+ bytes, over the ${MAX_DECISION_BYTES}-byte limit`));
    assert.equal(env.decisions.records.length, before, 'no record written');
    // The same request at a size the record holds is served, and its record parses.
    const ok = await request(app()).post('/v1/recommend').send({ user_id: 'u1', k: 100, candidates: candidates.slice(0, 100) }).expect(200);
    const record = env.decisions.records.at(-1)!;
    assert.equal(record.request_id, ok.body.request_id);
    const parsed = parseDecision(JSON.stringify(record));
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  });
});
