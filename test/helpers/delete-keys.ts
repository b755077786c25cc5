import type { Redis } from '../../infra/redis/redis-client.js';
import { scanKeys } from '../../infra/redis/scan-keys.js';

/** Deletes the keys matching `pattern` (on every primary of a cluster); never a flush of a shared server. */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  // One key per DEL: on a cluster, keys of different slots cannot share a command.
  for await (const keys of scanKeys(redis, pattern)) await Promise.all(keys.map((key) => redis.del(key)));
}
