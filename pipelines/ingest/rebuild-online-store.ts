import { randomBytes } from 'node:crypto';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { sqlString } from '../../infra/clickhouse/escape.js';
import { logger } from '../../infra/logger.js';
import { isCluster, type Redis } from '../../infra/redis/redis-client.js';
import { scanKeys } from '../../infra/redis/scan-keys.js';
import { addEventOps, emptyOps, type OnlineStoreSpec } from '../online-store/online-ops.js';
import { RedisOnlineWriter, storedBuckets } from '../online-store/redis-online-store.js';
import { DEFAULT_CLUSTER_BUCKETS, redisKeys } from '../online-store/redis-keys.js';
import { OFFLINE_TABLES } from './offline-rows.js';
import { readEvents, storedPositions } from './offline-store.js';

const log = logger('ingest');

export interface RebuildOnlineStoreOptions {
  clickhouse: SqlClient;
  redis: Redis;
  /** Key prefix of the online store (REDIS_KEY_PREFIX). */
  prefix: string;
  spec: OnlineStoreSpec;
  /** The events topic whose watermarks the rebuilt store gets. */
  topic: string;
  /** Only events from this time on (epoch ms) count; entities keep the attributes they had then. @default everything stored */
  from?: number;
  /** Buckets of the rebuilt store (ONLINE_STORE_BUCKETS). @default the store's own (a new store's default if it has none) */
  buckets?: number;
  /** Events per atomic Redis script call. @default 1000 */
  chunkSize?: number;
  /** Event time read from ClickHouse per query (bounds memory). @default 1 day */
  windowMs?: number;
}

export interface RebuildResult {
  events: number;
  deletedKeys: number;
  /** Buckets of the rebuilt store (its layout). */
  buckets: number;
  /** Partition → the watermark set (the last offset ClickHouse holds for it). */
  watermarks: Map<number, number>;
}

/**
 * Refills the online store from ClickHouse, the source of truth, after it
 * was lost (Redis restarted without persistence, restored from an old
 * snapshot, failed over to a lagging replica), or to give it another
 * layout (`buckets`). Removes the store's entity keys, applies every stored
 * event (from `from` on) with the same script ingestion uses, then sets each
 * partition's watermark in every bucket to the last offset ClickHouse holds
 * for it, so ingestion resumes exactly after it: what ClickHouse holds
 * beyond the committed offset is skipped when replayed. Run it while
 * ingestion is stopped (the CLI checks the consumer group).
 */
export async function rebuildOnlineStore(options: RebuildOnlineStoreOptions): Promise<RebuildResult> {
  const { clickhouse, redis, prefix, spec, topic } = options;
  const chunkSize = options.chunkSize ?? 1000;
  const stored = await storedBuckets(redis, prefix);
  const old = redisKeys(prefix, stored ?? 1);
  const buckets = options.buckets ?? stored ?? (isCluster(redis) ? DEFAULT_CLUSTER_BUCKETS : 1);
  // Positions first: they cover at least every event read below.
  const positions = await partitionPositions(clickhouse, topic);

  let deletedKeys = 0;
  const relayout = buckets !== old.buckets;
  for (let b = 0; b < old.buckets; b++) {
    const bp = old.bucketPrefix(b);
    for (const pattern of [`${bp}u:*`, `${bp}i:*`, ...(relayout ? [`${bp}ingest:seen:*`] : [])]) deletedKeys += await deleteMatching(redis, pattern);
    await redis.del(old.watermark(topic, b));
  }
  await redis.del(old.behind(topic));
  await redis.set(old.layout(), String(buckets));
  const writer = new RedisOnlineWriter(redis, prefix, spec.behaviour.maxLength, 0, buckets);

  // The ingestion script, on a scratch watermark: each chunk applies atomically (per bucket), in order.
  const scratch = `rebuild-${randomBytes(6).toString('hex')}`;
  let expected = -1;
  let events = 0;
  let ops = emptyOps();
  let inChunk = 0;
  const flush = async () => {
    if (inChunk === 0) return;
    await writer.applyOps(scratch, 0, expected, ops);
    expected++;
    ops = emptyOps();
    inChunk = 0;
  };
  try {
    const target = () => ops;
    for await (const event of readEvents(clickhouse, { ...(options.from === undefined ? {} : { from: options.from }), ...(options.windowMs ? { windowMs: options.windowMs } : {}) })) {
      addEventOps(target, spec, event);
      events++;
      if (++inChunk >= chunkSize) await flush();
    }
    await flush();
  } finally {
    for (let b = 0; b < buckets; b++) await redis.del(writer.keys.watermark(scratch, b));
  }
  const fields = [...positions].flatMap(([p, o]) => [String(p), String(o)]);
  if (fields.length > 0) for (let b = 0; b < buckets; b++) await redis.hset(writer.keys.watermark(topic, b), ...fields);
  log.info({ topic, events, deletedKeys, buckets, watermarks: Object.fromEntries(positions) }, 'online store rebuilt from ClickHouse');
  return { events, deletedKeys, buckets, watermarks: positions };
}

/** The last offset per partition ClickHouse holds for `topic`: stored events and dead letters. */
async function partitionPositions(clickhouse: SqlClient, topic: string): Promise<Map<number, number>> {
  const out = await storedPositions(clickhouse);
  const dead = await clickhouse.query<{ p: number; o: number }>(
    `SELECT source_partition AS p, max(source_offset) AS o FROM ${OFFLINE_TABLES.deadLetters} WHERE source_topic = ${sqlString(topic)} GROUP BY source_partition`,
  );
  for (const r of dead) out.set(Number(r.p), Math.max(out.get(Number(r.p)) ?? -1, Number(r.o)));
  return out;
}

async function deleteMatching(redis: Redis, pattern: string): Promise<number> {
  let deleted = 0;
  // The pattern is one bucket's: its keys share a slot, so one UNLINK per batch is valid on a cluster too.
  for await (const keys of scanKeys(redis, pattern)) deleted += await redis.unlink(...keys);
  return deleted;
}
