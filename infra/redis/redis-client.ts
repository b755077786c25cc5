import { Redis, type RedisOptions } from 'ioredis';
import type { ServicesConfig } from '../config.js';

export type { Redis };

/**
 * `maxRetriesPerRequest: null` is what BullMQ workers require (blocking
 * commands must wait out a reconnect rather than fail), and it is the right
 * default for stores that pause on an outage instead of dropping writes.
 */
export function createRedis(config: ServicesConfig['redis'], overrides: RedisOptions = {}): Redis {
  return new Redis(config.url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...overrides });
}
