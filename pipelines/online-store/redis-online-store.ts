import type { Redis } from '../../infra/redis/redis-client.js';
import type { AttributeMap } from '../../features/events/event-schema.js';
import type { BehaviourEntry } from '../../features/samples/example.js';
import { withRedisErrors } from '../../infra/redis/redis-errors.js';
import { APPLY_OPS_LUA } from './apply-ops-script.js';
import { ATTRIBUTES_TS_FIELD, LAST_TS_FIELD, redisKeys, type RedisKeys } from './redis-keys.js';
import { compareNewestFirst, parseEntityRef, parseSequenceMember, sequenceMember, type OnlineOps } from './online-ops.js';
import { emptyCounters, type Counters, type ItemState, type OnlineStoreReader, type UserState } from './online-store.js';

type ApplyCommand = (watermarkKey: string, seenKey: string, ...args: (string | number)[]) => Promise<number>;
type RedisWithApply = Redis & { recsysApplyOps?: ApplyCommand };

/** A chunk of one partition's events, ready to apply. */
export interface PartitionChunk {
  /** The offset this chunk expects as the partition's watermark (-1 for none yet). */
  expected: number;
  /** Last offset the chunk covers (the new watermark). */
  last: number;
  ops: OnlineOps;
  /** The ids of the records the chunk applies: they join the partition's dedupe window. */
  ids?: readonly string[];
}

/** Reads the watermark of each partition (-1 where nothing was applied yet). */
export async function readWatermarks(redis: Redis, keys: RedisKeys, topic: string, partitions: readonly number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (partitions.length === 0) return out;
  const values = await redis.hmget(keys.watermark(topic), ...partitions.map(String));
  partitions.forEach((p, i) => out.set(p, values[i] == null ? -1 : Number(values[i])));
  return out;
}

/**
 * The write side of the online store in Redis: each chunk of a partition's
 * events applies atomically (one Lua script) together with the partition's
 * watermark, so a replayed chunk is never applied twice.
 */
export class RedisOnlineWriter {
  readonly keys: RedisKeys;
  private readonly redis: RedisWithApply;

  /**
   * @param dedupeWindow offsets per partition whose record ids are kept to
   * recognise a record produced twice (0: none kept, nothing recognised).
   */
  constructor(redis: Redis, prefix: string, private readonly maxHistory: number, readonly dedupeWindow = 0) {
    this.keys = redisKeys(prefix);
    this.redis = redis as RedisWithApply;
    if (!this.redis.recsysApplyOps) this.redis.defineCommand('recsysApplyOps', { numberOfKeys: 2, lua: APPLY_OPS_LUA });
  }

  /**
   * The partition's dedupe window: the ids each chunk within it applied, by
   * the chunk's last offset. Read after the watermark; chunks built from it
   * apply only if the watermark has not moved since, so no other writer can
   * have added to the window in between.
   */
  seenWindow(topic: string, partition: number): Promise<Map<number, string[]>> {
    if (this.dedupeWindow === 0) return Promise.resolve(new Map());
    return withRedisErrors('dedupe window read', async () => {
      const hash = await this.redis.hgetall(this.keys.seen(topic, partition));
      return new Map(Object.entries(hash).map(([last, ids]) => [Number(last), JSON.parse(ids) as string[]]));
    });
  }

  watermarks(topic: string, partitions: readonly number[]): Promise<Map<number, number>> {
    return withRedisErrors('watermark read', () => readWatermarks(this.redis, this.keys, topic, partitions));
  }

  /**
   * Records that `partition` of `topic` is known to miss events (its
   * watermark was found behind the consumer's position), so the condition
   * outlives this process: the watermark itself moves on with the next
   * write. Cleared by rebuilding the store.
   */
  markBehind(topic: string, partition: number, detail: string): Promise<void> {
    return withRedisErrors('behind mark', async () => { await this.redis.hset(this.keys.behind(topic), String(partition), detail); });
  }

  /** Partitions of `topic` marked as missing events, with the detail recorded. */
  behind(topic: string): Promise<Map<number, string>> {
    return withRedisErrors('behind read', async () => {
      const hash = await this.redis.hgetall(this.keys.behind(topic));
      return new Map(Object.entries(hash).map(([p, detail]) => [Number(p), detail]));
    });
  }

  /**
   * Applies the chunks of one partition in order (pipelined). Returns how many
   * applied; stops at the first whose expected watermark did not match (the
   * caller re-reads the watermark and retries the rest).
   */
  async applyChunks(topic: string, partition: number, chunks: readonly PartitionChunk[]): Promise<number> {
    const key = this.keys.watermark(topic);
    const seenKey = this.keys.seen(topic, partition);
    const results = await withRedisErrors('apply', () => Promise.all(chunks.map((c) => this.redis.recsysApplyOps!(key, seenKey, ...this.args(partition, c)))));
    const firstMiss = results.findIndex((r) => Number(r) !== 1);
    return firstMiss === -1 ? results.length : firstMiss;
  }

