import assert from 'node:assert/strict';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { syntheticEvents } from '../../../../features/datasets/synthetic.js';
import { MAX_EVENT_BYTES, type Event } from '../../../../features/events/event-schema.js';
import { loadFeatureSpec } from '../../../../features/spec/feature-spec.js';
import { DEAD_LETTER_HEADERS, readDeadLetterHeaders } from '../../../../pipelines/ingest/dead-letter.js';
import { EventProducer } from '../../../../pipelines/ingest/event-producer.js';
import { eventKey, eventsKind } from '../../../../pipelines/ingest/events-kind.js';
import { DEFAULT_FEATURES_FILE } from '../../../../pipelines/ingest/ingest-config.js';
import { IngestConsumer } from '../../../../pipelines/ingest/ingest-consumer.js';
import { IngestMetrics } from '../../../../pipelines/ingest/ingest-metrics.js';
import { readDeadLetters } from '../../../../pipelines/ingest/offline-store.js';
import { onlineSpecFrom } from '../../../../pipelines/online-store/online-ops.js';
import { randomName } from '../../../helpers/names.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { BAD_INPUTS } from '../../../unit/pipelines/ingest/bad-inputs.js';
import { committedOffsets, createIngestEnv, endOffsets, waitForDrained, type IngestEnv } from './ingest-env.js';
import { assertStoresHoldExactly } from './online-store-assert.js';

const spec = onlineSpecFrom(loadFeatureSpec(DEFAULT_FEATURES_FILE));

/** Every message of `topic` (from the beginning), read until `count` arrived. */
async function readTopic(env: IngestEnv, topic: string, count: number, timeoutMs: number): Promise<(KafkaMessage & { partition: number })[]> {
  const received: (KafkaMessage & { partition: number })[] = [];
  const reader: Consumer = env.kafka.consumer({ groupId: randomName('test_dlq_reader') });
  await reader.connect();
  try {
    await reader.subscribe({ topic, fromBeginning: true });
    await reader.run({ eachMessage: async ({ partition, message }) => { received.push({ ...message, partition }); } });
    await waitFor(() => received.length >= count, { timeoutMs, what: `${count} messages on ${topic}` });
  } finally {
    await reader.disconnect();
  }
  return received;
}

async function startConsumer(env: IngestEnv, metrics: IngestMetrics, pipeline: Record<string, number> = {}): Promise<IngestConsumer> {
  return IngestConsumer.start({
    kafka: env.services.kafka, groupId: env.groupId, topics: [{ topic: env.topic, kind: eventsKind(spec), partitions: 4 }],
    deadLetterTopic: env.deadLetterTopic, clickhouse: env.db, redis: env.redis, redisPrefix: env.prefix,
    maxHistory: spec.behaviour.maxLength, metrics, pipeline,
  });
}

