import { z } from 'zod';
import type { Redis } from '../../infra/redis/redis-client.js';

/** The Redis pub/sub channel fold-in announces new vectors and catalog changes on: RECSYS_FOLD_IN_CHANNEL, default `recsys:fold-in`. */
export function foldInChannel(env: NodeJS.ProcessEnv = process.env): string {
  return env.RECSYS_FOLD_IN_CHANNEL || 'recsys:fold-in';
}

/** One announcement: vectors written for `version`, and catalog changes (for every version). */
const FoldInMessageSchema = z.object({
  model: z.string(),
  version: z.number().int().positive(),
  items: z.array(z.string()),
  removed: z.array(z.string()),
  restored: z.array(z.string()),
});
export type FoldInMessage = z.infer<typeof FoldInMessageSchema>;

/** A message from the channel, or undefined when it is not one (the channel is open to any Redis client). */
export function parseFoldInMessage(raw: string): FoldInMessage | undefined {
  try {
    const parsed = FoldInMessageSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fold-in state in Redis, per retrieval model: the users of each item the
 * model has no row for (sets: adding the same event twice changes nothing,
 * so a batch replayed after a crash is harmless), the vectors computed for
 * each model version, and the items taken out of the catalog. Every key of a
 * model shares one hash tag, so the multi-key steps stay on one Redis Cluster
 * slot.
 */
export class FoldInStore {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly channel: string) {}

  private key(model: string, part: string): string {
    return `${this.prefix}fold-in:{${model}}:${part}`;
  }

  async addInteractions(model: string, interactions: ReadonlyMap<string, ReadonlySet<string>>): Promise<void> {
    if (interactions.size === 0) return;
    const multi = this.redis.multi();
    for (const [item, users] of interactions) multi.sadd(this.key(model, `users:${item}`), ...users);
    multi.sadd(this.key(model, 'pending'), ...interactions.keys());
    checked(await multi.exec());
  }

  /** Items with recorded interactions that no model version had a row for when they were recorded. */
  pending(model: string): Promise<string[]> {
    return this.redis.smembers(this.key(model, 'pending'));
  }

  async usersOf(model: string, items: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (items.length === 0) return out;
    const multi = this.redis.multi();
    for (const item of items) multi.smembers(this.key(model, `users:${item}`));
    const results = checked(await multi.exec());
    items.forEach((item, k) => out.set(item, results[k] as string[]));
    return out;
  }

  /** Drops the interactions of items a newer version was trained on. */
  async forget(model: string, items: readonly string[]): Promise<void> {
    if (items.length === 0) return;
    const multi = this.redis.multi();
    for (const item of items) multi.del(this.key(model, `users:${item}`));
    multi.srem(this.key(model, 'pending'), ...items);
    checked(await multi.exec());
  }

  async writeVectors(model: string, version: number, vectors: ReadonlyMap<string, Float32Array>): Promise<void> {
    if (vectors.size === 0) return;
    const fields: (string | Buffer)[] = [];
    for (const [item, v] of vectors) fields.push(item, Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    await this.redis.hset(this.key(model, `v${version}`), ...fields);
  }

  /** The vectors of `version` (all, or the named items that have one). */
  async readVectors(model: string, version: number, items?: readonly string[]): Promise<Map<string, Float32Array>> {
    const key = this.key(model, `v${version}`);
    const out = new Map<string, Float32Array>();
    if (items) {
      if (items.length === 0) return out;
      const values = await this.redis.hmgetBuffer(key, ...items);
      items.forEach((item, k) => { const b = values[k]; if (b) out.set(item, toFloat32(b)); });
    } else {
      const all = await this.redis.hgetallBuffer(key);
      for (const [item, b] of Object.entries(all)) out.set(item, toFloat32(b));
    }
    return out;
  }

  /** The vectors of an older version are kept a while (a server may still be loading it), then expire. */
  async retire(model: string, version: number, seconds: number): Promise<void> {
    await this.redis.expire(this.key(model, `v${version}`), seconds);
  }

  async setCatalog(model: string, removed: ReadonlySet<string>, restored: ReadonlySet<string>): Promise<void> {
    if (removed.size === 0 && restored.size === 0) return;
    const multi = this.redis.multi();
    if (removed.size > 0) multi.sadd(this.key(model, 'removed'), ...removed);
    if (restored.size > 0) multi.srem(this.key(model, 'removed'), ...restored);
    checked(await multi.exec());
  }

  removed(model: string): Promise<string[]> {
    return this.redis.smembers(this.key(model, 'removed'));
  }

  async publish(message: FoldInMessage): Promise<void> {
    await this.redis.publish(this.channel, JSON.stringify(message));
  }
}

/** A transaction's results, or its first error thrown (ioredis reports them per command). */
function checked(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('the Redis transaction was aborted');
  for (const [error] of results) if (error) throw error;
  return results.map(([, value]) => value);
}

function toFloat32(bytes: Buffer): Float32Array {
  // A copy: the Buffer may be a view into a shared pool at an offset not aligned for Float32Array.
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
