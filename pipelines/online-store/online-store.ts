import type { AttributeMap } from '../../features/events/event-schema.js';
import type { BehaviourEntry } from '../../features/samples/example.js';

/**
 * The read side of the online store, as serving uses it. Implemented on Redis
 * (redis-online-store.ts) and in memory (memory-online-store.ts, for running
 * without services and as the reference the Redis one is tested against).
 */
export interface Counters {
  /** `<type>` and `<type>:pos` counts (see online-ops.ts); absent fields are 0. */
  counts: Record<string, number>;
  /** Event time of the latest interaction; undefined if none. */
  lastTs: number | undefined;
}

export interface UserState {
  /** Behaviour sequence, newest first. */
  history: BehaviourEntry[];
  attributes: AttributeMap;
  counters: Counters;
}

export interface ItemState {
  attributes: AttributeMap;
  counters: Counters;
}

export interface OnlineStoreReader {
  /** The user's behaviour sequence (newest first, at most `limit`), attributes and counters, in one round trip. */
  user(userId: string, limit?: number): Promise<UserState>;
  /** Attributes and counters of each item (empty for unknown items), in one round trip. */
  items(itemIds: readonly string[]): Promise<Map<string, ItemState>>;
}

export const emptyCounters = (): Counters => ({ counts: {}, lastTs: undefined });
