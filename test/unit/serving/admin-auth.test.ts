import assert from 'node:assert/strict';
import request from 'supertest';
import { ADMIN_TOKEN, createServingEnv, type ServingEnv } from './serving-env.js';

/** Admin callers are checked before their body is read: a stranger's body is never parsed, whatever it holds or weighs. */
describe('serving admin routes: 401/403 before the body is parsed', function () {
  this.timeout(120_000);
  let env: ServingEnv;
  let disabled: ServingEnv;
  before(async () => {
    env = await createServingEnv();
    disabled = await createServingEnv({ adminToken: '' });
  });
  after(async () => {
    await env?.cleanup();
    await disabled?.cleanup();
  });

  const huge = JSON.stringify({ model: 'syn-din', version: 1, reason: 'x'.repeat(100 * 1024) }); // over the env's 64 KiB body limit
  const broken = '{"model": "syn-din", "version": ';

  it('answers 401 without the token, for a malformed or oversized body as for any other', async () => {
    for (const auth of [undefined, 'Bearer wrong-token-of-thirty-two-characters']) {
      for (const body of [broken, huge]) {
        const req = request(env.running.app).post('/admin/promote').set('content-type', 'application/json');
        const res = await (auth ? req.set('authorization', auth) : req).send(body);
        assert.equal(res.status, 401, `${auth ?? 'no token'}, ${body.length} bytes: ${res.status} ${JSON.stringify(res.body)}`);
        assert.match(res.body.error, /bearer token/);
      }
    }
  });

  it('parses the body of an authenticated caller (400 and 413 come after the token check)', async () => {
    const auth = `Bearer ${ADMIN_TOKEN}`;
    await request(env.running.app).post('/admin/promote').set('authorization', auth).set('content-type', 'application/json').send(broken).expect(400);
    await request(env.running.app).post('/admin/promote').set('authorization', auth).set('content-type', 'application/json').send(huge).expect(413);
  });

  it('answers 403 when admin routes are disabled, whatever the body', async () => {
    for (const body of [broken, huge]) {
      await request(disabled.running.app).post('/admin/promote').set('content-type', 'application/json').send(body).expect(403);
    }
  });
});
