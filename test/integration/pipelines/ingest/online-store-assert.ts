import assert from 'node:assert/strict';
import type { Event } from '../../../../features/events/event-schema.js';
import type { OnlineStoreReader } from '../../../../pipelines/online-store/online-store.js';

/** Every user and item touched by `events` reads the same from `actual` as from `expected`. */
export async function assertOnlineStoreMatches(actual: OnlineStoreReader, expected: OnlineStoreReader, events: readonly Event[]): Promise<void> {
  const users = new Set<string>();
  const items = new Set<string>();
  for (const e of events) {
    if ('user_id' in e) users.add(e.user_id);
    if ('item_id' in e) items.add(e.item_id);
  }
  for (const user of users) assert.deepEqual(await actual.user(user), await expected.user(user), `user ${user}`);
  const ids = [...items];
  for (let i = 0; i < ids.length; i += 500) {
    const slice = ids.slice(i, i + 500);
    assert.deepEqual(await actual.items(slice), await expected.items(slice), `items ${slice[0]}..`);
  }
}
