import { isCluster, type Redis } from '../../infra/redis/redis-client.js';
import type { AttributeMap } from '../../features/events/event-schema.js';
import type { BehaviourEntry } from '../../features/samples/example.js';
import { withRedisErrors } from '../../infra/redis/redis-errors.js';
import { ValidationError } from '../../infra/errors.js';
import { APPLY_OPS_LUA } from './apply-ops-script.js';
import { ATTRIBUTES_TS_FIELD, DEFAULT_CLUSTER_BUCKETS, LAST_TS_FIELD, redisKeys, type RedisKeys } from './redis-keys.js';
import { compareNewestFirst, parseEntityRef, parseSequenceMember, sequenceMember, splitOps, type OnlineOps } from './online-ops.js';
import { emptyCounters, type Counters, type ItemState, type OnlineStoreReader, type UserState } from './online-store.js';

type ApplyCommand = (watermarkKey: string, seenKey: string, ...args: (string | number)[]) => Promise<number>;
type RedisWithApply = Redis & { recsysApplyOps?: ApplyCommand };

/** A chunk of one partition's events for one bucket, ready to apply. */
export interface PartitionChunk {
  /** The offset this chunk expects as the bucket's watermark for the partition (-1 for none yet). */
  expected: number;
  /** Last offset the chunk covers (the bucket's new watermark). */
  last: number;
  ops: OnlineOps;
  /** The ids of the records the chunk applies to the bucket: they join its dedupe window. */
  ids?: readonly string[];
}

/** Per bucket, the watermark of each partition (-1 where nothing was applied yet). */
export async function readWatermarks(redis: Redis, keys: RedisKeys, topic: string, partitions: readonly number[]): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>(partitions.map((p) => [p, new Array<number>(keys.buckets).fill(-1)]));
  if (partitions.length === 0) return out;
  await Promise.all(Array.from({ length: keys.buckets }, async (_, b) => {
    const values = await redis.hmget(keys.watermark(topic, b), ...partitions.map(String));
    partitions.forEach((p, i) => { out.get(p)![b] = values[i] == null ? -1 : Number(values[i]); });
  }));
  return out;
}

/**
 * The number of buckets a store under `prefix` was written with, as Redis
 * records it; undefined for a new store and for one written before layouts
 * were recorded (which has one bucket).
 */
export async function storedBuckets(redis: Redis, prefix: string): Promise<number | undefined> {
  const value = await redis.get(redisKeys(prefix).layout());
  return value == null ? undefined : Number(value);
}

export interface OpenWriterOptions {
  /** Offsets per partition whose record ids are kept to recognise a record produced twice (0: none). */
  dedupeWindow?: number;
  /** Buckets the store must have (ONLINE_STORE_BUCKETS); another layout is refused. @default the store's own; for a new store 1, DEFAULT_CLUSTER_BUCKETS on a Redis Cluster */
  buckets?: number;
  /** Topics whose watermarks betray a store written before layouts were recorded (it has one bucket). */
  topics?: readonly string[];
}

/**
 * The write side of the online store in Redis: each chunk of a partition's
 * events applies per bucket, each bucket's share atomically (one Lua script)
 * together with the bucket's watermark for the partition, so a replayed
 * chunk is never applied twice to any bucket, even when a writer died after
 * some buckets took it and others did not.
 */
export class RedisOnlineWriter {
  readonly keys: RedisKeys;
  private readonly redis: RedisWithApply;

  /**
   * Prefer `open`, which checks the layout against the one Redis records.
   * @param dedupeWindow offsets per partition whose record ids are kept to
   * recognise a record produced twice (0: none kept, nothing recognised).
   */
  constructor(redis: Redis, prefix: string, private readonly maxHistory: number, readonly dedupeWindow = 0, buckets = 1) {
    this.keys = redisKeys(prefix, buckets);
    this.redis = redis as RedisWithApply;
    if (!this.redis.recsysApplyOps) this.redis.defineCommand('recsysApplyOps', { numberOfKeys: 2, lua: APPLY_OPS_LUA });
  }

