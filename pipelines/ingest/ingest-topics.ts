import type { Admin } from 'kafkajs';
import { ensureTopics, topicPartitionCounts } from '../../infra/kafka/kafka-client.js';
import type { IngestSettings } from './ingest-config.js';

/** What `recsys migrate` found or did for one Kafka topic of ingestion. */
export interface TopicStatus {
  topic: string;
  /** Partitions the settings ask for. */
  configured: number;
  /** Partitions the topic has now. */
  partitions: number;
  created: boolean;
}

/** The topics ingestion needs: the events topic and the dead-letter topic, with their configured partition counts. */
export function ingestTopics(settings: Pick<IngestSettings, 'eventsTopic' | 'eventsPartitions' | 'deadLetterTopic' | 'deadLetterPartitions'>): { topic: string; numPartitions: number }[] {
  return [
    { topic: settings.eventsTopic, numPartitions: settings.eventsPartitions },
    { topic: settings.deadLetterTopic, numPartitions: settings.deadLetterPartitions },
  ];
}

/**
 * Creates the missing ingestion topics (idempotent). An existing topic is
 * left as it is, even with another partition count: adding partitions would
 * move keys (users) to other partitions and break their order, so that is
 * reported (`partitions` ≠ `configured`) for an operator to decide.
 */
export async function ensureIngestTopics(admin: Admin, settings: Parameters<typeof ingestTopics>[0]): Promise<TopicStatus[]> {
  const wanted = ingestTopics(settings);
  const created = new Set(await ensureTopics(admin, wanted));
  const counts = await topicPartitionCounts(admin, wanted.map((t) => t.topic));
  return wanted.map((t) => ({ topic: t.topic, configured: t.numPartitions, partitions: counts.get(t.topic) ?? 0, created: created.has(t.topic) }));
}
