import type { Admin, Kafka } from 'kafkajs';
import { loadServicesConfig, type ServicesConfig } from '../../../infra/config.js';
import { createClickHouse } from '../../../infra/clickhouse/clickhouse-client.js';
import { migrate } from '../../../infra/clickhouse/migrate.js';
import { sqlIdentifier } from '../../../infra/clickhouse/escape.js';
import type { SqlClient } from '../../../infra/clickhouse/sql-client.js';
import { createKafka, ensureTopics } from '../../../infra/kafka/kafka-client.js';
import { createRedis, type Redis } from '../../../infra/redis/redis-client.js';
import { deleteKeys } from '../../helpers/delete-keys.js';
import { randomName } from '../../helpers/names.js';
import { CLUSTER } from './topology.js';

/**
 * A private corner of the cluster topology for one test: fresh topics on the
 * 3-broker Kafka (replication 3, min ISR 2), a fresh hash-tagged key prefix
 * on Redis Cluster, a fresh database on ClickHouse (the single node unless
 * CLICKHOUSE_URL names another), a fresh group id; removed by cleanup().
 */
export interface ClusterIngestEnv {
  services: ServicesConfig;
  topic: string;
  groupId: string;
  prefix: string;
  kafka: Kafka;
  admin: Admin;
  db: SqlClient;
  redis: Redis;
  /** Env vars that point the CLI at this corner. */
  env: NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

export async function createClusterIngestEnv({ partitions = 6 } = {}): Promise<ClusterIngestEnv> {
  const database = randomName('test_cluster');
  const prefix = `{${randomName('test')}}:`;
  const topic = randomName('test_events');
  const groupId = randomName('test_group');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: CLUSTER.kafkaBrokers.join(','),
    KAFKA_REPLICATION_FACTOR: '3',
    KAFKA_MIN_INSYNC_REPLICAS: '2',
    REDIS_CLUSTER_NODES: CLUSTER.redisNodes.join(','),
    REDIS_KEY_PREFIX: prefix,
    CLICKHOUSE_DATABASE: database,
    KAFKA_EVENTS_TOPIC: topic,
    KAFKA_EVENTS_PARTITIONS: String(partitions),
    KAFKA_DEAD_LETTER_TOPIC: `${topic}.dlq`,
    INGEST_GROUP: groupId,
  };
  const services = loadServicesConfig(env);
  const chAdmin = createClickHouse(services.clickhouse, { database: null });
  const db = createClickHouse(services.clickhouse);
  await migrate({ admin: chAdmin, db }, database);
  await chAdmin.close();
  const kafka = createKafka(services.kafka);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, numPartitions: partitions }, { topic: `${topic}.dlq`, numPartitions: 1 }], services.kafka);
  const redis = createRedis(services.redis);
  return {
    services, topic, groupId, prefix, kafka, admin, db, redis, env,
    async cleanup() {
      await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => {});
      await admin.deleteGroups([groupId]).catch(() => {});
      await admin.disconnect();
      // The store's buckets have tags of their own (`{test_x.3}:`): the pattern covers them too.
      await deleteKeys(redis, `${prefix.slice(0, prefix.indexOf('}'))}*`);
      redis.disconnect();
      const dropper = createClickHouse(services.clickhouse, { database: null });
      await dropper.command(`DROP DATABASE IF EXISTS ${sqlIdentifier(database)}`).catch(() => {});
      await Promise.all([dropper.close(), db.close()]);
    },
  };
}
