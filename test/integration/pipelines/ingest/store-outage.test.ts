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
import { waitFor } from '../../../helpers/wait-for.js';
import { committedOffsets, createIngestEnv, waitForDrained, type IngestEnv } from './ingest-env.js';
import { assertStoresHoldExactly } from './online-store-assert.js';
import { PrivateClickHouse } from '../../../helpers/private-clickhouse.js';

describe('ingestion while ClickHouse is down (private server, real Kafka and Redis)', function () {
  this.timeout(300_000);
  const spec = onlineSpecFrom(loadFeatureSpec(DEFAULT_FEATURES_FILE));
  const events: Event[] = [...syntheticEvents({ events: 30_000, users: 400, items: 800, seed: 5 })];
  let clickhouse: PrivateClickHouse;
  let env: IngestEnv;
  let consumer: IngestConsumer | undefined;

  before(async () => {
    clickhouse = await PrivateClickHouse.create();
    env = await createIngestEnv({ partitions: 4, clickhouseUrl: clickhouse.url });
  });

  after(async () => {
    await consumer?.stop();
    await env?.cleanup().catch(() => {});
    await clickhouse?.destroy();
  });

  it('pauses without committing while ClickHouse is stopped, then stores everything once', async () => {
    const producer = new EventProducer(env.services.kafka, env.topic, { batchSize: 1000 });
    await producer.connect();
    const half = Math.floor(events.length / 2);
    for (const e of events.slice(0, half)) await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
    await producer.flush();

    const metrics = new IngestMetrics();
    consumer = await IngestConsumer.start({
      kafka: env.services.kafka, groupId: env.groupId, topics: [{ topic: env.topic, kind: eventsKind(spec), partitions: 4 }],
      deadLetterTopic: env.deadLetterTopic, clickhouse: env.db, redis: env.redis, redisPrefix: env.prefix,
      maxHistory: spec.behaviour.maxLength, metrics, pipeline: { maxFlushMessages: 3000 },
    });
    await waitForDrained(env.admin, env.groupId, env.topic, 60_000);

    await clickhouse.stop();
    for (const e of events.slice(half)) await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
    await producer.close();
    await waitFor(async () => (await metrics.paused.get()).values[0]?.value === 1, { timeoutMs: 30_000, what: 'the consumer to pause' });
    const before = await committedOffsets(env.admin, env.groupId, env.topic);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.deepEqual(await committedOffsets(env.admin, env.groupId, env.topic), before, 'no commits while ClickHouse is down');
    assert.ok((await metrics.retries.get()).values.some((v) => v.labels.store === 'clickhouse' && v.value > 0));

    await clickhouse.start();
    await waitForDrained(env.admin, env.groupId, env.topic, 120_000);
    assert.equal((await metrics.paused.get()).values[0]?.value, 0);
    await consumer.stop();
    consumer = undefined;

    await assertStoresHoldExactly(env, spec, events, 31 * 86_400_000);
  });
});
