import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkRecommendRequest, checkScoreRequest, parseRecommendRequest, parseScoreRequest } from '../../../serving/request-check.js';
import { RecommendRequestSchema, ScoreRequestSchema } from '../../../serving/request-schemas.js';

/** zod's answer, as the result or the error's message. */
function byZod(schema: typeof ScoreRequestSchema | typeof RecommendRequestSchema, body: unknown): { ok: true; value: unknown } | { ok: false; error: string } {
  const r = schema.safeParse(body);
  return r.success ? { ok: true, value: r.data } : { ok: false, error: r.error.message };
}

/** The fast check either declines or returns exactly zod's result, keys in the same order. */
function assertAgrees(fast: unknown, zod: ReturnType<typeof byZod>, body: unknown): void {
  if (fast === undefined) return;
  const shown = JSON.stringify(body)?.slice(0, 300);
  assert.ok(zod.ok, `accepted what zod refuses (${zod.ok ? '' : zod.error}): ${shown}`);
  assert.deepEqual(fast, zod.value, shown);
  assert.equal(JSON.stringify(fast), JSON.stringify(zod.value), `key order: ${shown}`);
}

/** Mostly `valid`, sometimes one of `invalid`. */
const mostly = <T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<unknown>) => fc.oneof({ weight: 12, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: invalid });

const id = mostly(
  fc.oneof(fc.string({ minLength: 1, maxLength: 6 }), fc.constantFrom('x'.repeat(256), '\u00e9t\u00e9', '\ud83d\ude00')),
  fc.constantFrom('', 'x'.repeat(257), null, 7, true, ['a'], { id: 'u' }),
);
const ids = (min: number, max: number) => mostly(
  fc.array(id, { minLength: min, maxLength: Math.min(max, 6) }),
  fc.constantFrom([], 'v1', null, { 0: 'v1' }, Array.from({ length: max + 1 }, (_, i) => `v${i}`), Array.from({ length: max }, (_, i) => `v${i}`)),
);
const count = mostly(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(0, -1, 1001, 2.5, '10', null, 1e300));
const history = mostly(
  ids(0, 1000),
  fc.oneof(fc.constant([{ item_id: 'v1', ts: 5 }]), fc.constant(['v1', { item_id: 'v2', ts: 1 }]), fc.constant([{ item_id: 'v1' }])),
);
const attributes = fc.constantFrom({ category: 'c1' }, {}, { tags: ['a', 'b'] }, { '': 1 }, []);

/**
 * A body as JSON.parse would give it: the required keys nearly always, the
 * optional ones now and then, keys in any order; rarely a key the schema
 * does not know, a missing required key, or no object at all.
 */
function body(required: Record<string, fc.Arbitrary<unknown>>, optional: Record<string, fc.Arbitrary<unknown>>, unknown: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const entries = fc.tuple(
    fc.record(required),
    fc.record(optional, { requiredKeys: [] }),
    fc.oneof({ weight: 8, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.record(unknown, { requiredKeys: [] }) }),
    fc.oneof({ weight: 10, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...Object.keys(required)) }),
  ).map(([r, o, u, drop]) => Object.entries({ ...r, ...o, ...u }).filter(([k]) => k !== drop));
  const shuffled = entries.chain((list) => fc.shuffledSubarray(list, { minLength: list.length }).map((order) => Object.fromEntries(order)));
  return fc.oneof(
    { weight: 30, arbitrary: shuffled },
    { weight: 1, arbitrary: fc.constantFrom(null, [], 'body', 12, JSON.parse('{"__proto__": {"user_id": "u1"}, "user_id": "u1", "candidates": ["v1"]}') as unknown) },
  );
}

