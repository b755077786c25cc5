import assert from 'node:assert/strict';
import fc from 'fast-check';
import { syntheticEvents } from '../../../../features/datasets/synthetic.js';
import { MAX_EVENT_TS } from '../../../../features/events/event-schema.js';
import { parseEvent, parseEventBySchema, type ParseResult } from '../../../../features/events/parse-event.js';
import { BAD_INPUTS } from './bad-inputs.js';

/** The same answer: both valid with the same event (keys in the same order), or both refused with the same reason. */
function assertSame(raw: Buffer | string, fast: ParseResult, bySchema: ParseResult): void {
  const shown = typeof raw === 'string' ? raw.slice(0, 300) : raw.subarray(0, 300).toString();
  assert.deepEqual(fast, bySchema, shown);
  if (fast.ok && bySchema.ok) assert.equal(JSON.stringify(fast.event), JSON.stringify(bySchema.event), `key order: ${shown}`);
}

let accepted = 0;
const check = (raw: Buffer | string, maxBytes?: number) => {
  const bySchema = parseEventBySchema(raw, maxBytes);
  if (bySchema.ok) accepted++;
  assertSame(raw, parseEvent(raw, maxBytes), bySchema);
};

// JSON text of an object from its entries, so keys can repeat and `__proto__` can be a key.
const objectText = (entries: readonly (readonly [string, string])[]) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
const text = (value: unknown) => fc.constant(JSON.stringify(value));
const oneOf = (...values: unknown[]) => fc.constantFrom(...values.map((v) => JSON.stringify(v)));

/** Mostly `valid`, sometimes one of `invalid`. */
const mostly = (valid: fc.Arbitrary<string>, invalid: fc.Arbitrary<string>) => fc.oneof({ weight: 30, arbitrary: valid }, { weight: 1, arbitrary: invalid });

const id = mostly(
  fc.oneof(fc.string({ minLength: 1, maxLength: 4 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 8 })).map((s) => JSON.stringify(s)),
  fc.oneof(fc.integer({ min: 250, max: 260 }).map((n) => JSON.stringify('x'.repeat(n))), oneOf('', null, 12, true, ['a'], { id: 'u' })),
);
const ts = mostly(
  fc.integer({ min: 1e12, max: 1.9e12 }).map(String),
  fc.oneof(
    oneOf(1e12 - 1, 1e12, MAX_EVENT_TS, MAX_EVENT_TS + 1, 1_704_067_200, -1, 1.5e12 + 0.5, '1704067200000', null),
    fc.constantFrom('1e999', '-0', '1704067200000.0', '1.7040672e12', '9007199254740993'),
  ),
);
const attributeName = mostly(
  fc.string({ minLength: 1, maxLength: 6 }).map((s) => (s.startsWith('_') ? `a${s}` : s)),
  fc.constantFrom('', '_ts', '_x', '__proto__', 'constructor', '\uff3f\uff54\uff53', '\ufb01eld', 'caf\u00e9', 'cafe\u0301', '1', '0', 'n'.repeat(128), 'n'.repeat(129)),
);
const attributeValue = mostly(
  fc.oneof(
    fc.string({ maxLength: 5 }).map((s) => JSON.stringify(s)),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)),
    fc.boolean().map(String),
    fc.array(fc.string({ maxLength: 3 }), { maxLength: 4 }).map((a) => JSON.stringify(a)),
  ),
  fc.oneof(
    fc.integer({ min: 1020, max: 1030 }).map((n) => JSON.stringify('t'.repeat(n))),
    fc.constantFrom('1e999', JSON.stringify(Array.from({ length: 257 }, (_, i) => `t${i}`)), JSON.stringify(['x'.repeat(257)]), '[1,2]', 'null', '{"w":1}', '[]', '{}'),
  ),
);
const attributes = mostly(
  fc.array(fc.tuple(attributeName, attributeValue), { maxLength: 4 }).map(objectText),
  fc.constantFrom('[]', 'null', '"x"', '1', objectText(Array.from({ length: 257 }, (_, i) => [`a${i}`, String(i)]))),
);
/** `arbitrary` with probability `p`, else absent. */
const present = <T>(arbitrary: fc.Arbitrary<T>, p: number) => fc.oneof({ weight: Math.round(p * 100), arbitrary }, { weight: Math.round((1 - p) * 100), arbitrary: fc.constant(undefined) });

