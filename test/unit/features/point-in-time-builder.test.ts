import assert from 'node:assert/strict';
import type { Event } from '../../../features/events/event-schema.js';
import { PointInTimeSampleBuilder } from '../../../features/samples/point-in-time-builder.js';
import { parseFeatureSpec } from '../../../features/spec/feature-spec.js';
import type { Example } from '../../../features/samples/example.js';

const spec = parseFeatureSpec({
  name: 't', version: 1, label: { from: 'label' }, exampleTypes: ['impression'],
  behaviour: { types: ['impression', 'click'], positiveOnly: true, maxLength: 3 },
  fields: [{ kind: 'categorical', name: 'item_id', source: 'item_id' }],
});

const T = 1_700_000_000_000;
let n = 0;
const imp = (user: string, item: string, ts: number, label: 0 | 1): Event => ({ schema_version: 1, type: 'impression', event_id: `e${n++}`, ts: T + ts, user_id: user, item_id: item, label });

function run(events: Event[], options = {}): Example[] {
  const builder = new PointInTimeSampleBuilder(spec, options);
  const out = events.flatMap((e) => builder.push(e));
  return [...out, ...builder.flush()];
}
const historyOf = (examples: Example[], item: string) => examples.find((e) => e.event.item_id === item)!.history.map((h) => h.item_id);

describe('point-in-time sample builder', () => {
  it('uses only strictly earlier positive events, most recent first, capped', () => {
    const examples = run([imp('u', 'a', 1, 1), imp('u', 'b', 2, 0), imp('u', 'c', 3, 1), imp('u', 'd', 4, 1), imp('u', 'e', 5, 1), imp('u', 'f', 6, 0)]);
    assert.deepEqual(historyOf(examples, 'a'), []);
    assert.deepEqual(historyOf(examples, 'c'), ['a']);
    assert.deepEqual(historyOf(examples, 'f'), ['e', 'd', 'c']);
    assert.equal(examples.length, 6);
  });

  it('never puts an event into its own history or into that of events at the same time', () => {
    const examples = run([imp('u', 'a', 1, 1), imp('u', 'b', 2, 1), imp('u', 'c', 2, 1), imp('u', 'd', 3, 0)]);
    assert.deepEqual(historyOf(examples, 'b'), ['a']);
    assert.deepEqual(historyOf(examples, 'c'), ['a']);
    assert.deepEqual(historyOf(examples, 'd').sort(), ['a', 'b', 'c']);
  });

  it("orders ties by item id under the MovieLens protocol's order", () => {
    const examples = run([imp('u', '10', 2, 1), imp('u', '9', 2, 1), imp('u', '11', 2, 1)], { order: 'time-then-item' });
    assert.deepEqual(historyOf(examples, '9'), []);
    assert.deepEqual(historyOf(examples, '10'), ['9']);
    assert.deepEqual(historyOf(examples, '11'), ['10', '9']);
  });

  it('keeps users apart', () => {
    const examples = run([imp('u', 'a', 1, 1), imp('v', 'b', 2, 1), imp('u', 'c', 3, 0)]);
    assert.deepEqual(historyOf(examples, 'b'), []);
    assert.deepEqual(historyOf(examples, 'c'), ['a']);
  });

  it('puts out-of-order arrivals in place within the allowed lateness', () => {
    // c (t=3) arrives before b (t=2): b must still be in c's history, and c not in b's.
    const examples = run([imp('u', 'a', 1, 1), imp('u', 'c', 3, 1), imp('u', 'b', 2, 1), imp('u', 'z', 100, 0)], { allowedLatenessMs: 10 });
    assert.deepEqual(historyOf(examples, 'b'), ['a']);
    assert.deepEqual(historyOf(examples, 'c'), ['b', 'a']);
  });

  it('gives a too-late event a correct history and counts it as late', () => {
    const builder = new PointInTimeSampleBuilder(spec, { allowedLatenessMs: 0 });
    const events = [imp('u', 'a', 1, 1), imp('u', 'c', 5, 1), imp('u', 'd', 9, 0), imp('u', 'b', 3, 1)];
    const examples = [...events.flatMap((e) => builder.push(e)), ...builder.flush()];
    assert.equal(builder.stats.late, 1);
    assert.deepEqual(historyOf(examples, 'b'), ['a']);
    assert.ok(examples.every((e) => e.history.every((h) => h.ts < e.event.ts)));
  });

  it('applies attribute updates as of the event time', () => {
    const update = (ts: number, category: string): Event => ({ schema_version: 1, type: 'item_update', event_id: `u${n++}`, ts: T + ts, item_id: 'a', attributes: { category } });
    const examples = run([update(0, 'old'), imp('u', 'a', 1, 0), update(2, 'new'), { ...imp('u', 'a', 3, 0), event_id: 'later' }]);
    assert.deepEqual(examples.map((e) => e.item.category), ['old', 'new']);
  });

  it('has no leakage on a random stream (property)', () => {
    const events: Event[] = [];
    for (let i = 0; i < 500; i++) events.push(imp(`u${i % 7}`, `i${(i * 31) % 50}`, Math.floor(i / 3) + ((i * 17) % 5), (i % 3 === 0 ? 1 : 0)));
    const examples = run(events, { allowedLatenessMs: 5 });
    assert.equal(examples.length, 500);
    for (const e of examples) {
      for (const h of e.history) assert.ok(h.ts < e.event.ts, `history at ${h.ts} not before ${e.event.ts}`);
      assert.ok(e.history.length <= 3);
    }
  });
});
