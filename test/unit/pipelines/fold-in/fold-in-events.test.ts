import assert from 'node:assert/strict';
import { EventPositivesSchema } from '../../../../features/interactions/event-positives.js';
import type { Event } from '../../../../features/events/event-schema.js';
import { foldInChanges } from '../../../../pipelines/fold-in/fold-in-events.js';
import { parseFoldInMessage } from '../../../../pipelines/fold-in/fold-in-store.js';

const ts = 1_700_000_000_000;
const click = (user: string, item: string, extra: Partial<Event> = {}): Event => ({ schema_version: 1, event_id: `${user}-${item}`, type: 'click', user_id: user, item_id: item, ts, ...extra } as Event);
const catalog = (item: string, value: unknown): Event => ({ schema_version: 1, event_id: `${item}-c`, type: 'item_update', item_id: item, ts, attributes: { in_catalog: value } } as Event);

describe('fold-in changes of a batch of events', () => {
  const rules = { positives: EventPositivesSchema.parse({}), catalogAttribute: 'in_catalog' };
  const known = (id: string): boolean => id.startsWith('old');

  it('records positives on items the model does not know, with their distinct users; known items and non-positives are left out', () => {
    const changes = foldInChanges([
      click('u1', 'new'), click('u2', 'new'), click('u1', 'new'), click('u3', 'old1'),
      click('u4', 'new2', { label: 0 } as Partial<Event>),
      { schema_version: 1, event_id: 'r', type: 'rating', user_id: 'u5', item_id: 'new3', ts, value: 5 },
      { schema_version: 1, event_id: 'r2', type: 'rating', user_id: 'u6', item_id: 'new3', ts, value: 2 },
      { schema_version: 1, event_id: 'i', type: 'impression', user_id: 'u7', item_id: 'new4', ts },
      { schema_version: 1, event_id: 'uu', type: 'user_update', user_id: 'u1', ts, attributes: { in_catalog: false } },
    ], known, rules);
    assert.deepEqual([...changes.interactions].map(([item, users]) => [item, [...users]]), [['new', ['u1', 'u2']], ['new3', ['u5']]]);
    assert.equal(changes.removed.size + changes.restored.size, 0);
  });

  it('catalog updates: false removes, true restores, the last one in the batch wins; other values are not catalog changes', () => {
    const changes = foldInChanges([catalog('a', false), catalog('b', false), catalog('b', true), catalog('c', true), catalog('c', false), catalog('d', 'no')], known, rules);
    assert.deepEqual([...changes.removed], ['a', 'c']);
    assert.deepEqual([...changes.restored], ['b']);
  });

  it('announcements from the channel are validated: anything else is ignored', () => {
    const ok = { model: 'm', version: 2, items: ['a'], removed: [], restored: ['b'] };
    assert.deepEqual(parseFoldInMessage(JSON.stringify(ok)), ok);
    assert.equal(parseFoldInMessage('not json'), undefined);
    assert.equal(parseFoldInMessage(JSON.stringify({ ...ok, version: 'two' })), undefined);
  });
});
