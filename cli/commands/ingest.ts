import type { Command } from 'commander';
import { loadServicesConfig, type ServicesConfig } from '../../infra/config.js';
import { createClickHouse } from '../../infra/clickhouse/clickhouse-client.js';
import { migrateWith } from '../../infra/clickhouse/migrate.js';
import { sqlString } from '../../infra/clickhouse/escape.js';
import { SetupError, ValidationError, errorMessage } from '../../infra/errors.js';
import { nonNegative, positiveInt, timestamp } from '../options.js';
import { deadLetterTopicOptions, eventsTopicOptions } from '../kafka-options.js';
import type { Kafka } from 'kafkajs';
import { isRecoverableKafkaError } from '../../infra/kafka/consumer-lifecycle.js';
import { createKafka } from '../../infra/kafka/kafka-client.js';
import { retry } from '../../infra/retry.js';
import { createRedis } from '../../infra/redis/redis-client.js';
import { logger } from '../../infra/logger.js';
import { onShutdown } from '../../infra/shutdown.js';
import { loadFeatureSpec } from '../../features/spec/feature-spec.js';
import { onlineSpecFrom } from '../../pipelines/online-store/online-ops.js';
import { eventsKind } from '../../pipelines/ingest/events-kind.js';
import { IngestConsumer } from '../../pipelines/ingest/ingest-consumer.js';
import { loadIngestSettings } from '../../pipelines/ingest/ingest-config.js';
import { IngestMetrics } from '../../pipelines/ingest/ingest-metrics.js';
import { rebuildOnlineStore } from '../../pipelines/ingest/rebuild-online-store.js';
import { OFFLINE_TABLES } from '../../pipelines/ingest/offline-rows.js';
import { decisionsTopicBindings } from '../../pipelines/decisions/decisions-kind.js';
import { IngestProgress, sampleIngestMetrics } from '../output/ingest-progress.js';

/** Starts of the consumer tried again while Kafka answers with errors kafkajs calls retriable. */
const START_RETRIES = 4;

const log = logger('ingest');

export interface ServiceFlags {
  brokers?: string;
  clickhouseUrl?: string;
  database?: string;
  redisUrl?: string;
  redisPrefix?: string;
}

/** Service flags over env (KAFKA_BROKERS, CLICKHOUSE_URL, CLICKHOUSE_DATABASE, REDIS_URL, REDIS_KEY_PREFIX). */
export function servicesFromFlags(opts: ServiceFlags): ServicesConfig {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (opts.brokers) env.KAFKA_BROKERS = opts.brokers;
  if (opts.clickhouseUrl) env.CLICKHOUSE_URL = opts.clickhouseUrl;
  if (opts.database) env.CLICKHOUSE_DATABASE = opts.database;
  if (opts.redisUrl) env.REDIS_URL = opts.redisUrl;
  if (opts.redisPrefix !== undefined) env.REDIS_KEY_PREFIX = opts.redisPrefix;
  return loadServicesConfig(env);
}

interface IngestFlags extends ServiceFlags {
  group?: string;
  topic?: string;
  partitions?: number;
  deadLetterTopic?: string;
  deadLetterPartitions?: number;
  features?: string;
  maxBatch: number;
  maxBatchBytes: number;
  chunkSize: number;
  lingerMs: number;
  flushesInFlight: number;
  metricsPort?: number;
  dedupeWindow?: number;
  onlineStoreBuckets?: number;
  fromBeginning: boolean;
  migrate: boolean;
  rebuildOnlineStore: boolean;
  from?: number;
}

