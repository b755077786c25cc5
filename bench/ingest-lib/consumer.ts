// A consumer process of bench/ingest.ts (one of --consumers, in one group):
// `recsys ingest` in library form, reporting once a second on stdout (JSON
// lines): messages flushed, RSS, and the freshness (event time → visible in
// Redis) of live events, i.e. those stamped after this process started; on
// SIGTERM, once stopped, every freshness sample (the bench merges them across consumers).
import { loadServicesConfig } from '../../infra/config.js';
import { createClickHouse } from '../../infra/clickhouse/clickhouse-client.js';
import { createRedis } from '../../infra/redis/redis-client.js';
import { loadFeatureSpec } from '../../features/spec/feature-spec.js';
import { eventsKind } from '../../pipelines/ingest/events-kind.js';
import { loadIngestSettings } from '../../pipelines/ingest/ingest-config.js';
import { IngestConsumer } from '../../pipelines/ingest/ingest-consumer.js';
import { IngestMetrics } from '../../pipelines/ingest/ingest-metrics.js';
import { onlineSpecFrom } from '../../pipelines/online-store/online-ops.js';

const services = loadServicesConfig();
const settings = loadIngestSettings();
const spec = onlineSpecFrom(loadFeatureSpec(settings.featuresFile));
const clickhouse = createClickHouse(services.clickhouse);
const redis = createRedis(services.redis, { maxRetriesPerRequest: 3 });
const startedAt = Date.now();
let flushed = 0;
let flushes = 0;
const fresh: number[] = [];
const metrics = new IngestMetrics();
const consumer = await IngestConsumer.start({
  kafka: services.kafka,
  groupId: settings.groupId,
  topics: [{ topic: settings.eventsTopic, kind: eventsKind(spec), partitions: settings.eventsPartitions }],
  deadLetterTopic: settings.deadLetterTopic,
  clickhouse, redis, redisPrefix: services.redis.keyPrefix, maxHistory: spec.behaviour.maxLength, dedupeWindow: settings.dedupeWindow, metrics,
  ...(settings.onlineStoreBuckets === undefined ? {} : { onlineStoreBuckets: settings.onlineStoreBuckets }),
  pipeline: { maxFlushMessages: Number(process.env.MAX_FLUSH ?? 20_000), chunkSize: Number(process.env.CHUNK ?? 1000), maxFlushesInFlight: Number(process.env.IN_FLIGHT ?? 3) },
  onFlushed: (flush) => {
    flushed += flush.messages;
    flushes++;
    for (const t of flush.eventTimes) if (t >= startedAt) fresh.push(flush.visibleAt - t);
  },
});
const quantile = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const timer = setInterval(() => {
  const sorted = [...fresh].sort((a, b) => a - b);
  const stages = Object.fromEntries(
    (metrics.stageSeconds as unknown as { hashMap: Record<string, { labels: { stage: string }; sum: number; count: number }> }).hashMap
      ? Object.values((metrics.stageSeconds as unknown as { hashMap: Record<string, { labels: { stage: string }; sum: number; count: number }> }).hashMap).map((v) => [v.labels.stage, Number((v.sum / Math.max(1, v.count)).toFixed(4))])
      : [],
  );
  console.log(JSON.stringify({
    t: Date.now(), flushed, flushes, rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed,
    fresh: { n: sorted.length, p50: quantile(sorted, 0.5) ?? null, p99: quantile(sorted, 0.99) ?? null, max: sorted.at(-1) ?? null },
    stages,
  }));
}, 1000);
process.once('SIGTERM', () => {
  clearInterval(timer);
  void consumer.stop().then(async () => {
    await clickhouse.close();
    redis.disconnect();
    // A pipe is written asynchronously: exit once the samples are out.
    process.stdout.write(`${JSON.stringify({ freshness: fresh })}\n`, () => process.exit(0));
  });
});
await consumer.done;