  /**
   * A writer with the store's layout: the one Redis records, or, for a new
   * store, `buckets` (recorded then). Asking for another layout than the
   * store's is refused: the keys of every entity would move.
   */
  static async open(redis: Redis, prefix: string, maxHistory: number, options: OpenWriterOptions = {}): Promise<RedisOnlineWriter> {
    const layoutKey = redisKeys(prefix).layout();
    let stored = await storedBuckets(redis, prefix);
    if (stored === undefined) {
      const wanted = options.buckets ?? (isCluster(redis) ? DEFAULT_CLUSTER_BUCKETS : 1);
      // A store from before layouts were recorded has one bucket; its watermarks tell it apart from a new store.
      const legacy = wanted > 1 && (await Promise.all((options.topics ?? []).map((t) => redis.exists(redisKeys(prefix).watermark(t, 0))))).some((n) => n > 0);
      // NX: of two writers opening a new store at once, the first one's layout holds for both.
      await redis.set(layoutKey, String(legacy ? 1 : wanted), 'NX');
      stored = (await storedBuckets(redis, prefix))!;
    }
    if (options.buckets !== undefined && options.buckets !== stored) {
      throw new ValidationError(`the online store under '${prefix}' has ${stored} bucket(s), ${options.buckets} asked for (ONLINE_STORE_BUCKETS / --online-store-buckets): rebuild it in the new layout with \`recsys ingest --rebuild-online-store --online-store-buckets ${options.buckets}\` (ingestion stopped), or ask for ${stored}`);
    }
    return new RedisOnlineWriter(redis, prefix, maxHistory, options.dedupeWindow ?? 0, stored);
  }

  get buckets(): number {
    return this.keys.buckets;
  }

  /**
   * The partition's dedupe window in each bucket: the ids each chunk within
   * it applied there, by the chunk's last offset. Read after the watermarks;
   * chunks built from it apply only if the watermarks have not moved since,
   * so no other writer can have added to a window in between.
   */
  seenWindows(topic: string, partition: number): Promise<Map<number, string[]>[]> {
    if (this.dedupeWindow === 0) return Promise.resolve(Array.from({ length: this.buckets }, () => new Map()));
    return withRedisErrors('dedupe window read', () => Promise.all(Array.from({ length: this.buckets }, async (_, b) => {
      const hash = await this.redis.hgetall(this.keys.seen(topic, partition, b));
      return new Map(Object.entries(hash).map(([last, ids]) => [Number(last), JSON.parse(ids) as string[]]));
    })));
  }

  /** Per bucket, the partition's watermark. */
  async watermarks(topic: string, partition: number): Promise<number[]> {
    return (await withRedisErrors('watermark read', () => readWatermarks(this.redis, this.keys, topic, [partition]))).get(partition)!;
  }

  /**
   * Records that `partition` of `topic` is known to miss events (a watermark
   * was found behind the consumer's position), so the condition outlives
   * this process: the watermarks themselves move on with the next write.
   * Cleared by rebuilding the store.
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
   * Applies each bucket's chunks of one partition in order (all sent at
   * once; each bucket's in order on its connection). Returns, per bucket,
   * how many applied: a bucket stops at the first chunk whose expected
   * watermark did not match (the caller re-reads the watermarks and retries
   * what is missing).
   */
  async applyChunks(topic: string, partition: number, chunksByBucket: readonly (readonly PartitionChunk[])[]): Promise<number[]> {
    return withRedisErrors('apply', () => Promise.all(chunksByBucket.map(async (chunks, b) => {
      if (chunks.length === 0) return 0;
      const results = await Promise.all(chunks.map((c) => this.redis.recsysApplyOps!(this.keys.watermark(topic, b), this.keys.seen(topic, partition, b), ...this.args(partition, c))));
      const firstMiss = results.findIndex((r) => Number(r) !== 1);
      return firstMiss === -1 ? results.length : firstMiss;
    })));
  }

  /**
   * Applies `ops` as the chunk after `expected` in every bucket (the
   * partition's watermarks all at `expected`): for writers that own the
   * watermarks they use (a rebuild, tests, benchmarks). True when every
   * bucket took it.
   */
  async applyOps(topic: string, partition: number, expected: number, ops: OnlineOps): Promise<boolean> {
    const parts = splitOps(ops, this.buckets, this.keys.bucketOf);
    const applied = await this.applyChunks(topic, partition, parts.map((p) => [{ expected, last: expected + 1, ops: p }]));
    return applied.every((n) => n === 1);
  }