export function registerIngest(program: Command): void {
  const command = program
    .command('ingest')
    .description('consume events from Kafka into ClickHouse (offline store) and Redis (online store), exactly once in effect; runs until SIGTERM/SIGINT. Progress on stderr (a status line on a terminal: events/s, stored, dead-lettered, lag, "caught up"; structured log lines otherwise), and at exit a summary as one JSON line on stdout (stored, dead_lettered, seconds, messages by partition)')
    .option('--group <id>', 'consumer group; processes in one group share partitions (env INGEST_GROUP, default recsys-ingest)');
  eventsTopicOptions(command);
  deadLetterTopicOptions(command)
    .option('--features <file>', 'feature spec whose behaviour sequence the online store keeps (env INGEST_FEATURES, default configs/features/synthetic.json)')
    .option('--max-batch <n>', 'messages per flush to the stores', positiveInt('max-batch'), 20_000)
    .option('--max-batch-bytes <n>', 'message bytes per flush to the stores (bounds insert size and memory)', positiveInt('max-batch-bytes'), 16 * 1024 * 1024)
    .option('--chunk-size <n>', 'events per atomic Redis script call', positiveInt('chunk-size'), 1000)
    .option('--linger-ms <ms>', 'wait this long for more messages before a flush that is not full', nonNegative('linger-ms'), 0)
    .option('--flushes-in-flight <n>', 'flushes written at once (offsets still committed in order, each after both stores)', positiveInt('flushes-in-flight'), 3)
    .option('--metrics-port <port>', 'serve Prometheus metrics on 127.0.0.1:<port>/metrics (env INGEST_METRICS_PORT; 0 = any free port)', nonNegative('metrics-port'))
    .option('--dedupe-window <offsets>', 'offsets per partition within which an event id seen again (a producer retry) counts once in the online store; 0 = off (env INGEST_DEDUPE_WINDOW, default 20000)', nonNegative('dedupe-window'))
    .option('--online-store-buckets <n>', 'buckets of the online store, each under a hash tag of its own so a Redis Cluster spreads the store over its primaries; a store keeps the layout it was created with (env ONLINE_STORE_BUCKETS; default: the store\'s own, 1 for a new store; with --rebuild-online-store: the layout to rebuild in)', positiveInt('online-store-buckets'))
    .option('--no-from-beginning', 'a new consumer group starts at the end of the topic instead of its beginning')
    .option('--migrate', 'apply pending ClickHouse migrations before consuming', false)
    .option('--rebuild-online-store', 'instead of consuming: refill the online store (Redis) from ClickHouse, the source of truth, and set its watermarks, then exit (after ingest_online_store_behind reported a loss; run with ingestion stopped)', false)
    .option('--from <time>', 'with --rebuild-online-store: only events from this time on (epoch ms or ISO 8601) count; attributes as of then', timestamp('from'))
    .option('--clickhouse-url <url>', 'ClickHouse HTTP URL (env CLICKHOUSE_URL)')
    .option('--database <name>', 'ClickHouse database (env CLICKHOUSE_DATABASE)')
    .option('--redis-url <url>', 'Redis URL (env REDIS_URL)')
    .option('--redis-prefix <prefix>', 'key prefix of the online store (env REDIS_KEY_PREFIX, default recsys:)')
    .action(async (opts: IngestFlags) => {
      if (opts.from !== undefined && !opts.rebuildOnlineStore) throw new ValidationError('--from goes with --rebuild-online-store');
      const services = servicesFromFlags(opts);
      const settings = loadIngestSettings(process.env, {
        groupId: opts.group, eventsTopic: opts.topic, eventsPartitions: opts.partitions, deadLetterTopic: opts.deadLetterTopic, deadLetterPartitions: opts.deadLetterPartitions,
        featuresFile: opts.features, metricsPort: opts.metricsPort, dedupeWindow: opts.dedupeWindow, onlineStoreBuckets: opts.onlineStoreBuckets,
      });
      const spec = onlineSpecFrom(loadFeatureSpec(settings.featuresFile));
      const clickhouse = createClickHouse(services.clickhouse);
      onShutdown('clickhouse', () => clickhouse.close());
      if (opts.migrate) {
        const result = await migrateWith(services.clickhouse);
        log.info({ applied: result.applied.map((m) => m.version) }, 'migrations');
      }
      await checkTables(clickhouse, services.clickhouse.database);
      const redis = createRedis(services.redis, { maxRetriesPerRequest: 3 });
      onShutdown('redis', () => redis.quit());
      if (opts.rebuildOnlineStore) {
        const kafka = createKafka(services.kafka);
        await refuseWhileConsuming(kafka, settings.groupId);
        const result = await rebuildOnlineStore({
          clickhouse, redis, prefix: services.redis.keyPrefix, spec, topic: settings.eventsTopic, chunkSize: opts.chunkSize,
          ...(settings.onlineStoreBuckets === undefined ? {} : { buckets: settings.onlineStoreBuckets }),
          ...(opts.from === undefined ? {} : { from: opts.from }),
        });
        console.log(JSON.stringify({ rebuilt: { events: result.events, deletedKeys: result.deletedKeys, buckets: result.buckets, watermarks: Object.fromEntries(result.watermarks) } }));
        return;
      }

      const metrics = new IngestMetrics().withProcessMetrics();
      if (settings.metricsPort !== undefined) {
        const { server, port } = await metrics.serve(settings.metricsPort);
        onShutdown('metrics', () => new Promise((resolve) => server.close(resolve)));
        console.error(`metrics on http://127.0.0.1:${port}/metrics`);
      }
      const progress = new IngestProgress({
        interactive: process.stderr.isTTY === true,
        write: (text) => process.stderr.write(text),
        log: (fields, message) => log.info(fields, message),
      });
      // Started again on a Kafka error kafkajs calls retriable: a broker that has not learned a new topic yet
      // answered "does not host this topic-partition" once in the cluster test, and the process exited.
      const start = () => IngestConsumer.start({
          kafka: services.kafka,
          groupId: settings.groupId,
          topics: [{ topic: settings.eventsTopic, kind: eventsKind(spec), partitions: settings.eventsPartitions }, ...decisionsTopicBindings()],
          deadLetterTopic: settings.deadLetterTopic,
          deadLetterPartitions: settings.deadLetterPartitions,
          clickhouse,
          redis,
          redisPrefix: services.redis.keyPrefix,
          maxHistory: spec.behaviour.maxLength,
          dedupeWindow: settings.dedupeWindow,
          ...(settings.onlineStoreBuckets === undefined ? {} : { onlineStoreBuckets: settings.onlineStoreBuckets }),
          fromBeginning: opts.fromBeginning,
          pipeline: { maxFlushMessages: opts.maxBatch, maxFlushBytes: opts.maxBatchBytes, chunkSize: opts.chunkSize, lingerMs: opts.lingerMs, maxFlushesInFlight: opts.flushesInFlight },
          metrics,
          onFlushed: (info) => progress.flushed(info),
        });
      const consumer = await retry(start, {
        // Explicit delays (0.5, 1, 2, 2 s): a broker learns a new topic in seconds, also under NODE_ENV=test's short defaults.
        retries: START_RETRIES, initialDelayMs: 500, maxDelayMs: 2000, factor: 2, retriable: isRecoverableKafkaError,
        onRetry: (error, attempt, delayMs) => log.warn({ err: errorMessage(error), attempt, delayMs }, 'Kafka is not ready for this consumer yet: starting again'),
      });
      const sampling = setInterval(() => void sampleIngestMetrics(metrics).then((s) => progress.sample(s)), 1000);
      sampling.unref();
      // Registered before the consumer, so it closes after it: the summary counts the final flushes.
      onShutdown('ingest-summary', () => {
        clearInterval(sampling);
        console.log(JSON.stringify({ ingest: progress.finish() }));
      });
      onShutdown('ingest', () => consumer.stop());
      console.error(`ingesting ${settings.eventsTopic} as group ${settings.groupId} into ClickHouse ${services.clickhouse.database} and Redis ${services.redis.keyPrefix}* (SIGTERM to stop)`);
      await consumer.done;
    });
}

async function checkTables(clickhouse: ReturnType<typeof createClickHouse>, database: string): Promise<void> {
  const wanted = Object.values(OFFLINE_TABLES);
  const rows = await clickhouse.query<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = ${sqlString(database)} AND name IN (${wanted.map(sqlString).join(', ')})`,
  );
  const missing = wanted.filter((t) => !rows.some((r) => r.name === t));
  if (missing.length > 0) throw new SetupError(`ClickHouse database ${database} lacks ${missing.join(', ')}: run \`recsys migrate\` (or ingest --migrate)`);
}

/** A rebuild under a running consumer would race its writes: refuse while the group has members. */
async function refuseWhileConsuming(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const members = groups[0]?.members.length ?? 0;
    if (members > 0) throw new SetupError(`consumer group ${groupId} has ${members} running member(s): stop \`recsys ingest\` before --rebuild-online-store`);
  } finally {
    await admin.disconnect();
  }
}
