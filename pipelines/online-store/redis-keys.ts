import keySlot from 'cluster-key-slot';

/**
 * Redis key layout of the online store, under a prefix (REDIS_KEY_PREFIX,
 * default `recsys:`), split into `buckets` (the store's layout, kept in
 * Redis): every user and item lives in the bucket its id hashes to, and each
 * bucket has a key prefix of its own (`bucketPrefix`), with a hash tag of its
 * own when there is more than one bucket, so that on a Redis Cluster the
 * buckets spread evenly over the primaries while each Lua script (one
 * bucket's share of a chunk, with the bucket's watermark) still touches one slot.
 * With one bucket the bucket prefix is the prefix itself.
 *   <b>u:<user>:h   sorted set, the behaviour sequence (score = event ts)
 *   <b>u:<user>:c   hash, counters (`<type>`, `<type>:pos`, `last_ts`)
 *   <b>u:<user>:a   hash, attributes (JSON values; `_ts` = time of the update applied last)
 *   <b>i:<item>:c   hash, counters
 *   <b>i:<item>:a   hash, attributes
 *   <b>ingest:wm:<topic>  hash, partition → last Kafka offset applied to the bucket (the exactly-once guard)
 *   <b>ingest:seen:<topic>:<partition>  hash, a chunk's last offset → the ids it applied to the bucket
 *                         (JSON): the partition's dedupe window, so a record produced twice counts once
 *   <p>ingest:behind:<topic>  hash, partition → why the store is known to miss events (set when a
 *                         watermark was found behind the consumer's position; cleared by a rebuild)
 *   <p>online:buckets  the layout: how many buckets the store was written with
 */
export interface RedisKeys {
  readonly buckets: number;
  /** The bucket an entity id belongs to (users and items alike). */
  bucketOf(id: string): number;
  bucketPrefix(bucket: number): string;
  history(userId: string): string;
  counters(kind: 'user' | 'item', id: string): string;
  attributes(kind: 'user' | 'item', id: string): string;
  watermark(topic: string, bucket: number): string;
  seen(topic: string, partition: number, bucket: number): string;
  behind(topic: string): string;
  layout(): string;
}

/**
 * FNV-1a over the id's UTF-16 code units. The layout depends on it: a store
 * written with one hash cannot be read with another, so it never changes.
 */
export function bucketOfId(id: string, buckets: number): number {
  if (buckets === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % buckets;
}

const TAG = /\{([^}]+)\}/;
const CLUSTER_SLOTS = 16_384;

/**
 * The hash tag of one bucket: the prefix's tag (or nothing) with the bucket
 * and the first salt that puts the tag's slot in the bucket's own 1/buckets
 * of the slot space. A cluster's primaries own contiguous slot ranges (even
 * ones, as `redis-cli --cluster create` deals them), so each primary gets its
 * share of buckets — left to chance, 16 buckets fell 8/5/3 on 3 primaries.
 */
function bucketTag(base: string, bucket: number, buckets: number): string {
  for (let salt = 0; ; salt++) {
    const tag = `${base}${bucket}.${salt}`;
    if (Math.floor((keySlot(tag) * buckets) / CLUSTER_SLOTS) === bucket) return tag;
  }
}

/**
 * The prefix of one bucket's keys: the prefix's hash tag gains the bucket's
 * (`{recsys}:` → `{recsys.3.17}:`); a prefix without a tag gets one after it
 * (`recsys:` → `recsys:{3.5}:`).
 */
export function bucketPrefix(prefix: string, bucket: number, buckets: number): string {
  if (buckets === 1) return prefix;
  const tag = TAG.exec(prefix)?.[1];
  return tag === undefined ? `${prefix}{${bucketTag('', bucket, buckets)}}:` : prefix.replace(TAG, `{${bucketTag(`${tag}.`, bucket, buckets)}}`);
}

export const MAX_BUCKETS = 1024;
/**
 * Buckets of a new store on a Redis Cluster: enough for a few primaries to
 * share it roughly evenly (each bucket is one slot, placed where the slot
 * map puts it), few enough that a chunk costs few script calls.
 */
export const DEFAULT_CLUSTER_BUCKETS = 16;

const prefixCache = new Map<string, readonly string[]>();

/** Every bucket's prefix, computed once per prefix and count (the salt search is ~buckets slot hashes per bucket). */
function bucketPrefixes(prefix: string, buckets: number): readonly string[] {
  const key = `${buckets}\u0000${prefix}`;
  let prefixes = prefixCache.get(key);
  if (!prefixes) prefixCache.set(key, (prefixes = Array.from({ length: buckets }, (_, b) => bucketPrefix(prefix, b, buckets))));
  return prefixes;
}

export function redisKeys(prefix: string, buckets = 1): RedisKeys {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS) throw new RangeError(`online store buckets must be an integer in [1, ${MAX_BUCKETS}], got ${buckets}`);
  const prefixes = bucketPrefixes(prefix, buckets);
  const entity = (kind: 'user' | 'item') => (kind === 'user' ? 'u' : 'i');
  const of = (id: string) => prefixes[bucketOfId(id, buckets)]!;
  return {
    buckets,
    bucketOf: (id) => bucketOfId(id, buckets),
    bucketPrefix: (b) => prefixes[b]!,
    history: (userId) => `${of(userId)}u:${userId}:h`,
    counters: (kind, id) => `${of(id)}${entity(kind)}:${id}:c`,
    attributes: (kind, id) => `${of(id)}${entity(kind)}:${id}:a`,
    watermark: (topic, b) => `${prefixes[b]!}ingest:wm:${topic}`,
    seen: (topic, partition, b) => `${prefixes[b]!}ingest:seen:${topic}:${partition}`,
    behind: (topic) => `${prefix}ingest:behind:${topic}`,
    layout: () => `${prefix}online:buckets`,
  };
}

/** Field of a hash holding the time of the attribute update applied last. */
export const ATTRIBUTES_TS_FIELD = '_ts';
export const LAST_TS_FIELD = 'last_ts';
