import type { Admin } from 'kafkajs';
import { ensureTopics, topicPartitionCounts } from '../../infra/kafka/kafka-client.js';
import { loadDecisionSettings } from './decision-settings.js';

/** Creates the decisions topic when missing (idempotent), for `recsys migrate`; returns a line saying what it found or did. */
export async function ensureDecisionTopic(admin: Admin, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { decisionsTopic: topic, decisionsPartitions: partitions } = loadDecisionSettings(env);
  const created = await ensureTopics(admin, [{ topic, numPartitions: partitions }]);
  const count = (await topicPartitionCounts(admin, [topic])).get(topic) ?? 0;
  return `kafka topic ${topic}: ${created.includes(topic) ? 'created' : 'exists'} with ${count} partitions`;
}
