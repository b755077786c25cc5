import assert from 'node:assert/strict';
import type { Event } from '../../../../features/events/event-schema.js';
import { MemoryOnlineStore } from '../../../../pipelines/online-store/memory-online-store.js';
import { opsOf, splitOps, type OnlineStoreSpec } from '../../../../pipelines/online-store/online-ops.js';
import { bucketOfId } from '../../../../pipelines/online-store/redis-keys.js';

const spec: OnlineStoreSpec = { label: { from: 'label' }, behaviour: { types: ['click'], positiveOnly: false, maxLength: 5 } };
const events: Event[] = [
  ...Array.from({ length: 40 }, (_, i): Event => ({ schema_version: 1, type: 'click', event_id: `e${i}`, ts: 1000 + i, user_id: `u${i % 7}`, item_id: `i${i % 11}`, label: (i % 2) as 0 | 1 })),
  { schema_version: 1, type: 'item_update', event_id: 'x1', ts: 5, item_id: 'i3', attributes: { c: 'a' } },
  { schema_version: 1, type: 'user_update', event_id: 'x2', ts: 6, user_id: 'u2', attributes: { g: 1 } },
];

describe('splitOps', () => {
  it('puts each entity\'s share in its bucket, and the parts applied together equal the whole', async () => {
    const buckets = 4;
    const parts = splitOps(opsOf(spec, events), buckets, (id) => bucketOfId(id, buckets));
    assert.equal(parts.length, buckets);
    parts.forEach((part, b) => {
      for (const ref of [...part.counters.keys(), ...part.lastTs.keys()]) assert.equal(bucketOfId(ref.split('\u0000')[1]!, buckets), b, ref);
      for (const user of part.sequences.keys()) assert.equal(bucketOfId(user, buckets), b, user);
      for (const u of part.attributes) assert.equal(bucketOfId(u.id, buckets), b, u.id);
    });
    const whole = new MemoryOnlineStore(spec);
    whole.applyEvents(events);
    const split = new MemoryOnlineStore(spec);
    for (const part of parts) split.apply(part);
    for (let u = 0; u < 7; u++) assert.deepEqual(await split.user(`u${u}`), await whole.user(`u${u}`));
    const items = Array.from({ length: 11 }, (_, i) => `i${i}`);
    assert.deepEqual(await split.items(items), await whole.items(items));
  });
});
