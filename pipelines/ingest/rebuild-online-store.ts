import { randomBytes } from 'node:crypto';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { sqlString } from '../../infra/clickhouse/escape.js';
import { logger } from '../../infra/logger.js';
import type { Redis } from '../../infra/redis/redis-client.js';
import { scanKeys } from '../../infra/redis/scan-keys.js';
import { addEventOps, emptyOps, type OnlineStoreSpec } from '../online-store/online-ops.js';
import { RedisOnlineWriter } from '../online-store/redis-online-store.js';
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
  /** Events per atomic Redis script call. @default 1000 */
  chunkSize?: number;
  /** Event time read from ClickHouse per query (bounds memory). @default 1 day */
  windowMs?: number;
}

export interface RebuildResult {
  events: number;
  deletedKeys: number;
  /** Partition → the watermark set (the last offset ClickHouse holds for it). */
  watermarks: Map<number, number>;
}

/**
 * Refills the online store from ClickHouse, the source of truth, after it
 * was lost (Redis restarted without persistence, restored from an old
 * snapshot, failed over to a lagging replica). Removes the store's entity
 * keys, applies every stored event (from `from` on) with the same script
 * ingestion uses, then sets each partition's watermark to the last offset
 * ClickHouse holds for it, so ingestion resumes exactly after it: what
 * ClickHouse holds beyond the committed offset is skipped when replayed.
 * Run it while ingestion is stopped (the CLI checks the consumer group).
 */
export async function rebuildOnlineStore(options: RebuildOnlineStoreOptions): Promise<RebuildResult> {
  const { clickhouse, redis, prefix, spec, topic } = options;
  const chunkSize = options.chunkSize ?? 1000;
  const writer = new RedisOnlineWriter(redis, prefix, spec.behaviour.maxLength);
  // Positions first: they cover at least every event read below.
  const positions = await partitionPositions(clickhouse, topic);

  let deletedKeys = 0;
  for (const pattern of [`${prefix}u:*`, `${prefix}i:*`]) deletedKeys += await deleteMatching(redis, pattern);
  await redis.del(writer.keys.watermark(topic), writer.keys.behind(topic));

  // The ingestion script, on a scratch watermark: each chunk applies atomically, in order.
  const scratch = `rebuild-${randomBytes(6).toString('hex')}`;
  let expected = -1;
  let events = 0;
  let ops = emptyOps();
  let inChunk = 0;
  const flush = async () => {
    if (inChunk === 0) return;
    await writer.applyChunks(scratch, 0, [{ expected, last: expected + 1, ops }]);
    expected++;
    ops = emptyOps();
    inChunk = 0;
  };
  try {
    for await (const event of readEvents(clickhouse, { ...(options.from === undefined ? {} : { from: options.from }), ...(options.windowMs ? { windowMs: options.windowMs } : {}) })) {
      addEventOps(ops, spec, event);
      events++;
      if (++inChunk >= chunkSize) await flush();
    }
    await flush();
  } finally {
    await redis.del(writer.keys.watermark(scratch));
  }
  if (positions.size > 0) await redis.hset(writer.keys.watermark(topic), ...[...positions].flatMap(([p, o]) => [String(p), String(o)]));
  log.info({ topic, events, deletedKeys, watermarks: Object.fromEntries(positions) }, 'online store rebuilt from ClickHouse');
  return { events, deletedKeys, watermarks: positions };
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
  // Keys under one hash-tagged prefix share a slot, so one UNLINK per batch is valid on a cluster too.
  for await (const keys of scanKeys(redis, pattern)) deleted += await redis.unlink(...keys);
  return deleted;
}
