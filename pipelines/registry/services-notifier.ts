import { hostname } from 'node:os';
import type { ServicesConfig } from '../../infra/config.js';
import { createClickHouse } from '../../infra/clickhouse/clickhouse-client.js';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { errorMessage } from '../../infra/errors.js';
import { logger } from '../../infra/logger.js';
import { publishCounted } from '../../infra/redis/publish.js';
import { createRedis, type Redis } from '../../infra/redis/redis-client.js';
import type { NotifyOutcome, RegistryEvent, RegistryNotifier } from './registry-notifier.js';
import { REGISTRY_TABLE, registryEventRow } from './registry-table.js';

const log = logger('registry');

/** The Redis pub/sub channel serving subscribes to: RECSYS_MODELS_CHANNEL, default `recsys:models`. */
export function modelsChannel(env: NodeJS.ProcessEnv = process.env): string {
  return env.RECSYS_MODELS_CHANNEL || 'recsys:models';
}

export interface ServicesNotifierOptions {
  /** Redis pub/sub channel. @default modelsChannel() */
  channel?: string;
  /** ClickHouse table. @default 'model_registry' */
  table?: string;
  /** Longest wait on each service per event; an unreachable service costs at most this. @default 3000 */
  timeoutMs?: number;
  /** Clients to use instead of ones made from the config (null: leave that service out). Not closed by close(). */
  clickhouse?: SqlClient | null;
  redis?: Redis | null;
}

/** Connection failures: the service is not there, so the step is skipped rather than failed. */
const UNREACHABLE = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN|timed out|Timeout|Connection is closed|socket hang up/i;

/** The database or table does not exist yet. */
const MISSING_SCHEMA = /Code: (60|81)\b|UNKNOWN_TABLE|UNKNOWN_DATABASE|doesn't exist|does not exist/;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Records each registry event as a ClickHouse row and publishes it as JSON on
 * a Redis channel. A service that cannot be reached is skipped with a log
 * line; one that answers with an error (e.g. the table is missing: run
 * `recsys migrate`) is logged as failed. Neither throws: the folder change
 * has already happened and stands.
 */
export function createServicesNotifier(config: ServicesConfig, options: ServicesNotifierOptions = {}): RegistryNotifier {
  const { channel = modelsChannel(), table = REGISTRY_TABLE, timeoutMs = 3000 } = options;
  const host = hostname();
  const ownClickHouse = options.clickhouse === undefined;
  const ownRedis = options.redis === undefined;
  let clickhouse: SqlClient | null | undefined = options.clickhouse;
  let redis: Redis | null | undefined = options.redis;

  const getClickHouse = (): SqlClient => {
    if (clickhouse) return clickhouse;
    return (clickhouse = createClickHouse({ ...config.clickhouse, requestTimeoutMs: timeoutMs }));
  };
  const getRedis = (): Redis => {
    if (redis) return redis;
    const client = createRedis(config.redis, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableReadyCheck: false });
    // Connection errors surface as the failed publish below; without a listener ioredis would also print them.
    client.on('error', () => {});
    return (redis = client);
  };

  const attempt = async (sink: string, where: string, send: () => Promise<string>): Promise<NotifyOutcome> => {
    try {
      return { sink, status: 'sent', detail: await withTimeout(send(), timeoutMs, `${sink} ${where}`) };
    } catch (error) {
      const message = errorMessage(error).split('\n')[0]!.trim();
      if (UNREACHABLE.test(message)) {
        log.info({ sink, where, err: message }, `${sink} not reachable: registry event not sent there (the registry folder is the source of truth)`);
        return { sink, status: 'skipped', detail: `not reachable (${message})` };
      }
      const hint = sink === 'clickhouse' && MISSING_SCHEMA.test(message) ? ' (apply the migrations: recsys migrate)' : '';
      log.warn({ sink, where, err: message }, `${sink} refused the registry event${hint} (the folder change stands)`);
      return { sink, status: 'failed', detail: `${message}${hint}` };
    }
  };

  return {
    notify: async (event: RegistryEvent) => Promise.all([
      clickhouse === null
        ? { sink: 'clickhouse', status: 'skipped' as const, detail: 'not configured' }
        : attempt('clickhouse', `${config.clickhouse.database}.${table}`, async () => {
          await getClickHouse().insert(table, [registryEventRow(event, host)]);
          return `row in ${config.clickhouse.database}.${table}`;
        }),
      redis === null
        ? { sink: 'redis', status: 'skipped' as const, detail: 'not configured' }
        : attempt('redis', channel, async () => {
          const receivers = await publishCounted(getRedis(), channel, JSON.stringify(event));
          return `published on ${channel} (${receivers} subscriber${receivers === 1 ? '' : 's'})`;
        }),
    ]),
    close: async () => {
      if (ownClickHouse && clickhouse) await clickhouse.close().catch(() => {});
      if (ownRedis && redis) redis.disconnect();
    },
  };
}
