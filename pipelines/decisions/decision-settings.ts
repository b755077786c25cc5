import { z } from 'zod';
import { parseWith } from '../../infra/config.js';

/** Where decision records go: KAFKA_DECISIONS_TOPIC (default `recsys.decisions`), KAFKA_DECISIONS_PARTITIONS (default 4). */
export const DecisionSettingsSchema = z.object({
  decisionsTopic: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name (letters, digits, . _ -)'),
  decisionsPartitions: z.number().int().min(1).max(1024),
});
export type DecisionSettings = z.infer<typeof DecisionSettingsSchema>;

export function loadDecisionSettings(env: NodeJS.ProcessEnv = process.env, overrides: Partial<DecisionSettings> = {}): DecisionSettings {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const partitions = env.KAFKA_DECISIONS_PARTITIONS;
  return parseWith(
    DecisionSettingsSchema,
    {
      decisionsTopic: env.KAFKA_DECISIONS_TOPIC || 'recsys.decisions',
      decisionsPartitions: partitions === undefined || partitions === '' ? 4 : Number(partitions),
      ...defined,
    },
    'invalid decision-record settings (check KAFKA_DECISIONS_TOPIC, KAFKA_DECISIONS_PARTITIONS)',
  );
}
