import assert from 'node:assert/strict';
import type { Event } from '../../../../features/events/event-schema.js';
import { readEvents } from '../../../../pipelines/ingest/offline-store.js';
import { MemoryOnlineStore } from '../../../../pipelines/online-store/memory-online-store.js';
import type { OnlineStoreSpec } from '../../../../pipelines/online-store/online-ops.js';
import { RedisOnlineStore } from '../../../../pipelines/online-store/redis-online-store.js';
import { assertOnlineStoreMatches } from '../../../helpers/conformance/online-store.js';
import type { IngestEnv } from './ingest-env.js';

export { assertOnlineStoreMatches };

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
