import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseWith } from '../../infra/config.js';
import { MAX_BUCKETS } from '../online-store/redis-keys.js';

/**
 * Ingestion's own settings, from environment variables (CLI flags override):
 * KAFKA_EVENTS_TOPIC, KAFKA_EVENTS_PARTITIONS, KAFKA_DEAD_LETTER_TOPIC,
 * KAFKA_DEAD_LETTER_PARTITIONS, INGEST_GROUP, INGEST_FEATURES, INGEST_METRICS_PORT,
 * INGEST_DEDUPE_WINDOW, ONLINE_STORE_BUCKETS.
 */
export const DEFAULT_FEATURES_FILE = fileURLToPath(new URL('../../configs/features/synthetic.json', import.meta.url));

/**
 * Offsets per partition whose event ids the online store keeps to count an
 * event produced twice once (a producer retrying a write the broker had
 * taken: kafkajs did so when a broker was killed). ClickHouse needs no
 * window: it keeps one row per event id whatever the distance.
 */
export const DEFAULT_DEDUPE_WINDOW = 20_000;

const TopicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name (letters, digits, . _ -)');

export const IngestSettingsSchema = z.object({
  eventsTopic: TopicName,
  eventsPartitions: z.number().int().min(1).max(1024),
  deadLetterTopic: TopicName,
  deadLetterPartitions: z.number().int().min(1).max(1024),
  groupId: z.string().min(1),
  featuresFile: z.string().min(1),
  metricsPort: z.number().int().min(0).max(65535).optional(),
  dedupeWindow: z.number().int().min(0),
  /** Buckets of the online store: each has a hash tag of its own, so on a Redis Cluster the store spreads over the primaries. Unset: the store's own (1 for a new store). */
  onlineStoreBuckets: z.number().int().min(1).max(MAX_BUCKETS).optional(),
});

export type IngestSettings = z.infer<typeof IngestSettingsSchema>;

const num = (value: string | undefined): number | undefined => (value === undefined || value === '' ? undefined : Number(value));

export function loadIngestSettings(env: NodeJS.ProcessEnv = process.env, overrides: Partial<IngestSettings> = {}): IngestSettings {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return parseWith(
    IngestSettingsSchema,
    {
      eventsTopic: env.KAFKA_EVENTS_TOPIC ?? 'recsys.events',
      eventsPartitions: num(env.KAFKA_EVENTS_PARTITIONS) ?? 4,
      deadLetterTopic: env.KAFKA_DEAD_LETTER_TOPIC ?? 'recsys.dead-letters',
      deadLetterPartitions: num(env.KAFKA_DEAD_LETTER_PARTITIONS) ?? 1,
      groupId: env.INGEST_GROUP ?? 'recsys-ingest',
      featuresFile: env.INGEST_FEATURES ?? DEFAULT_FEATURES_FILE,
      metricsPort: num(env.INGEST_METRICS_PORT),
      dedupeWindow: num(env.INGEST_DEDUPE_WINDOW) ?? DEFAULT_DEDUPE_WINDOW,
      onlineStoreBuckets: num(env.ONLINE_STORE_BUCKETS),
      ...defined,
    },
    'invalid ingestion settings (check KAFKA_EVENTS_*, KAFKA_DEAD_LETTER_*, INGEST_* env vars and flags)',
  );
}