/** Field → JSON text of a value, for the fields of `type` (valid more often than not) and now and then another. */
const fields = fc.oneof(
  oneOf('impression', 'click', 'rating'),
  oneOf('item_update', 'user_update'),
  mostly(oneOf('click'), oneOf('purchase', null, 1, '\u0441lick')),
).chain((type) => {
  const update = type.endsWith('_update"');
  return fc.record({
    schema_version: present(mostly(oneOf(1), oneOf(2, '1', 0, 1.0)), 0.5),
    event_id: mostly(id, fc.constant('null')),
    ts,
    type: fc.constant(type),
    user_id: present(id, type === '"item_update"' ? 0.05 : 0.97),
    item_id: present(id, type === '"user_update"' ? 0.05 : 0.97),
    label: present(mostly(oneOf(0, 1), oneOf(2, true, '1', null, 0.5, -0)), update ? 0.05 : 0.5),
    value: present(mostly(fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)), fc.constantFrom('-1e999', '"high"', 'null')), update ? 0.05 : 0.3),
    request_id: present(id, update ? 0.05 : 0.3),
    context: present(attributes, update ? 0.05 : 0.5),
    attributes: present(attributes, update ? 0.97 : 0.05),
    extra: present(fc.tuple(fc.constantFrom('price', '__proto__', 'us\u0435r_id', 'Type'), text(1)), 0.05),
  }, { requiredKeys: [] });
});

const eventText = fc.tuple(fields, fc.nat(), fc.nat(9), fc.constantFrom('', '', '', ' ', '\n', '\ufeff')).map(([f, seed, duplicate, pad]) => {
  const entries: [string, string][] = [];
  for (const [k, v] of Object.entries(f)) {
    if (v === undefined || k === 'extra') continue;
    entries.push([k, v as string]);
  }
  if (f.extra) entries.push(f.extra);
  // Some entries moved, one in ten times one repeated (with the same value).
  if (entries.length > 1) entries.push(...entries.splice(seed % entries.length, 1));
  if (duplicate === 0 && entries.length > 0) entries.splice(seed % (entries.length + 1), 0, entries[(seed >> 3) % entries.length]!);
  return `${pad}${objectText(entries)}`;
});

describe('parseEvent: the fast path gives the schema path\'s answer', function () {
  this.timeout(120_000);

  it('on 5,000 generated messages near the schema (bytes and text), a fair share of them valid', () => {
    accepted = 0;
    fc.assert(fc.property(eventText, (t) => {
      check(t);
      check(Buffer.from(t));
    }), { numRuns: 5000 });
    // Both answers are exercised: not only refusals.
    assert.ok(accepted >= 1000 && accepted <= 9000, `valid: ${accepted} of 10000`);
  });

  it(`on each of ${BAD_INPUTS.length} bad inputs and their text with escapes`, () => {
    for (const bad of BAD_INPUTS) {
      if (bad.value === null) continue;
      check(bad.value);
      check(bad.value.toString('utf8'));
    }
    // The same events written with escapes or non-ASCII text take the schema path and still agree.
    check('{"type":"click","event_id":"e\\u0031","ts":1704067200000,"user_id":"u","item_id":"i"}');
    check(Buffer.from('{"type":"click","event_id":"\u00e9","ts":1704067200000,"user_id":"u\u4e2d","item_id":"i"}'));
  });

  it('on `__proto__` keys (zod drops one from a record, refuses one in an event)', () => {
    check('{"type":"item_update","event_id":"e","ts":1704067200000,"item_id":"i","attributes":{"__proto__":"x","a":1}}');
    check('{"type":"click","event_id":"e","ts":1704067200000,"user_id":"u","item_id":"i","context":{"__proto__":1}}');
    check('{"type":"click","event_id":"e","ts":1704067200000,"user_id":"u","item_id":"i","__proto__":{"a":1}}');
  });

  it('at the size limit, on either side', () => {
    const base = JSON.stringify({ type: 'click', event_id: 'e', ts: 1_704_067_200_000, user_id: 'u', item_id: 'i' });
    for (const maxBytes of [base.length - 1, base.length, base.length + 1]) {
      check(base, maxBytes);
      check(Buffer.from(base), maxBytes);
    }
    const wide = base.replace('"u"', '"\u00e9\u00e9"');
    for (const maxBytes of [wide.length, Buffer.byteLength(wide)]) check(wide, maxBytes);
  });

  it('on the synthetic stream the benchmark ingests, every event valid and unchanged', () => {
    for (const event of syntheticEvents({ events: 2000, users: 100, items: 50, seed: 3 })) {
      const raw = Buffer.from(JSON.stringify(event));
      const fast = parseEvent(raw);
      assertSame(raw, fast, parseEventBySchema(raw));
      assert.ok(fast.ok);
      assert.deepEqual(fast.event, event);
    }
  });
});
