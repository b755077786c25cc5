import assert from 'node:assert/strict';
import { cfSplit } from '../../../../features/interactions/cf-split.js';
import { compareIds } from '../../../../features/interactions/interaction.js';
import { EventPositivesSchema, positivesFromEvents } from '../../../../features/interactions/event-positives.js';
import type { Event } from '../../../../features/events/event-schema.js';

describe('features/interactions: ids, positives and the time split', () => {
  it('orders integer ids numerically, then the others by code unit', () => {
    assert.deepEqual(['b', '10', 'a', '2', '007', '1'].sort(compareIds), ['1', '2', '10', '007', 'a', 'b']);
  });

  it('maps string ids both ways and splits each user by time', () => {
    const positives = Array.from({ length: 10 }, (_, k) => ({ user: 'alice', item: `item-${k}`, ts: 1000 + k }));
    positives.push({ user: 'bob', item: 'item-0', ts: 5 }, { user: 'alice', item: 'item-0', ts: 9999 });
    const split = cfSplit(positives, { itemIds: ['never-clicked'] });
    assert.deepEqual(split.userIds, ['alice', 'bob']);
    assert.ok(split.itemIds.includes('never-clicked'));
    const named = (part: typeof split.train) => Array.from(part.users, (u, k) => `${split.userIds[u]}:${split.itemIds[part.items[k]!]}`);
    assert.deepEqual(named(split.test), ['alice:item-8', 'alice:item-9']);
    assert.deepEqual(named(split.validation), ['alice:item-7']);
    assert.ok(named(split.train).includes('bob:item-0'));
    assert.equal(named(split.train).filter((p) => p === 'alice:item-0').length, 1, 'a repeated pair counts once');
    assert.equal(split.trainedUntil, 1007);
  });

  it('a production split holds out no test part, and optionally no validation', () => {
    const positives = Array.from({ length: 10 }, (_, k) => ({ user: 'u', item: `i${k}`, ts: k }));
    const tail = cfSplit(positives, { testFraction: 0 });
    assert.deepEqual([tail.train.users.length, tail.validation.users.length, tail.test.users.length], [9, 1, 0]);
    assert.equal(tail.trainedUntil, 9);
    const all = cfSplit(positives, { testFraction: 0, validationFraction: 0 });
    assert.deepEqual([all.train.users.length, all.validation.users.length, all.test.users.length], [10, 0, 0]);
  });

  it('counts clicks, ratings ≥ 4 and clicked impressions as positives by default, as configured otherwise', () => {
    const base = { schema_version: 1, ts: 1 } as const;
    const events = [
      { ...base, event_id: 'a', type: 'click', user_id: 'u', item_id: 'i1' },
      { ...base, event_id: 'b', type: 'click', user_id: 'u', item_id: 'i2', label: 0 },
      { ...base, event_id: 'c', type: 'rating', user_id: 'u', item_id: 'i3', value: 4 },
      { ...base, event_id: 'd', type: 'rating', user_id: 'u', item_id: 'i4', value: 3.5 },
      { ...base, event_id: 'e', type: 'impression', user_id: 'u', item_id: 'i5', label: 1 },
      { ...base, event_id: 'f', type: 'impression', user_id: 'v', item_id: 'i6' },
      { ...base, event_id: 'g', type: 'item_update', item_id: 'i7', attributes: {} },
    ] as Event[];
    const byDefault = positivesFromEvents(events, EventPositivesSchema.parse({}));
    assert.deepEqual(byDefault.positives.map((p) => p.item), ['i1', 'i3', 'i5']);
    assert.deepEqual([...byDefault.userIds], ['u', 'v']);
    assert.ok(!byDefault.itemIds.has('i7'));
    const strict = positivesFromEvents(events, EventPositivesSchema.parse({ minRating: 3.5, labelledImpressions: false, clicks: false }));
    assert.deepEqual(strict.positives.map((p) => p.item), ['i3', 'i4']);
  });
});
