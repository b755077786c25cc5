import { Kafka, logLevel, type Admin, type ITopicConfig, type KafkaConfig, type LogEntry } from 'kafkajs';
import { loadServicesConfig, type ServicesConfig } from '../config.js';
import { RecsysError, errorMessage } from '../errors.js';
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

/** Where Kafka is: the part of the services' config every client needs. */
export type KafkaEndpoint = Pick<ServicesConfig['kafka'], 'brokers' | 'clientId'>;

export function createKafka(config: KafkaEndpoint, overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
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
  if (missing.length > 0) {
    await admin.createTopics({ topics: missing, waitForLeaders: false });
    await waitForLeaders(admin, missing.map((t) => t.topic));
  }
  return missing.map((t) => t.topic);
}

/**
 * Waits until every partition of `topics` has a leader. kafkajs's own wait
 * (createTopics' waitForLeaders) gives up when a broker the controller has
 * not told about the topic yet answers UNKNOWN_TOPIC_OR_PARTITION, which on
 * a several-broker cluster happens right after a create; here that answer
 * just means "not yet".
 */
export async function waitForLeaders(admin: Admin, topics: readonly string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  // Each answer comes from a broker kafkajs picks: several in a row make it
  // likely that every broker knows the topic, not just the first one asked.
  let inARow = 0;
  for (let delay = 50; Date.now() < deadline; delay = Math.min(1000, delay * 2)) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
      if (metadata.length === topics.length && metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) {
        if (++inARow >= 3) return;
        delay = 25;
        continue;
      }
      inARow = 0;
      last = 'partitions without a leader';
    } catch (error) {
      if (!isNotYetKnown(error)) throw error;
      inARow = 0;
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  throw new RecsysError(`Kafka topics ${topics.join(', ')} have no leader for every partition after ${timeoutMs} ms: ${errorMessage(last)}`, { retriable: true });
}

function isNotYetKnown(error: unknown): boolean {
  const type = (error as { type?: unknown } | null)?.type;
  return type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'LEADER_NOT_AVAILABLE';
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
