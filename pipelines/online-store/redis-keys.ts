/**
 * Redis key layout of the online store, under a prefix (REDIS_KEY_PREFIX,
 * default `recsys:`):
 *   <p>u:<user>:h   sorted set, the behaviour sequence (score = event ts)
 *   <p>u:<user>:c   hash, counters (`<type>`, `<type>:pos`, `last_ts`)
 *   <p>u:<user>:a   hash, attributes (JSON values; `_ts` = time of the update applied last)
 *   <p>i:<item>:c   hash, counters
 *   <p>i:<item>:a   hash, attributes
 *   <p>ingest:wm:<topic>  hash, partition → last Kafka offset applied (the exactly-once guard)
 *   <p>ingest:behind:<topic>  hash, partition → why the store is known to miss events (set when a
 *                         watermark was found behind the consumer's position; cleared by a rebuild)
 *   <p>ingest:seen:<topic>:<partition>  hash, a chunk's last offset → the ids it applied (JSON): the
 *                         partition's dedupe window, so a record produced twice (a producer's retry)
 *                         counts once
 */
export interface RedisKeys {
  history(userId: string): string;
  counters(kind: 'user' | 'item', id: string): string;
  attributes(kind: 'user' | 'item', id: string): string;
  watermark(topic: string): string;
  behind(topic: string): string;
  seen(topic: string, partition: number): string;
}

export function redisKeys(prefix: string): RedisKeys {
  const entity = (kind: 'user' | 'item') => (kind === 'user' ? 'u' : 'i');
  return {
    history: (userId) => `${prefix}u:${userId}:h`,
    counters: (kind, id) => `${prefix}${entity(kind)}:${id}:c`,
    attributes: (kind, id) => `${prefix}${entity(kind)}:${id}:a`,
    watermark: (topic) => `${prefix}ingest:wm:${topic}`,
    behind: (topic) => `${prefix}ingest:behind:${topic}`,
    seen: (topic, partition) => `${prefix}ingest:seen:${topic}:${partition}`,
  };
}

/** Field of a hash holding the time of the attribute update applied last. */
export const ATTRIBUTES_TS_FIELD = '_ts';
export const LAST_TS_FIELD = 'last_ts';
