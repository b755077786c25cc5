import { isCluster, type Redis } from './redis-client.js';

/**
 * The keys matching `pattern`, in batches, from every primary: on a Redis
 * Cluster a SCAN only covers the node it is sent to (ioredis picks one), so
 * each primary is scanned in turn.
 */
export async function* scanKeys(redis: Redis, pattern: string, count = 1000): AsyncGenerator<string[]> {
  const nodes = isCluster(redis) ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}