  private args(partition: number, chunk: PartitionChunk): (string | number)[] {
    const { ops } = chunk;
    // Per entity: key, latest time, increments (the script's layout, apply-ops-script.ts).
    const counters: (string | number)[] = [];
    let timed = 0;
    for (const [ref, fields] of ops.counters) {
      const { kind, id } = parseEntityRef(ref);
      const ts = ops.lastTs.get(ref);
      if (ts !== undefined) timed++;
      counters.push(this.keys.counters(kind, id), ts === undefined ? '' : String(ts), fields.size);
      for (const [field, delta] of fields) counters.push(field, delta);
    }
    // Times of entities without increments (none from events, but ops are general).
    if (timed < ops.lastTs.size) {
      for (const [ref, ts] of ops.lastTs) {
        if (ops.counters.has(ref)) continue;
        const { kind, id } = parseEntityRef(ref);
        counters.push(this.keys.counters(kind, id), String(ts), 0);
      }
    }
    const histories: (string | string[])[] = [];
    for (const [userId, entries] of ops.sequences) {
      // Only the newest maxHistory entries of a chunk can survive the trim.
      let members = entries.map((e) => ({ ts: e.ts, member: sequenceMember(e) }));
      if (members.length > this.maxHistory) members = members.sort(compareNewestFirst).slice(0, this.maxHistory);
      const scored: string[] = [];
      for (const m of members) scored.push(String(m.ts), m.member);
      histories.push(this.keys.history(userId), scored);
    }
    const attributes: (string | string[])[] = [];
    for (const update of ops.attributes) {
      const fields: string[] = [];
      for (const [field, value] of Object.entries(update.attributes)) fields.push(field, JSON.stringify(value));
      attributes.push(this.keys.attributes(update.kind, update.id), String(update.ts), fields);
    }
    const ids = this.dedupeWindow > 0 ? chunk.ids ?? [] : [];
    // One field per chunk, its ids as one JSON string: Redis stores a string per chunk, not an entry per event.
    return [partition, chunk.expected, chunk.last, this.maxHistory, this.dedupeWindow, ids.length > 0 ? JSON.stringify(ids) : '',
      JSON.stringify([counters, histories, attributes])];
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

/** How long a reader trusts the layout it read before reading it again (a rebuild may change it). */
const LAYOUT_TTL_MS = 10_000;

/** The read side of the online store in Redis (what serving uses); it follows the layout the store records. */
export class RedisOnlineStore implements OnlineStoreReader {
  private layout: { keys: RedisKeys; at: number } | undefined;

  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly maxHistory = 50) {}

  private async keys(): Promise<RedisKeys> {
    if (!this.layout || Date.now() - this.layout.at > LAYOUT_TTL_MS) {
      this.layout = { keys: redisKeys(this.prefix, (await storedBuckets(this.redis, this.prefix)) ?? 1), at: Date.now() };
    }
    return this.layout.keys;
  }

  async user(userId: string, limit = this.maxHistory): Promise<UserState> {
    const keys = await this.keys();
    const results = await this.redis
      .multi()
      .zrevrange(keys.history(userId), 0, limit - 1, 'WITHSCORES')
      .hgetall(keys.attributes('user', userId))
      .hgetall(keys.counters('user', userId))
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
    const keys = await this.keys();
    // One pipeline per bucket: on a cluster a pipeline's keys must share a node, and a bucket's share a slot.
    const byBucket = new Map<number, string[]>();
    for (const id of itemIds) {
      const b = keys.bucketOf(id);
      const ids = byBucket.get(b);
      if (ids) ids.push(id);
      else byBucket.set(b, [id]);
    }
    await Promise.all([...byBucket.values()].map(async (ids) => {
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hgetall(keys.attributes('item', id)).hgetall(keys.counters('item', id));
      const results = (await pipeline.exec()) ?? [];
      ids.forEach((id, i) => {
        const [aErr, attributes] = results[2 * i]!;
        const [cErr, counters] = results[2 * i + 1]!;
        if (aErr) throw aErr;
        if (cErr) throw cErr;
        out.set(id, { attributes: parseAttributes(attributes as Record<string, string>), counters: parseCounters(counters as Record<string, string>) });
      });
    }));
    // In the order asked for, as before buckets.
    return new Map(itemIds.map((id) => [id, out.get(id)!]));
  }
}
