import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ValidationError } from './errors.js';

/**
 * Where the services are. Every field comes from an environment variable with
 * a default pointing at the local services that `infra/scripts/services.sh up`
 * starts on 127.0.0.1; CLI flags override env where a command offers them.
 */
const port = (value: string | undefined, fallback: number) => (value === undefined || value === '' ? fallback : Number(value));

const optionalInt = (value: string | undefined) => (value === undefined || value === '' ? undefined : Number(value));

const ServicesConfigSchema = z.object({
  kafka: z.object({
    brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'host:port')).min(1),
    clientId: z.string().min(1),
    /** Replication of the topics `recsys` creates; undefined = the brokers' default. */
    replicationFactor: z.number().int().positive().optional(),
    /** `min.insync.replicas` of the topics `recsys` creates; undefined = the brokers' default. */
    minInsyncReplicas: z.number().int().positive().optional(),
  }),
  clickhouse: z.object({
    url: z.string().url(),
    database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an identifier'),
    username: z.string(),
    password: z.string(),
    requestTimeoutMs: z.number().int().positive(),
    /**
     * The remote_servers cluster of a sharded, replicated deployment
     * (CLICKHOUSE_CLUSTER, unset = one server). When set, `recsys migrate`
     * creates the cluster schema (infra/clickhouse/migrate.ts) and inserts
     * wait until each shard has its rows.
     */
    cluster: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a cluster name from remote_servers').optional(),
    /**
     * With a cluster: one HTTP URL per shard, any replica of it
     * (CLICKHOUSE_SHARD_URLS, comma-separated). Migrate runs each ALTER of a
     * replicated table there, once per shard (see infra/clickhouse/cluster-ddl.ts).
     */
    shardUrls: z.array(z.string().url()).min(1).optional(),
  }),
  redis: z.object({
    url: z.string().regex(/^rediss?:\/\//, 'a redis:// URL'),
    keyPrefix: z.string(),
    /** Seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES, comma-separated host:port); empty = the single Redis at `url`. */
    clusterNodes: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'host:port')),
  }),
});

export type ServicesConfig = z.infer<typeof ServicesConfigSchema>;

export function loadServicesConfig(env: NodeJS.ProcessEnv = process.env): ServicesConfig {
  const clusterNodes = (env.REDIS_CLUSTER_NODES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const raw = {
    kafka: {
      brokers: (env.KAFKA_BROKERS ?? `127.0.0.1:${port(env.KAFKA_PORT, 9092)}`).split(',').map((s) => s.trim()).filter(Boolean),
      clientId: env.KAFKA_CLIENT_ID ?? 'recsys',
      replicationFactor: optionalInt(env.KAFKA_REPLICATION_FACTOR),
      minInsyncReplicas: optionalInt(env.KAFKA_MIN_INSYNC_REPLICAS),
    },
    clickhouse: {
      url: env.CLICKHOUSE_URL ?? `http://127.0.0.1:${port(env.CLICKHOUSE_HTTP_PORT, 8123)}`,
      database: env.CLICKHOUSE_DATABASE ?? 'recsys',
      username: env.CLICKHOUSE_USER ?? 'default',
      password: env.CLICKHOUSE_PASSWORD ?? '',
      requestTimeoutMs: port(env.CLICKHOUSE_TIMEOUT_MS, 30_000),
      ...(env.CLICKHOUSE_CLUSTER ? { cluster: env.CLICKHOUSE_CLUSTER } : {}),
      ...(env.CLICKHOUSE_SHARD_URLS ? { shardUrls: env.CLICKHOUSE_SHARD_URLS.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
    },
    redis: {
      url: env.REDIS_URL ?? `redis://127.0.0.1:${port(env.REDIS_PORT, 6379)}`,
      // On a cluster the default prefix is hash-tagged: every key under it
      // shares one slot, so multi-key scripts and transactions work there.
      keyPrefix: env.REDIS_KEY_PREFIX ?? (clusterNodes.length > 0 ? '{recsys}:' : 'recsys:'),
      clusterNodes,
    },
  };
  return parseWith(ServicesConfigSchema, raw, 'invalid service configuration (check KAFKA_*, CLICKHOUSE_*, REDIS_* env vars)');
}

/** Validates external input once, turning zod's issues into one readable ValidationError. */
export function parseWith<S extends z.ZodTypeAny>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(what, formatIssues(result.error));
}

export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`);
}

/** Reads a JSON config file and validates it once; unreadable files and bad JSON are ValidationErrors too. */
export function loadJsonFile<S extends z.ZodTypeAny>(schema: S, file: string, what: string): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ValidationError(`cannot read ${what} ${file}: ${(error as Error).message}`);
  }
  return parseWith(schema, json, `invalid ${what} ${file}`);
}

/**
 * The model registry folder (the source of truth for published models):
 * RECSYS_REGISTRY, else `var/registry` under the working directory.
 */
export function defaultRegistryDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.RECSYS_REGISTRY ?? 'var/registry');
}
