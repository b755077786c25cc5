import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecisionRecordSchema, type DecisionRecord } from '../../../../pipelines/decisions/decision-record.js';
import { encodeDecision, isValidDecision } from '../../../../pipelines/decisions/encode-decision.js';
import { formatIssues } from '../../../../infra/config.js';
import { BAD_DECISIONS, sampleDecision } from './decision-fixtures.js';

/** Every (container, key) of a JSON-like value, the root's own keys included. */
function slots(value: unknown, out: [Record<string, unknown> | unknown[], string | number][] = []): typeof out {
  if (Array.isArray(value)) value.forEach((v, i) => { out.push([value, i]); slots(v, out); });
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) { out.push([value as Record<string, unknown>, k]); slots(v, out); }
  return out;
}

const ODD = [undefined, null, '', 'x'.repeat(257), 'i9', 'i4', -1, 0, -0, 0.5, 1, 1.5, 2, 1e-7, 1e7, NaN, Infinity, 1e12, 1e13 + 1, true, [], {}, ['a'], { scheme: 'none' }, 'a b'];

const candidateIds = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 5 }), { minLength: 0, maxLength: 12 });

/** A valid record: unique candidates, a prefix-free pick of them shown at 0, 1, 2…, any of the optional parts. */
const validRecord: fc.Arbitrary<DecisionRecord> = candidateIds.chain((ids) => fc.record({
  scores: fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: ids.length, maxLength: ids.length }),
  retrieval: fc.array(fc.option(fc.double({ noNaN: true, noDefaultInfinity: true, min: -10, max: 10 })), { minLength: ids.length, maxLength: ids.length }),
  shownIdx: fc.shuffledSubarray(ids.map((_, i) => i)),
  extraK: fc.integer({ min: 0, max: 3 }),
  exploration: fc.constantFrom<DecisionRecord['exploration']>({ scheme: 'none' }, { scheme: 'epsilon-greedy', epsilon: 0 }, { scheme: 'epsilon-greedy', epsilon: 0.1 }, { scheme: 'softmax', temperature: 0.5 }),
  retrievalModel: fc.option(fc.constant({ name: 'lightgcn', version: 2 })),
  client: fc.option(fc.constantFrom('abc-1', 'x:y.z')),
  context: fc.option(fc.constantFrom({ device: 'mobile' }, {}, { n: 3, ok: true, tags: ['a'] })),
  features: fc.option(fc.record({ history: fc.array(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 5 }), user: fc.constantFrom({}, { age: 30 }) })),
  version: fc.constantFrom(1, undefined),
}).map((r): DecisionRecord => ({
  ...(r.version ? { schema_version: 1 } : {}),
  request_id: 'req-1',
  ...(r.client ? { client_request_id: r.client } : {}),
  user_id: 'u1',
  ts: 1_704_067_200_000,
  models: { ranker: { name: 'din', version: 3 }, retrieval: r.retrievalModel },
  exploration: r.exploration,
  k: Math.max(1, r.shownIdx.length + r.extraK),
  candidates: ids.map((item_id, i) => ({ item_id, score: r.scores[i]!, retrieval_score: r.retrieval[i]! })),
  shown: r.shownIdx.map((i, position) => ({ item_id: ids[i]!, position, score: r.scores[i]!, propensity: 0.5 })),
  ...(r.context ? { context: r.context } : {}),
  // Rebuilt: fast-check's records may have no prototype, which the check leaves to zod.
  ...(r.features ? { features: { history: r.features.history, user: r.features.user } } : {}),
}) as DecisionRecord));

describe('the decision check before a record is written (beside zod)', () => {
  it('accepts the valid records zod accepts', () => {
    fc.assert(fc.property(validRecord, (record) => {
      assert.ok(DecisionRecordSchema.safeParse(record).success, 'the generator makes valid records');
      assert.ok(isValidDecision(record), JSON.stringify(record));
    }), { numRuns: 500, seed: 6 });
  });

  it('never accepts a record zod refuses: one slot replaced, removed or joined by an unknown key', () => {
    let refused = 0;
    fc.assert(fc.property(validRecord, fc.nat(), fc.nat(ODD.length + 1), (record, at, pick) => {
      const copy = structuredClone(record) as unknown as Record<string, unknown>;
      const all = slots(copy);
      const [container, key] = all[at % all.length]!;
      if (pick === ODD.length) delete (container as Record<string, unknown>)[key];
      else if (pick === ODD.length + 1) (container as Record<string, unknown>)[`${String(key)}_extra`] = 1;
      else (container as Record<string | number, unknown>)[key] = ODD[pick];
      const zodOk = DecisionRecordSchema.safeParse(copy).success;
      if (!zodOk) refused++;
      if (isValidDecision(copy)) assert.ok(zodOk, `accepted what zod refuses: ${JSON.stringify(copy, (_k, v: unknown) => (v === undefined ? '<undefined>' : v))}`);
    }), { numRuns: 4000, seed: 6 });
    assert.ok(refused > 1000, `only ${refused} refused records generated`);
  });

  it('refuses what the random slots rarely make: a shown item twice, attribute bounds, more than 1,000 items', () => {
    const base = sampleDecision();
    const many = Array.from({ length: 1001 }, (_, i) => ({ item_id: `i${i}`, score: 0.5, retrieval_score: null }));
    const refused: [string, unknown][] = [
      ['a shown item twice', { ...base, k: 3, shown: [...base.shown, { ...base.shown[0]!, position: 2 }] }],
      ['an empty context key', { ...base, context: { '': 'x' } }],
      ['a 129-character context key', { ...base, context: { ['k'.repeat(129)]: 'x' } }],
      ['a 1,025-character context value', { ...base, context: { device: 'x'.repeat(1025) } }],
      ['a 257-character string in a context list', { ...base, context: { tags: ['x'.repeat(257)] } }],
      ['257 strings in a context list', { ...base, context: { tags: Array.from({ length: 257 }, () => 'a') } }],
      ['a user attribute out of bounds', { ...base, features: { history: [], user: { name: 'x'.repeat(1025) } } }],
      ['1,001 candidates', { ...base, candidates: many, shown: [] }],
      ['1,001 shown', { ...base, k: 1000, candidates: many.slice(0, 1000), shown: Array.from({ length: 1001 }, (_, position) => ({ item_id: 'i0', position, score: 0.5, propensity: 1 })) }],
      ['1,001 history items', { ...base, features: { history: Array.from({ length: 1001 }, (_, i) => `i${i}`), user: {} } }],
    ];
    for (const [name, record] of refused) {
      assert.equal(DecisionRecordSchema.safeParse(record).success, false, `zod refuses ${name}`);
      assert.equal(isValidDecision(record), false, name);
    }
  });

  it('leaves refusals to zod: encodeDecision gives zod\'s reason', () => {
    for (const bad of BAD_DECISIONS) {
      let value: unknown;
      try {
        value = JSON.parse(bad.value.toString());
      } catch {
        continue;
      }
      assert.equal(isValidDecision(value), false, bad.name);
      const zod = DecisionRecordSchema.safeParse(value);
      const encoded = encodeDecision(value as DecisionRecord);
      assert.ok(!zod.success && !encoded.ok, bad.name);
      assert.equal(encoded.reason, `invalid decision record: ${formatIssues(zod.error).join('; ')}`, bad.name);
    }
    const ok = encodeDecision(sampleDecision());
    assert.ok(ok.ok && JSON.parse(ok.json).request_id === 'req-1');
  });
});
