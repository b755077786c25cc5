import { Kafka, logLevel, type Admin, type ITopicConfig, type KafkaConfig, type LogEntry } from 'kafkajs';
import { loadServicesConfig, type ServicesConfig } from '../config.js';
import { logger } from '../logger.js';

const log = logger('kafka');

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs logs through our structured logger instead of its own console format. */
function logCreator() {
  return ({ namespace, level, log: entry }: LogEntry) => {
    const { message, ...rest } = entry;
    log[LEVELS[level] ?? 'info']({ namespace, ...rest }, message);
  };
}

export function createKafka(config: ServicesConfig['kafka'], overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    logLevel: logLevel.WARN,
    logCreator,
    retry: { initialRetryTime: 100, retries: 8 },
    ...overrides,
  });
}

/** How the topics `recsys` creates are replicated; a field left out = the brokers' default. */
export type TopicReplication = Pick<ServicesConfig['kafka'], 'replicationFactor' | 'minInsyncReplicas'>;

/**
 * Creates the topics that do not exist yet; existing ones are left as they
 * are. `replication` (default: KAFKA_REPLICATION_FACTOR and
 * KAFKA_MIN_INSYNC_REPLICAS) applies where a topic does not set its own.
 */
export async function ensureTopics(admin: Admin, topics: readonly ITopicConfig[], replication: TopicReplication = loadServicesConfig().kafka): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic)).map((t) => withReplication(t, replication));
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
  return missing.map((t) => t.topic);
}

function withReplication(topic: ITopicConfig, { replicationFactor, minInsyncReplicas }: TopicReplication): ITopicConfig {
  const entries = topic.configEntries ?? [];
  const hasMinIsr = entries.some((e) => e.name === 'min.insync.replicas');
  return {
    ...topic,
    ...(topic.replicationFactor === undefined && replicationFactor !== undefined ? { replicationFactor } : {}),
    ...(!hasMinIsr && minInsyncReplicas !== undefined ? { configEntries: [...entries, { name: 'min.insync.replicas', value: String(minInsyncReplicas) }] } : {}),
  };
}

/** Partition count of each topic that exists (topics missing from the cluster are left out). */
export async function topicPartitionCounts(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  const existing = new Set(await admin.listTopics());
  const present = topics.filter((t) => existing.has(t));
  if (present.length === 0) return new Map();
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics: present });
  return new Map(metadata.map((t) => [t.name, t.partitions.length]));
}
