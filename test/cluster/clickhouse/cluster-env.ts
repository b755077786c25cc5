import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadServicesConfig, type ServicesConfig } from '../../../infra/config.js';
import { createClickHouse } from '../../../infra/clickhouse/clickhouse-client.js';
import { migrateWith, type MigrateResult } from '../../../infra/clickhouse/migrate.js';
import { sqlIdentifier } from '../../../infra/clickhouse/escape.js';
import type { SqlClient } from '../../../infra/clickhouse/sql-client.js';
import { createKafka, ensureTopics } from '../../../infra/kafka/kafka-client.js';
import { createRedis } from '../../../infra/redis/redis-client.js';
import { randomName } from '../../helpers/names.js';
import { waitFor } from '../../helpers/wait-for.js';
import type { IngestEnv } from '../../integration/pipelines/ingest/ingest-env.js';
import { deleteKeys } from '../../helpers/delete-keys.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CLUSTER_SCRIPT = `${REPO}infra/scripts/services/cluster/clickhouse.sh`;

/**
 * The cluster topology that `bash infra/scripts/services.sh up --topology
 * cluster zookeeper clickhouse` starts (infra/scripts/services/cluster/):
 * node N on HTTP 18122+N; nodes 1, 2 are shard 1, nodes 3, 4 shard 2.
 */
export const CLUSTER = 'recsys_cluster';
export const NODES = [1, 2, 3, 4] as const;
export type NodeId = (typeof NODES)[number];
export const nodeUrl = (n: NodeId) => `http://127.0.0.1:${18122 + n}`;
export const shardOf = (n: NodeId) => (n <= 2 ? 1 : 2);
/** The node that the product's client talks to in these tests (never the one killed). */
export const ENTRY: NodeId = 1;

/** Fails with the command to run when the topology is not up: these tests need it. */
/** Fails unless every node answers: by answer, not by the topology script's pid files (it may have been started from another checkout). */
export async function requireCluster(): Promise<void> {
  for (const n of NODES) {
    const ok = await fetch(`${nodeUrl(n)}/ping`, { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false);
    if (!ok) throw new Error(`ClickHouse node ${n} (${nodeUrl(n)}) does not answer: start the cluster with bash infra/scripts/services.sh up --topology cluster`);
  }
}

export function clusterConfig(database: string, node: NodeId = ENTRY): ServicesConfig['clickhouse'] {
  // One server of each shard for the ALTERs of replicated tables: the sibling of the entry's shard's first, and shard 2's other.
  return { ...loadServicesConfig().clickhouse, url: nodeUrl(node), database, cluster: CLUSTER, shardUrls: [nodeUrl(2), nodeUrl(4)] };
}

/** A client of one node, in `database`. */
export function nodeClient(n: NodeId, database: string): SqlClient {
  return createClickHouse(clusterConfig(database, n));
}

/** As `recsys migrate` does with CLICKHOUSE_CLUSTER and CLICKHOUSE_SHARD_URLS set. */
export async function migrateCluster(database: string, node: NodeId = ENTRY): Promise<MigrateResult> {
  return migrateWith(clusterConfig(database, node));
}

export async function dropClusterDatabase(database: string): Promise<void> {
  const admin = createClickHouse(clusterConfig(database), { database: null });
  try {
    await admin.command(`DROP DATABASE IF EXISTS ${sqlIdentifier(database)} ON CLUSTER ${sqlIdentifier(CLUSTER)}`);
  } finally {
    await admin.close();
  }
}

/** Rows of a node's own replica of a table (`<table>_local`), after it has caught up with its shard's log. */
export async function localCount(n: NodeId, database: string, table: string, { sync = true, final = false } = {}): Promise<number> {
  const client = nodeClient(n, database);
  try {
    if (sync) await client.command(`SYSTEM SYNC REPLICA ${sqlIdentifier(`${table}_local`)}`);
    const [row] = await client.query<{ n: number }>(`SELECT count() AS n FROM ${sqlIdentifier(`${table}_local`)}${final ? ' FINAL' : ''}`);
    return Number(row!.n);
  } finally {
    await client.close();
  }
}

/**
 * Like test/integration's IngestEnv (fresh topics, Redis prefix, group), but
 * its ClickHouse database is migrated as the cluster schema and its client
 * talks to the entry node.
 */
export async function createClusterIngestEnv({ partitions = 4 }: { partitions?: number } = {}): Promise<IngestEnv> {
  const base = loadServicesConfig();
  const database = randomName('test_cluster');
  const services: ServicesConfig = {
    ...base,
    clickhouse: clusterConfig(database),
    redis: { ...base.redis, keyPrefix: `${randomName('test')}:` },
  };
  await migrateCluster(database);
  const db = createClickHouse(services.clickhouse);
  const kafka = createKafka(services.kafka);
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  const topic = randomName('test_cluster_events');
  const deadLetterTopic = `${topic}.dlq`;
  await ensureTopics(kafkaAdmin, [{ topic, numPartitions: partitions }, { topic: deadLetterTopic, numPartitions: 1 }]);
  const redis = createRedis(services.redis);
  const groupId = randomName('test_cluster_group');
  const prefix = services.redis.keyPrefix;
  return {
    services, database, topic, deadLetterTopic, groupId, prefix, kafka, admin: kafkaAdmin, db, redis,
    env: { ...process.env, CLICKHOUSE_URL: services.clickhouse.url, CLICKHOUSE_DATABASE: database, CLICKHOUSE_CLUSTER: CLUSTER },
    async cleanup() {
      await kafkaAdmin.deleteTopics({ topics: [topic, deadLetterTopic] }).catch(() => {});
      await kafkaAdmin.deleteGroups([groupId]).catch(() => {});
      await kafkaAdmin.disconnect();
      await deleteKeys(redis, `${prefix}*`);
      redis.disconnect();
      await db.close();
      // Said, not swallowed: a database left behind keeps its replicas' work on all four servers.
      await dropClusterDatabase(database).catch((error: unknown) => console.error(`cleanup: DROP DATABASE ${database} ON CLUSTER failed: ${String(error)}`));
    },
  };
}

function nodePid(n: NodeId): number {
  return Number(readFileSync(`${REPO}var/run/cluster-clickhouse-${n}.pid`, 'utf8').trim());
}

/** kill -9 of one server of the topology, by the pid its script recorded. */
export async function killNode(n: NodeId): Promise<void> {
  const pid = nodePid(n);
  process.kill(pid, 'SIGKILL');
  await waitFor(() => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, { timeoutMs: 10_000, what: `clickhouse node ${n} (pid ${pid}) to die` });
}

/** Starts whatever node of the topology is not running (the script leaves running ones alone). */
export async function restartNodes(): Promise<string> {
  const { stderr } = await run('bash', [CLUSTER_SCRIPT, 'up'], { timeout: 120_000 });
  return stderr;
}
