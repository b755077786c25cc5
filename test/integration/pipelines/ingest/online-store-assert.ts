import assert from 'node:assert/strict';
import type { Event } from '../../../../features/events/event-schema.js';
import { readEvents } from '../../../../pipelines/ingest/offline-store.js';
import { MemoryOnlineStore } from '../../../../pipelines/online-store/memory-online-store.js';
import type { OnlineStoreSpec } from '../../../../pipelines/online-store/online-ops.js';
import type { OnlineStoreReader } from '../../../../pipelines/online-store/online-store.js';
import { RedisOnlineStore } from '../../../../pipelines/online-store/redis-online-store.js';
import type { IngestEnv } from './ingest-env.js';

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

/**
 * After ingesting `events`: the offline store returns each of them exactly
 * once over the last `windowMs` (returned, in query order), and Redis reads as
 * an in-memory store fed the same events (a replayed chunk would double its
 * counters).
 */
export async function assertStoresHoldExactly(
  env: Pick<IngestEnv, 'db' | 'redis' | 'prefix'>, spec: OnlineStoreSpec, events: readonly Event[], windowMs: number,
): Promise<Event[]> {
  const stored: Event[] = [];
  for await (const e of readEvents(env.db, { windowMs })) stored.push(e);
  assert.equal(stored.length, events.length);
  assert.equal(new Set(stored.map((e) => e.event_id)).size, events.length);
  const reference = new MemoryOnlineStore(spec);
  reference.applyEvents(events);
  await assertOnlineStoreMatches(new RedisOnlineStore(env.redis, env.prefix, spec.behaviour.maxLength), reference, events);
  return stored;
}