describe('serving request checks (the fast path beside zod)', () => {
  /** Over random bodies: never a different answer from zod's, and the fast path answers a good share of the valid ones. */
  function agreesWithZod(schema: typeof ScoreRequestSchema | typeof RecommendRequestSchema, check: (b: unknown) => unknown, bodies: fc.Arbitrary<unknown>, minValid: number): void {
    let answered = 0;
    let valid = 0;
    fc.assert(fc.property(bodies, (b) => {
      const zod = byZod(schema, b);
      const fast = check(b);
      assertAgrees(fast, zod, b);
      if (zod.ok) valid++;
      if (fast !== undefined) answered++;
    }), { numRuns: 3000, seed: 23 });
    assert.ok(valid > minValid, `only ${valid} valid bodies generated`);
    assert.ok(answered > valid / 3, `the fast path answered ${answered} of ${valid} valid bodies`);
  }

  it('agree with ScoreRequestSchema on random bodies, and answer most valid ones themselves', () => {
    agreesWithZod(ScoreRequestSchema, checkScoreRequest, body({ user_id: id, candidates: ids(1, 1000) }, { history }, { context: attributes, user_attributes: attributes, k: count }), 300);
  });

  it('agree with RecommendRequestSchema on random bodies, the default k included', () => {
    agreesWithZod(RecommendRequestSchema, checkRecommendRequest, body({ user_id: id }, { k: count, num_candidates: count, history, exclude: ids(0, 1000), candidates: ids(1, 1000) }, { context: attributes, exploration: fc.constantFrom({ policy: 'greedy' }, 'none'), extra: fc.constant(1) }), 100);
  });

  it('answer the common shapes themselves: ids, candidates, a history of ids, k', () => {
    const candidates = Array.from({ length: 100 }, (_, i) => `v${i}`);
    assert.deepEqual(checkScoreRequest({ user_id: 'u1', candidates }), { user_id: 'u1', candidates });
    assert.deepEqual(checkScoreRequest({ candidates, history: ['v9', 'v8'], user_id: 'u1' }), { user_id: 'u1', candidates, history: ['v9', 'v8'] });
    assert.deepEqual(checkRecommendRequest({ user_id: 'u1' }), { user_id: 'u1', k: 10 });
    assert.deepEqual(checkRecommendRequest({ num_candidates: 200, k: 50, user_id: 'u1' }), { user_id: 'u1', k: 50, num_candidates: 200 });
  });

  it('leave to zod what JSON never gives: keys set to undefined, objects that are not plain', () => {
    const candidates = ['v1'];
    assert.equal(checkScoreRequest({ user_id: 'u1', candidates, history: undefined }), undefined);
    assert.equal(checkRecommendRequest({ user_id: 'u1', num_candidates: undefined }), undefined);
    assert.equal(checkRecommendRequest({ user_id: 'u1', exclude: undefined }), undefined);
    assert.deepEqual(parseScoreRequest({ user_id: 'u1', candidates, history: undefined }), ScoreRequestSchema.parse({ user_id: 'u1', candidates, history: undefined }));
    const date = Object.assign(new Date(0), { user_id: 'u1', candidates });
    assert.equal(checkScoreRequest(date), undefined);
    assert.throws(() => parseScoreRequest(date));
  });

  it('leave refusals to zod, so the messages are zod\'s', () => {
    for (const [parse, schema, b] of [
      [parseScoreRequest, ScoreRequestSchema, { user_id: 'u1', candidates: [] }],
      [parseScoreRequest, ScoreRequestSchema, { user_id: 'u1', candidates: ['v1'], extra: true }],
      [parseScoreRequest, ScoreRequestSchema, { user_id: '', candidates: ['v1'] }],
      [parseRecommendRequest, RecommendRequestSchema, { user_id: 'u1', k: 0 }],
      [parseRecommendRequest, RecommendRequestSchema, { user_id: 'u1', k: 5, exclude: ['x'.repeat(257)] }],
    ] as const) {
      const expected = byZod(schema, b);
      assert.equal(expected.ok, false);
      assert.throws(() => parse(b), (error: Error) => error.message === (expected as { error: string }).error);
    }
  });
});
