import assert from 'node:assert/strict';
import type { Consumer } from 'kafkajs';
import { examplesFromEvents, splitByTime } from '../../../../features/datasets/ctr-sources.js';
import { syntheticEvents } from '../../../../features/datasets/synthetic.js';
import type { Event } from '../../../../features/events/event-schema.js';
import { loadFeatureSpec } from '../../../../features/spec/feature-spec.js';
import { clickhouseCtrSplits } from '../../../../pipelines/ingest/clickhouse-ctr-source.js';
import { readDeadLetterHeaders } from '../../../../pipelines/ingest/dead-letter.js';
import { EventProducer } from '../../../../pipelines/ingest/event-producer.js';
import { eventKey, eventsKind } from '../../../../pipelines/ingest/events-kind.js';
import { DEFAULT_FEATURES_FILE } from '../../../../pipelines/ingest/ingest-config.js';
import { IngestConsumer } from '../../../../pipelines/ingest/ingest-consumer.js';
import { IngestMetrics } from '../../../../pipelines/ingest/ingest-metrics.js';
import { compareStored, readDeadLetters } from '../../../../pipelines/ingest/offline-store.js';
import { onlineSpecFrom } from '../../../../pipelines/online-store/online-ops.js';
import { randomName } from '../../../helpers/names.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { BAD_INPUTS } from '../../../unit/pipelines/ingest/bad-inputs.js';
import { createIngestEnv, waitForDrained, type IngestEnv } from './ingest-env.js';
import { assertStoresHoldExactly } from './online-store-assert.js';

describe('ingestion end to end (real Kafka, ClickHouse, Redis)', function () {
  this.timeout(180_000);
  const featureSpec = loadFeatureSpec(DEFAULT_FEATURES_FILE);
  const spec = onlineSpecFrom(featureSpec);
  let env: IngestEnv;
  let consumer: IngestConsumer | undefined;
  let dlqConsumer: Consumer | undefined;
  const events: Event[] = [...syntheticEvents({ events: 20_000, users: 300, items: 500, seed: 7 })];

  before(async () => {
    env = await createIngestEnv({ partitions: 4 });
  });

  after(async () => {
    await consumer?.stop();
    await dlqConsumer?.disconnect();
    await env?.cleanup();
  });

  it('stores N produced events exactly once, matching online state, with every bad message dead-lettered', async () => {
    const producer = new EventProducer(env.services.kafka, env.topic);
    await producer.connect();
    const every = Math.floor(events.length / BAD_INPUTS.length);
    for (let i = 0; i < events.length; i++) {
      await producer.send({ key: eventKey(events[i]!), value: JSON.stringify(events[i]) });
      const bad = i % every === 0 ? BAD_INPUTS[i / every] : undefined;
      if (bad) await producer.send({ key: `bad-${bad.name}`, value: bad.value });
    }
    await producer.close();

    const metrics = new IngestMetrics();
    consumer = await IngestConsumer.start({
      kafka: env.services.kafka, groupId: env.groupId, topics: [{ topic: env.topic, kind: eventsKind(spec), partitions: 4 }],
      deadLetterTopic: env.deadLetterTopic, clickhouse: env.db, redis: env.redis, redisPrefix: env.prefix,
      maxHistory: spec.behaviour.maxLength, metrics, pipeline: { maxFlushMessages: 5000 },
    });
    await waitForDrained(env.admin, env.groupId, env.topic, 120_000);
    await consumer.stop();
    consumer = undefined;

    // Offline: the query layer returns exactly the N events, each once; online: Redis equals the in-memory reference.
    const stored = await assertStoresHoldExactly(env, spec, events, 3 * 86_400_000);
    assert.deepEqual(stored, [...events].sort(compareStored));

    // Dead letters: every bad message, with its reason and original bytes, in the topic and the table.
    const received: { reason: string; value: Buffer | null; offset: number }[] = [];
    dlqConsumer = env.kafka.consumer({ groupId: randomName('test_dlq_reader') });
    await dlqConsumer.connect();
    await dlqConsumer.subscribe({ topic: env.deadLetterTopic, fromBeginning: true });
    await dlqConsumer.run({ eachMessage: async ({ message }) => { const h = readDeadLetterHeaders(message.headers); received.push({ reason: h.reason, value: message.value, offset: h.offset }); } });
    await waitFor(() => received.length >= BAD_INPUTS.length, { timeoutMs: 30_000, what: 'dead letters' });
    assert.equal(received.length, BAD_INPUTS.length);
    for (const bad of BAD_INPUTS) {
      const match = received.find((r) => bad.reason.test(r.reason) && (r.value === null ? bad.value === null || bad.value.byteLength === 0 : bad.value !== null && r.value.equals(bad.value)));
      assert.ok(match, `dead letter for ${bad.name}`);
    }
    assert.equal((await readDeadLetters(env.db, env.topic)).length, BAD_INPUTS.length);
    const metricText = await metrics.registry.metrics();
    assert.match(metricText, new RegExp(`ingest_events_valid_total\\{kind="events"\\} ${events.length}`));
    assert.equal((await metrics.registry.getSingleMetric('ingest_events_dead_lettered_total')!.get()).values.reduce((n, v) => n + v.value, 0), BAD_INPUTS.length);
  });

  it('gives training the same examples from ClickHouse as from the events themselves', async () => {
    const fromStore = await clickhouseCtrSplits(featureSpec, { client: env.db });
    const direct = splitByTime(featureSpec, examplesFromEvents(featureSpec, [...events].sort(compareStored)));
    for (const part of ['train', 'validation', 'test'] as const) {
      assert.equal(fromStore[part].length, direct[part].length, part);
      assert.deepEqual(fromStore[part].map((e) => [e.event.event_id, e.label, e.history.map((h) => h.item_id).join(','), e.item.category]), direct[part].map((e) => [e.event.event_id, e.label, e.history.map((h) => h.item_id).join(','), e.item.category]), part);
    }
    // A time range: examples only from [from, to), histories from before `from` too.
    const ts = events.filter((e) => e.type === 'impression').map((e) => e.ts);
    const from = ts[Math.floor(ts.length / 2)]!;
    const ranged = await clickhouseCtrSplits(featureSpec, { client: env.db, from, historyFrom: 0 });
    const all = [...ranged.train, ...ranged.validation, ...ranged.test];
    assert.ok(all.every((e) => e.event.ts >= from));
    const directAll = [...direct.train, ...direct.validation, ...direct.test].filter((e) => e.event.ts >= from);
    assert.deepEqual(all.map((e) => e.history.length), directAll.map((e) => e.history.length));
  });
});
