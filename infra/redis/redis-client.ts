import { Cluster, Redis as SingleRedis, type RedisOptions } from 'ioredis';
import type { ServicesConfig } from '../config.js';
import { ValidationError } from '../errors.js';

/**
 * A client of either topology: one Redis server, or a Redis Cluster (when
 * REDIS_CLUSTER_NODES names its nodes). Code written against this type runs
 * unchanged on both as long as every multi-key command, transaction and Lua
 * script names keys of one hash slot, which `keyPrefix`'s hash tag ensures
 * for everything under it (see assertClusterPrefix).
 */
export type Redis = SingleRedis | Cluster;

/**
 * `maxRetriesPerRequest: null` is what BullMQ workers require (blocking
 * commands must wait out a reconnect rather than fail), and it is the right
 * default for stores that pause on an outage instead of dropping writes.
 * `overrides` apply to every node's connection on a cluster.
 */
export function createRedis(config: ServicesConfig['redis'], overrides: RedisOptions = {}): Redis {
  const options: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...overrides };
  if (config.clusterNodes.length === 0) return new SingleRedis(config.url, options);
  assertClusterPrefix(config.keyPrefix);
  const { enableOfflineQueue, lazyConnect, retryStrategy, ...redisOptions } = options;
  return new Cluster(config.clusterNodes.map(parseNode), {
    redisOptions,
    lazyConnect,
    enableOfflineQueue,
    // A failover moves slots for a few seconds: commands wait for the new
    // primary (MOVED/TRYAGAIN/CLUSTERDOWN are retried) instead of failing.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    maxRedirections: 32,
    // A caller that gives up on a dead server at once gives up on a dead cluster at once too.
    ...('retryStrategy' in overrides ? { clusterRetryStrategy: (times: number) => retryStrategy?.(times) ?? null } : {}),
  });
}

/** True for a client of a Redis Cluster. */
export function isCluster(redis: Redis): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/**
 * On a cluster the online store's Lua script, its transactions and BullMQ's
 * scripts each touch many keys, which must hash to one slot: the prefix must
 * carry a hash tag (`{recsys}:`), as BullMQ's own cluster convention asks.
 */
export function assertClusterPrefix(prefix: string): void {
  if (!/\{[^}]+\}/.test(prefix)) {
    throw new ValidationError(`REDIS_KEY_PREFIX '${prefix}' has no hash tag: on a Redis Cluster (REDIS_CLUSTER_NODES) use one such as '{recsys}:' so that each multi-key operation stays on one slot`);
  }
}

function parseNode(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(':');
  return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
}
