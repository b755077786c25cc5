import type { Admin, Kafka } from 'kafkajs';
import { loadServicesConfig, type ServicesConfig } from '../../../../infra/config.js';
import { createClickHouse } from '../../../../infra/clickhouse/clickhouse-client.js';
import { migrate } from '../../../../infra/clickhouse/migrate.js';
import { sqlIdentifier } from '../../../../infra/clickhouse/escape.js';
import type { SqlClient } from '../../../../infra/clickhouse/sql-client.js';
import { createKafka, ensureTopics } from '../../../../infra/kafka/kafka-client.js';
import { createRedis, type Redis } from '../../../../infra/redis/redis-client.js';
import { randomName } from '../../../helpers/names.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { deleteKeys } from '../../../helpers/delete-keys.js';

/**
 * A private corner of the shared services for one test: a fresh ClickHouse
 * database (migrated), fresh topics, a fresh Redis key prefix and group id;
 * all removed by cleanup().
 */
export interface IngestEnv {
  services: ServicesConfig;
  database: string;
  topic: string;
  deadLetterTopic: string;
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

export async function createIngestEnv({ partitions = 4, clickhouseUrl, redisUrl }: { partitions?: number; clickhouseUrl?: string; redisUrl?: string } = {}): Promise<IngestEnv> {
  const base = loadServicesConfig();
  const database = randomName('test_ingest');
  const services: ServicesConfig = {
    ...base,
    clickhouse: { ...base.clickhouse, database, ...(clickhouseUrl ? { url: clickhouseUrl } : {}) },
    redis: { ...base.redis, keyPrefix: `${randomName('test')}:`, ...(redisUrl ? { url: redisUrl } : {}) },
  };
  const admin = createClickHouse(services.clickhouse, { database: null });
  const db = createClickHouse(services.clickhouse);
  await migrate({ admin, db }, database);
  await admin.close();
  const kafka = createKafka(services.kafka);
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  const topic = randomName('test_events');
  const deadLetterTopic = `${topic}.dlq`;
  await ensureTopics(kafkaAdmin, [{ topic, numPartitions: partitions }, { topic: deadLetterTopic, numPartitions: 1 }]);
  const redis = createRedis(services.redis);
  const groupId = randomName('test_ingest_group');
  const prefix = services.redis.keyPrefix;
  return {
    services, database, topic, deadLetterTopic, groupId, prefix, kafka, admin: kafkaAdmin, db, redis,
    env: {
      ...process.env,
      KAFKA_BROKERS: services.kafka.brokers.join(','),
      CLICKHOUSE_URL: services.clickhouse.url,
      CLICKHOUSE_DATABASE: database,
      REDIS_URL: services.redis.url,
      REDIS_KEY_PREFIX: prefix,
      KAFKA_EVENTS_TOPIC: topic,
      KAFKA_EVENTS_PARTITIONS: String(partitions),
      KAFKA_DEAD_LETTER_TOPIC: deadLetterTopic,
      INGEST_GROUP: groupId,
    },
    async cleanup() {
      await kafkaAdmin.deleteTopics({ topics: [topic, deadLetterTopic] }).catch(() => {});
      await kafkaAdmin.deleteGroups([groupId]).catch(() => {});
      await kafkaAdmin.disconnect();
      await deleteKeys(redis, `${prefix}*`);
      redis.disconnect();
      const dropper = createClickHouse({ ...services.clickhouse }, { database: null });
      await dropper.command(`DROP DATABASE IF EXISTS ${sqlIdentifier(database)}`).catch(() => {});
      await Promise.all([dropper.close(), db.close()]);
    },
  };
}

/** Committed offset per partition of `topic` for `groupId` (-1 where none). */
export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((result?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
}

/** End offset per partition. */
export async function endOffsets(admin: Admin, topic: string): Promise<Map<number, number>> {
  return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
}

/** Waits until the group has committed every message of the topic. */
export async function waitForDrained(admin: Admin, groupId: string, topic: string, timeoutMs = 60_000): Promise<void> {
  // Asked until answered: just after a broker's restart a partition can be between leaders.
  const ends = await waitFor(() => endOffsets(admin, topic), { timeoutMs, intervalMs: 200, what: `the end offsets of ${topic}` });
  await waitFor(async () => {
    const committed = await committedOffsets(admin, groupId, topic);
    return [...ends].every(([p, end]) => end === 0 || committed.get(p) === end);
  }, { timeoutMs, intervalMs: 200, what: `group ${groupId} to commit all of ${topic}` });
}
