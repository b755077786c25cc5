import assert from 'node:assert/strict';
import { parseEvent } from '../../../features/events/parse-event.js';

const click = { event_id: 'e1', type: 'click', ts: 1_700_000_000_000, user_id: 'u1', item_id: 'i1', label: 1, request_id: 'r1' };

describe('event schema', () => {
  it('accepts each event type and fills the schema version', () => {
    const ok = [
      click,
      { event_id: 'e2', type: 'impression', ts: 1_700_000_000_000, user_id: 'u', item_id: 'i', context: { device: 'ios', position: 3 } },
      { event_id: 'e3', type: 'rating', ts: 1_700_000_000_000, user_id: 'u', item_id: 'i', value: 4.5 },
      { event_id: 'e4', type: 'item_update', ts: 1_700_000_000_000, item_id: 'i', attributes: { category: 'c', genres: ['a', 'b'], price: 9.5 } },
      { event_id: 'e5', type: 'user_update', ts: 1_700_000_000_000, user_id: 'u', attributes: { age: 30 } },
    ];
    for (const raw of ok) {
      const result = parseEvent(JSON.stringify(raw));
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.event.schema_version, 1);
      assert.equal(result.event.event_id, raw.event_id);
    }
  });

  const bad: [string, string | Uint8Array, RegExp][] = [
    ['malformed JSON', '{"event_id": ', /malformed JSON/],
    ['not an object', '[1,2]', /not a JSON object/],
    ['unknown type', JSON.stringify({ ...click, type: 'purchase' }), /unknown event type "purchase"/],
    ['missing type', JSON.stringify({ event_id: 'x' }), /unknown event type undefined/],
    ['missing user', JSON.stringify({ ...click, user_id: undefined }), /user_id: Required/],
    ['empty id', JSON.stringify({ ...click, event_id: '' }), /event_id: must not be empty/],
    ['ts in seconds', JSON.stringify({ ...click, ts: 1_700_000_000 }), /ts: epoch milliseconds, not seconds/],
    ['ts not a number', JSON.stringify({ ...click, ts: '2024-01-01' }), /ts: Expected number/],
    ['label 2', JSON.stringify({ ...click, label: 2 }), /label/],
    ['unknown field', JSON.stringify({ ...click, extra: 1 }), /Unrecognized key/],
    ['future schema', JSON.stringify({ ...click, schema_version: 2 }), /schema_version/],
    ['update without attributes', JSON.stringify({ event_id: 'x', type: 'item_update', ts: 1_700_000_000_000, item_id: 'i' }), /attributes: Required/],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), /UTF-8/],
    ['oversized', JSON.stringify({ ...click, context: { blob: 'x'.repeat(70_000) } }), /oversized/],
  ];
  for (const [what, raw, reason] of bad) {
    it(`rejects ${what} with a reason`, () => {
      const result = parseEvent(raw);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.reason, reason);
    });
  }
});
