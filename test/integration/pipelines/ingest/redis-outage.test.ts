import assert from 'node:assert/strict';
import { syntheticEvents } from '../../../../features/datasets/synthetic.js';
import type { Event } from '../../../../features/events/event-schema.js';
import { loadFeatureSpec } from '../../../../features/spec/feature-spec.js';
import { createRedis, type Redis } from '../../../../infra/redis/redis-client.js';
import { EventProducer } from '../../../../pipelines/ingest/event-producer.js';
import { eventKey, eventsKind } from '../../../../pipelines/ingest/events-kind.js';
import { DEFAULT_FEATURES_FILE } from '../../../../pipelines/ingest/ingest-config.js';
import { IngestConsumer } from '../../../../pipelines/ingest/ingest-consumer.js';
import { IngestMetrics } from '../../../../pipelines/ingest/ingest-metrics.js';
import { countInteractions } from '../../../../pipelines/ingest/offline-store.js';
import { onlineSpecFrom } from '../../../../pipelines/online-store/online-ops.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { committedOffsets, createIngestEnv, waitForDrained, type IngestEnv } from './ingest-env.js';
import { assertStoresHoldExactly } from './online-store-assert.js';
import { PrivateRedis } from '../../../helpers/private-redis.js';

describe('ingestion while Redis is down (private server, real Kafka and ClickHouse)', function () {
  this.timeout(300_000);
  const spec = onlineSpecFrom(loadFeatureSpec(DEFAULT_FEATURES_FILE));
  const events: Event[] = [...syntheticEvents({ events: 30_000, users: 400, items: 800, seed: 11 })];
  let redis: PrivateRedis;
  let env: IngestEnv;
  let consumerRedis: Redis | undefined;
  let consumer: IngestConsumer | undefined;

  before(async () => {
    redis = await PrivateRedis.create();
    env = await createIngestEnv({ partitions: 4, redisUrl: redis.url });
    env.redis.on('error', () => {}); // connection errors while the server is away are expected
  });

  after(async () => {
    await consumer?.stop();
    consumerRedis?.disconnect();
    await env?.cleanup().catch(() => {});
    await redis?.destroy();
  });

  it('pauses without committing while Redis is stopped, retries with backoff, then stores everything once', async () => {
    const producer = new EventProducer(env.services.kafka, env.topic, { batchSize: 1000 });
    await producer.connect();
    const half = Math.floor(events.length / 2);
    for (const e of events.slice(0, half)) await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
    await producer.flush();

    // As `recsys ingest` connects: a command fails after 3 reconnect attempts, so the pipeline's own retry (with backoff) takes over.
    consumerRedis = createRedis(env.services.redis, { maxRetriesPerRequest: 3 });
    consumerRedis.on('error', () => {});
    const metrics = new IngestMetrics();
    consumer = await IngestConsumer.start({
      kafka: env.services.kafka, groupId: env.groupId, topics: [{ topic: env.topic, kind: eventsKind(spec), partitions: 4 }],
      deadLetterTopic: env.deadLetterTopic, clickhouse: env.db, redis: consumerRedis, redisPrefix: env.prefix,
      maxHistory: spec.behaviour.maxLength, metrics, pipeline: { maxFlushMessages: 3000 },
    });
    await waitForDrained(env.admin, env.groupId, env.topic, 60_000);
    const beforeOutage = await committedOffsets(env.admin, env.groupId, env.topic);

    await redis.stop();
    for (const e of events.slice(half)) await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
    await producer.close();
    await waitFor(async () => (await metrics.paused.get()).values[0]?.value === 1, { timeoutMs: 30_000, what: 'the consumer to pause' });
    const retriesAt = async () => (await metrics.retries.get()).values.find((v) => v.labels.store === 'redis')?.value ?? 0;
    const r0 = await retriesAt();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const r1 = await retriesAt();
    assert.deepEqual(await committedOffsets(env.admin, env.groupId, env.topic), beforeOutage, 'no commits while Redis is down');
    assert.ok(r1 > 0, 'the Redis write was retried');
    // Backoff, not a busy loop: each partition's write of each flush in flight
    // (≤ 3 × 4) retries a few times a second at most.
    assert.ok(r1 - r0 > 0 && r1 - r0 <= 200, `Redis retries in 3 s: ${r1 - r0}`);

    await redis.start();
    await waitForDrained(env.admin, env.groupId, env.topic, 120_000);
    assert.equal((await metrics.paused.get()).values[0]?.value, 0);
    await consumer.stop();
    consumer = undefined;

    // Exactly N events offline, each once; Redis equals the reference from the same N events.
    await assertStoresHoldExactly(env, spec, events, 31 * 86_400_000);
    assert.equal(await countInteractions(env.db), events.filter((e) => e.type !== 'item_update' && e.type !== 'user_update').length);
  });
});