  private args(partition: number, chunk: PartitionChunk): (string | number)[] {
    const { ops } = chunk;
    const args: (string | number)[] = [partition, chunk.expected, chunk.last, this.maxHistory];
    const increments: (string | number)[] = [];
    let nIncr = 0;
    for (const [ref, fields] of ops.counters) {
      const { kind, id } = parseEntityRef(ref);
      const key = this.keys.counters(kind, id);
      for (const [field, delta] of fields) {
        increments.push(key, field, delta);
        nIncr++;
      }
    }
    args.push(nIncr, ...increments);
    args.push(ops.lastTs.size);
    for (const [ref, ts] of ops.lastTs) {
      const { kind, id } = parseEntityRef(ref);
      args.push(this.keys.counters(kind, id), ts);
    }
    args.push(ops.sequences.size);
    for (const [userId, entries] of ops.sequences) {
      // Only the newest maxHistory entries of a chunk can survive the trim.
      let members = entries.map((e) => ({ ts: e.ts, member: sequenceMember(e) }));
      if (members.length > this.maxHistory) members = members.sort(compareNewestFirst).slice(0, this.maxHistory);
      args.push(this.keys.history(userId), members.length);
      for (const m of members) args.push(m.ts, m.member);
    }
    args.push(ops.attributes.length);
    for (const update of ops.attributes) {
      const fields = Object.entries(update.attributes);
      args.push(this.keys.attributes(update.kind, update.id), update.ts, fields.length);
      for (const [field, value] of fields) args.push(field, JSON.stringify(value));
    }
    const ids = this.dedupeWindow > 0 ? chunk.ids ?? [] : [];
    // One field per chunk, its ids as one JSON string: Redis stores a string per chunk, not an entry per event.
    args.push(this.dedupeWindow, ids.length > 0 ? JSON.stringify(ids) : '');
    return args;
  }
}

function parseAttributes(hash: Record<string, string>): AttributeMap {
  const out: AttributeMap = {};
  for (const [field, value] of Object.entries(hash)) if (field !== ATTRIBUTES_TS_FIELD) out[field] = JSON.parse(value) as AttributeMap[string];
  return out;
}

function parseCounters(hash: Record<string, string>): Counters {
  const counters = emptyCounters();
  for (const [field, value] of Object.entries(hash)) {
    if (field === LAST_TS_FIELD) counters.lastTs = Number(value);
    else counters.counts[field] = Number(value);
  }
  return counters;
}

/** The read side of the online store in Redis (what serving uses). */
export class RedisOnlineStore implements OnlineStoreReader {
  readonly keys: RedisKeys;

  constructor(private readonly redis: Redis, prefix: string, private readonly maxHistory = 50) {
    this.keys = redisKeys(prefix);
  }

  async user(userId: string, limit = this.maxHistory): Promise<UserState> {
    const results = await this.redis
      .multi()
      .zrevrange(this.keys.history(userId), 0, limit - 1, 'WITHSCORES')
      .hgetall(this.keys.attributes('user', userId))
      .hgetall(this.keys.counters('user', userId))
      .exec();
    const [history, attributes, counters] = (results ?? []).map(([error, value]) => {
      if (error) throw error;
      return value;
    }) as [string[], Record<string, string>, Record<string, string>];
    const entries: BehaviourEntry[] = [];
    for (let i = 0; i + 1 < Math.min(history.length, 2 * Math.max(0, limit)); i += 2) entries.push({ item_id: parseSequenceMember(history[i]!).item_id, ts: Number(history[i + 1]) });
    return { history: entries, attributes: parseAttributes(attributes), counters: parseCounters(counters) };
  }

  async items(itemIds: readonly string[]): Promise<Map<string, ItemState>> {
    const out = new Map<string, ItemState>();
    if (itemIds.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const id of itemIds) pipeline.hgetall(this.keys.attributes('item', id)).hgetall(this.keys.counters('item', id));
    const results = (await pipeline.exec()) ?? [];
    itemIds.forEach((id, i) => {
      const [aErr, attributes] = results[2 * i]!;
      const [cErr, counters] = results[2 * i + 1]!;
      if (aErr) throw aErr;
      if (cErr) throw cErr;
      out.set(id, { attributes: parseAttributes(attributes as Record<string, string>), counters: parseCounters(counters as Record<string, string>) });
    });
    return out;
  }
}
