import type { ServicesConfig } from './config.js';
import { createKafka } from './kafka/kafka-client.js';
import { createClickHouse } from './clickhouse/clickhouse-client.js';
import { createRedis } from './redis/redis-client.js';
import { errorMessage } from './errors.js';

export interface HealthReport {
  name: string;
  ok: boolean;
  detail: string;
  ms: number;
}

/** A service that accepts connections but never answers (paused, wedged, something else on its port) must not hold the report. */
const CHECK_DEADLINE_MS = 10_000;

async function timed(name: string, check: () => Promise<string>): Promise<HealthReport> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_DEADLINE_MS / 1000} s`)), CHECK_DEADLINE_MS);
  });
  try {
    const detail = await Promise.race([check(), deadline]);
    return { name, ok: true, detail, ms: Math.round(performance.now() - start) };
  } catch (error) {
    return { name, ok: false, detail: errorMessage(error), ms: Math.round(performance.now() - start) };
  } finally {
    clearTimeout(timer);
  }
}

/** Reaches each service with a real request (not just an open port). */
export function checkServices(config: ServicesConfig): Promise<HealthReport[]> {
  return Promise.all([
    timed('kafka', async () => {
      const admin = createKafka(config.kafka, { retry: { retries: 1 }, connectionTimeout: 2000, requestTimeout: 3000, authenticationTimeout: 3000 }).admin();
      await admin.connect();
      try {
        const cluster = await admin.describeCluster();
        return `${config.kafka.brokers.join(',')} (${cluster.brokers.length} broker, controller ${cluster.controller})`;
      } finally {
        await admin.disconnect();
      }
    }),
    timed('clickhouse', async () => {
      const ch = createClickHouse({ ...config.clickhouse, requestTimeoutMs: 3000 }, { database: null });
      try {
        const [row] = await ch.query<{ v: string }>('SELECT version() AS v');
        return `${config.clickhouse.url} (server ${row?.v})`;
      } finally {
        await ch.close();
      }
    }),
    timed('redis', async () => {
      const redis = createRedis(config.redis, { maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 2000, commandTimeout: 3000 });
      // Without a listener ioredis prints connection errors as unhandled; the
      // first one says why better than the command's "Connection is closed".
      let connectError: Error | undefined;
      redis.on('error', (error: Error) => { connectError ??= error; });
      try {
        const info = await redis.info('server');
        return `${config.redis.url} (redis ${/redis_version:(\S+)/.exec(info)?.[1]})`;
      } catch (error) {
        throw connectError ?? error;
      } finally {
        redis.disconnect();
      }
    }),
  ]);
}