describe('ingestion under hostile input (real Kafka, ClickHouse, Redis)', function () {
  this.timeout(300_000);
  let env: IngestEnv | undefined;
  let consumer: IngestConsumer | undefined;

  afterEach(async () => {
    await consumer?.stop();
    consumer = undefined;
    await env?.cleanup();
    env = undefined;
  });

  it('dead-letters a burst of 5,000 malformed messages in one flush and keeps committing', async () => {
    env = await createIngestEnv({ partitions: 4 });
    const producer = new EventProducer(env.services.kafka, env.topic, { batchSize: 200 });
    await producer.connect();
    // ~1 KiB each: 5 MB of dead letters in one flush, five times the broker's message.max.bytes.
    for (let i = 0; i < 5000; i++) await producer.send({ key: `bad-${i}`, value: `{"type":"click","note":"${'x'.repeat(1000)}"` });
    await producer.close();
    const metrics = new IngestMetrics();
    consumer = await startConsumer(env, metrics, { lingerMs: 2000 });
    await waitForDrained(env.admin, env.groupId, env.topic, 90_000);
    const flushes = (await metrics.batches.get()).values[0]!.value;
    assert.ok(flushes <= 2, `flushes: ${flushes}`);
    const dead = await readTopic(env, env.deadLetterTopic, 5000, 60_000);
    assert.equal(new Set(dead.map((m) => m.key!.toString())).size, 5000, 'every malformed message dead-lettered');
    assert.ok(dead.every((m) => /malformed JSON/.test(readDeadLetterHeaders(m.headers).reason)));
    assert.equal((await readDeadLetters(env.db, env.topic)).length, 5000);
  });

  it(`fuzz: ${BAD_INPUTS.length} kinds of bad message interleaved with good events at volume; each good event stored once, each bad one dead-lettered with its reason and bytes, lag back to 0`, async () => {
    env = await createIngestEnv({ partitions: 4 });
    const events: Event[] = [...syntheticEvents({ events: 20_000, users: 300, items: 500, seed: 23 })];
    const base = 1_704_067_200_000;
    // Good events at the limits: a 256-character id, and a message of exactly 64 KiB.
    const longId: Event = { schema_version: 1, type: 'click', event_id: 'l'.repeat(256), ts: base + 5, user_id: 'u-limits', item_id: 'i'.repeat(256), label: 1 };
    // (context values are at most 1,024 characters: many of them, the last one padded to the byte.)
    const context: Record<string, string> = {};
    const maxSize: Event = { schema_version: 1, type: 'impression', event_id: 'max-size', ts: base + 6, user_id: 'u-limits', item_id: 'i-limits', label: 0, context };
    for (let k = 0; Buffer.byteLength(JSON.stringify(maxSize)) + 1100 < MAX_EVENT_BYTES; k++) context[`k${k}`] = 'p'.repeat(1000);
    context.pad = '';
    context.pad = 'p'.repeat(MAX_EVENT_BYTES - Buffer.byteLength(JSON.stringify(maxSize)));
    assert.equal(Buffer.byteLength(JSON.stringify(maxSize)), MAX_EVENT_BYTES);
    // The entity a reserved-name update (a bad input on user u1) targets gets valid updates after it.
    const later: Event[] = [1, 2, 3].map((k) => ({ schema_version: 1, type: 'user_update', event_id: `u1-later-${k}`, ts: base + 86_400_000 + k, user_id: 'u1', attributes: { color: `c${k}` } }));
    const good = [...events, longId, maxSize, ...later];

    // Interleave: 20 copies of each bad kind at seeded random places among the good events, the later u1 updates last.
    const copies = 20;
    type Slot = { good: Event } | { bad: number; copy: number };
    const slots: Slot[] = [...events, longId, maxSize].map((e) => ({ good: e }));
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let copy = 0; copy < copies; copy++) {
      for (let b = 0; b < BAD_INPUTS.length; b++) slots.splice(Math.floor(random() * (slots.length + 1)), 0, { bad: b, copy });
    }
    slots.push(...later.map((e) => ({ good: e })));

    const producer = new EventProducer(env.services.kafka, env.topic, { batchSize: 50 });
    await producer.connect();
    for (const slot of slots) {
      if ('good' in slot) await producer.send({ key: eventKey(slot.good), value: JSON.stringify(slot.good) });
      // Keys spread the bad messages over every partition, next to good events of the same keys.
      else await producer.send({ key: `u${(slot.bad * 7 + slot.copy) % 300}`, value: BAD_INPUTS[slot.bad]!.value, headers: { 'test-bad': `${slot.bad}:${slot.copy}` } });
    }
    await producer.close();
    const badCount = copies * BAD_INPUTS.length;

    const metrics = new IngestMetrics();
    consumer = await startConsumer(env, metrics, { maxFlushMessages: 5000 });
    await waitForDrained(env.admin, env.groupId, env.topic, 180_000);
    assert.equal((await metrics.failed.get()).values[0]?.value ?? 0, 0, 'not in the failed state');
    await consumer.stop();
    consumer = undefined;

    // Lag back to 0: the group committed every partition's end.
    const ends = await endOffsets(env.admin, env.topic);
    assert.deepEqual(await committedOffsets(env.admin, env.groupId, env.topic), ends);
    assert.equal([...ends.values()].reduce((a, b) => a + b, 0), good.length + badCount);

    // Every good event once in ClickHouse; Redis equals the in-memory store fed the good events.
    await assertStoresHoldExactly(env, spec, good, 3 * 86_400_000);

    // Every bad message in the dead-letter topic, once per source offset, with its reason and original bytes.
    const dead = await readTopic(env, env.deadLetterTopic, badCount, 60_000);
    const bySource = new Map<string, KafkaMessage>();
    for (const m of dead) {
      const h = readDeadLetterHeaders(m.headers);
      bySource.set(`${h.partition}:${h.offset}`, m);
    }
    assert.equal(bySource.size, badCount);
    // Which bad input each source message was: its test header, read back from the events topic.
    const source = await readTopic(env, env.topic, good.length + badCount, 60_000);
    const badAt = new Map<string, number>();
    for (const m of source) {
      const tag = m.headers?.['test-bad'];
      if (tag !== undefined) badAt.set(`${m.partition}:${m.offset}`, Number(tag.toString().split(':')[0]));
    }
    assert.equal(badAt.size, badCount);
    const perKind = new Map<number, number>();
    for (const [position, m] of bySource) {
      const b = badAt.get(position);
      assert.ok(b !== undefined, `dead letter for ${position} is a bad input`);
      const bad = BAD_INPUTS[b]!;
      const h = readDeadLetterHeaders(m.headers);
      assert.match(h.reason, bad.reason, bad.name);
      assert.ok((m.value ?? Buffer.alloc(0)).equals(bad.value ?? Buffer.alloc(0)), `${bad.name}: original bytes`);
      assert.equal(m.headers?.[DEAD_LETTER_HEADERS.truncated], undefined);
      perKind.set(b, (perKind.get(b) ?? 0) + 1);
    }
    assert.deepEqual([...perKind.values()], BAD_INPUTS.map(() => copies).slice(0, perKind.size));
    assert.equal(perKind.size, BAD_INPUTS.length);
    assert.equal((await readDeadLetters(env.db, env.topic)).length, badCount);
    const deadMetric = (await metrics.deadLettered.get()).values.reduce((n, v) => n + v.value, 0);
    assert.equal(deadMetric, badCount);
  });
});
