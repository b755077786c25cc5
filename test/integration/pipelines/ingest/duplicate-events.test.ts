import assert from 'node:assert/strict';
import { syntheticEvents } from '../../../../features/datasets/synthetic.js';
import type { Event } from '../../../../features/events/event-schema.js';
import { loadFeatureSpec } from '../../../../features/spec/feature-spec.js';
import { EventProducer } from '../../../../pipelines/ingest/event-producer.js';
import { eventKey, eventsKind } from '../../../../pipelines/ingest/events-kind.js';
import { DEFAULT_FEATURES_FILE } from '../../../../pipelines/ingest/ingest-config.js';
import { IngestConsumer } from '../../../../pipelines/ingest/ingest-consumer.js';
import { IngestMetrics } from '../../../../pipelines/ingest/ingest-metrics.js';
import { onlineSpecFrom } from '../../../../pipelines/online-store/online-ops.js';
import { redisKeys } from '../../../../pipelines/online-store/redis-keys.js';
import { createIngestEnv, waitForDrained, type IngestEnv } from './ingest-env.js';
import { assertStoresHoldExactly } from './online-store-assert.js';

/**
 * A producer that retries a write the broker had taken (kafkajs did when a
 * broker was killed under it, test/cluster/kafka) puts the same event in the
 * topic twice. ClickHouse keeps one row per event id; the online store must
 * count it once too.
 */
/** How many ids a partition's dedupe window holds in Redis. */
async function idsInWindow(env: IngestEnv, partition: number): Promise<number> {
  const chunks = await env.redis.hvals(redisKeys(env.prefix).seen(env.topic, partition, 0));
  return chunks.reduce((n, ids) => n + (JSON.parse(ids) as string[]).length, 0);
}

describe('ingestion of events produced twice (real services)', function () {
  this.timeout(300_000);
  const spec = onlineSpecFrom(loadFeatureSpec(DEFAULT_FEATURES_FILE));
  const events: Event[] = [...syntheticEvents({ events: 6000, users: 300, items: 500, seed: 41 })];
  let env: IngestEnv;
  let consumer: IngestConsumer | undefined;

  before(async () => {
    env = await createIngestEnv({ partitions: 2 });
  });
  after(async () => {
    await consumer?.stop();
    await env?.cleanup();
  });

  it('applies every event once to the online store, whether its copy comes next, a flush later or in the same chunk', async () => {
    // The stream: every event once, plus copies of three runs of it: 300 events re-sent right after
    // themselves (a retried produce request), 200 re-sent ~2,000 messages later (other flushes), and
    // 50 events each sent twice in a row (the same chunk).
    const stream: Event[] = [];
    for (let i = 0; i < events.length; i++) {
      stream.push(events[i]!);
      if (i === 1299) stream.push(...events.slice(1000, 1300));
      if (i === 3999) stream.push(...events.slice(2000, 2200));
      if (i >= 5000 && i < 5050) stream.push(events[i]!);
    }
    const copies = stream.length - events.length;
    const producer = new EventProducer(env.services.kafka, env.topic, { batchSize: 500 });
    await producer.connect();
    for (const e of stream) await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
    await producer.close();

    const metrics = new IngestMetrics();
    consumer = await IngestConsumer.start({
      kafka: env.services.kafka, groupId: env.groupId, topics: [{ topic: env.topic, kind: eventsKind(spec), partitions: 2 }],
      deadLetterTopic: env.deadLetterTopic, clickhouse: env.db, redis: env.redis, redisPrefix: env.prefix,
      maxHistory: spec.behaviour.maxLength, metrics,
      // Small flushes and chunks: the later copies land in other flushes, the adjacent ones across chunk edges.
      pipeline: { maxFlushMessages: 700, chunkSize: 128 },
      consumer: { maxBytesPerPartition: 64 * 1024 },
    });
    await waitForDrained(env.admin, env.groupId, env.topic, 120_000);
    await consumer.stop();
    consumer = undefined;

    await assertStoresHoldExactly(env, spec, events, 3 * 86_400_000);
    const duplicates = (await metrics.duplicates.get()).values.reduce((n, v) => n + v.value, 0);
    console.log(`      messages ${stream.length} (${events.length} events + ${copies} copies); duplicates recognised ${duplicates}`);
    assert.equal(duplicates, copies);
    // Every partition's events fit in the window: all their ids are held, the copies not added.
    const held = await Promise.all([0, 1].map((p) => idsInWindow(env, p)));
    assert.equal(held.reduce((a, b) => a + b, 0), events.length, 'every event id in the window (below its size), copies not added');
  });

  it('keeps only the window\'s offsets: a copy from further back counts again, and the window stays its size', async () => {
    const windowEnv = await createIngestEnv({ partitions: 1 });
    try {
      // Each event once, then the first 100 again 1,000 messages later, then the last 10 again at once.
      const stream = [...events.slice(0, 1000), ...events.slice(0, 100), ...events.slice(990, 1000)];
      const producer = new EventProducer(windowEnv.services.kafka, windowEnv.topic, { batchSize: 500 });
      await producer.connect();
      for (const e of stream) await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
      await producer.close();
      const metrics = new IngestMetrics();
      const windowed = await IngestConsumer.start({
        kafka: windowEnv.services.kafka, groupId: windowEnv.groupId, topics: [{ topic: windowEnv.topic, kind: eventsKind(spec), partitions: 1 }],
        deadLetterTopic: windowEnv.deadLetterTopic, clickhouse: windowEnv.db, redis: windowEnv.redis, redisPrefix: windowEnv.prefix,
        maxHistory: spec.behaviour.maxLength, metrics, dedupeWindow: 300, pipeline: { maxFlushMessages: 200, chunkSize: 50 },
        consumer: { maxBytesPerPartition: 16 * 1024 },
      });
      await waitForDrained(windowEnv.admin, windowEnv.groupId, windowEnv.topic, 120_000);
      await windowed.stop();
      const duplicates = (await metrics.duplicates.get()).values.reduce((n, v) => n + v.value, 0);
      assert.equal(duplicates, 10, 'only the copies within 300 offsets of their originals');
      // Offsets 810–1109 applied 290 ids (190 originals, the 100 far copies; not the 10 copies recognised);
      // ids leave a chunk at a time, so the chunk that straddles offset 810 (at most 50 records) may stay.
      const held = await idsInWindow(windowEnv, 0);
      assert.ok(held >= 290 && held <= 290 + 50, `ids held ${held}`);
    } finally {
      await windowEnv.cleanup();
    }
  });
});
