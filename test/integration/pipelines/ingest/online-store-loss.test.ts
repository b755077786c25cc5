import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { syntheticEvents } from '../../../../features/datasets/synthetic.js';
import type { Event } from '../../../../features/events/event-schema.js';
import { loadFeatureSpec } from '../../../../features/spec/feature-spec.js';
import { EventProducer } from '../../../../pipelines/ingest/event-producer.js';
import { eventKey, eventsKind } from '../../../../pipelines/ingest/events-kind.js';
import { DEFAULT_FEATURES_FILE } from '../../../../pipelines/ingest/ingest-config.js';
import { IngestConsumer } from '../../../../pipelines/ingest/ingest-consumer.js';
import { IngestMetrics } from '../../../../pipelines/ingest/ingest-metrics.js';
import { rebuildOnlineStore } from '../../../../pipelines/ingest/rebuild-online-store.js';
import { MemoryOnlineStore } from '../../../../pipelines/online-store/memory-online-store.js';
import { onlineSpecFrom } from '../../../../pipelines/online-store/online-ops.js';
import { RedisOnlineStore, RedisOnlineWriter, storedBuckets } from '../../../../pipelines/online-store/redis-online-store.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { spawnTs } from './child.js';
import { createIngestEnv, waitForDrained, type IngestEnv } from './ingest-env.js';
import { assertOnlineStoreMatches, assertStoresHoldExactly } from './online-store-assert.js';
import { PrivateRedis } from '../../../helpers/private-redis.js';

const CLI = fileURLToPath(new URL('./fixtures/recsys-cli.ts', import.meta.url));

describe('online store lost mid-run (private Redis, real Kafka and ClickHouse)', function () {
  this.timeout(300_000);
  const spec = onlineSpecFrom(loadFeatureSpec(DEFAULT_FEATURES_FILE));
  const events: Event[] = [...syntheticEvents({ events: 24_000, users: 300, items: 600, seed: 5 })];
  const thirds = [events.slice(0, 8000), events.slice(8000, 16_000), events.slice(16_000)];
  let redis: PrivateRedis;
  let env: IngestEnv;
  let consumer: IngestConsumer | undefined;

  before(async () => {
    redis = await PrivateRedis.create();
    env = await createIngestEnv({ partitions: 4, redisUrl: redis.url });
  });

  after(async () => {
    await consumer?.stop();
    await env?.cleanup().catch(() => {});
    await redis?.destroy();
  });

  const produce = async (part: readonly Event[]) => {
    const producer = new EventProducer(env.services.kafka, env.topic, { batchSize: 1000 });
    await producer.connect();
    for (const e of part) await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
    await producer.close();
  };
  const start = (metrics: IngestMetrics) => IngestConsumer.start({
    kafka: env.services.kafka, groupId: env.groupId, topics: [{ topic: env.topic, kind: eventsKind(spec), partitions: 4 }],
    deadLetterTopic: env.deadLetterTopic, clickhouse: env.db, redis: env.redis, redisPrefix: env.prefix,
    maxHistory: spec.behaviour.maxLength, metrics, pipeline: { maxFlushMessages: 3000 },
  });
  const behindGauge = async (metrics: IngestMetrics) => (await metrics.onlineStoreBehind.get()).values.reduce((n, v) => n + v.value, 0);

  it('Redis flushed mid-run → detected (metric, mark) → `recsys ingest --rebuild-online-store` → Redis equals the in-memory reference; ingestion resumes exactly after', async () => {
    await produce(thirds[0]!);
    const metrics = new IngestMetrics();
    consumer = await start(metrics);
    await waitForDrained(env.admin, env.groupId, env.topic, 60_000);
    assert.equal(await behindGauge(metrics), 0, 'no loss reported before the loss');

    await env.redis.flushall(); // the private server: as a restart without persistence
    await produce(thirds[1]!);
    await waitForDrained(env.admin, env.groupId, env.topic, 60_000);
    await waitFor(async () => (await behindGauge(metrics)) >= 4, { timeoutMs: 30_000, what: 'the loss to be reported for each partition' });
    const writer = new RedisOnlineWriter(env.redis, env.prefix, spec.behaviour.maxLength);
    assert.equal((await writer.behind(env.topic)).size, 4, 'the loss is marked in the store (outlives the process)');
    await consumer.stop();
    consumer = undefined;

    // Before the rebuild Redis holds only what came after the loss.
    const seen = [...thirds[0]!, ...thirds[1]!];
    const reference = new MemoryOnlineStore(spec);
    reference.applyEvents(seen);
    const store = new RedisOnlineStore(env.redis, env.prefix, spec.behaviour.maxLength);
    const someUser = (thirds[0]!.find((e) => e.type === 'impression' || e.type === 'click' || e.type === 'rating') as { user_id: string }).user_id;
    assert.notDeepEqual(await store.user(someUser), await reference.user(someUser), 'the loss is real');

    const rebuild = spawnTs(CLI, ['ingest', '--rebuild-online-store'], env.env);
    const line = await rebuild.waitForLine<{ rebuilt?: { events: number; watermarks: Record<string, number> } }>((l) => l.rebuilt !== undefined, 120_000);
    assert.equal((await rebuild.exited).code, 0, rebuild.stderr.join('\n'));
    assert.equal(line.rebuilt!.events, seen.length);
    assert.equal(Object.keys(line.rebuilt!.watermarks).length, 4);
    await assertStoresHoldExactly(env, spec, seen, 31 * 86_400_000);
    assert.equal((await writer.behind(env.topic)).size, 0, 'the mark is cleared');

    // Ingestion resumes after the rebuilt watermarks: nothing applied twice, no loss reported.
    await produce(thirds[2]!);
    const resumed = new IngestMetrics();
    consumer = await start(resumed);
    await waitForDrained(env.admin, env.groupId, env.topic, 60_000);
    await consumer.stop();
    consumer = undefined;
    assert.equal(await behindGauge(resumed), 0);
    await assertStoresHoldExactly(env, spec, events, 31 * 86_400_000);
  });

  it('refuses to rebuild while the consumer group has running members', async () => {
    consumer = await start(new IngestMetrics());
    await waitFor(async () => ((await env.admin.describeGroups([env.groupId])).groups[0]?.members.length ?? 0) > 0, { timeoutMs: 60_000, what: 'the consumer to join' });
    const rebuild = spawnTs(CLI, ['ingest', '--rebuild-online-store'], env.env);
    const exit = await rebuild.exited;
    assert.equal(exit.code, 2);
    assert.match(rebuild.stderr.join('\n'), /has \d+ running member\(s\): stop `recsys ingest` before --rebuild-online-store/);
    await consumer.stop();
    consumer = undefined;
  });

  it('refuses --from without --rebuild-online-store, and a --from that is no time', async () => {
    for (const [args, message] of [[['--from', '2024-01-01'], /--from goes with --rebuild-online-store/], [['--rebuild-online-store', '--from', 'yesterday'], /--from must be epoch milliseconds or an ISO date, got "yesterday"/]] as const) {
      const child = spawnTs(CLI, ['ingest', ...args], env.env);
      assert.equal((await child.exited).code, 2, args.join(' '));
      assert.match(child.stderr.join('\n'), message);
    }
  });

  it('--from TIME: only events from TIME on count, with the attributes entities had then', async () => {
    const from = events[12_000]!.ts;
    const result = await rebuildOnlineStore({ clickhouse: env.db, redis: env.redis, prefix: env.prefix, spec, topic: env.topic, from });
    const counted = events.filter((e) => e.ts >= from || e.type === 'item_update' || e.type === 'user_update');
    assert.equal(result.events, counted.length);
    const reference = new MemoryOnlineStore(spec);
    reference.applyEvents(counted);
    await assertOnlineStoreMatches(new RedisOnlineStore(env.redis, env.prefix, spec.behaviour.maxLength), reference, events);
  });

  it('--rebuild-online-store --online-store-buckets N moves the store to N buckets; ingestion then keeps that layout and refuses another', async () => {
    const rebuild = spawnTs(CLI, ['ingest', '--rebuild-online-store', '--online-store-buckets', '4'], env.env);
    const line = await rebuild.waitForLine<{ rebuilt?: { events: number; buckets: number } }>((l) => l.rebuilt !== undefined, 120_000);
    assert.equal((await rebuild.exited).code, 0, rebuild.stderr.join('\n'));
    assert.deepEqual([line.rebuilt!.events, line.rebuilt!.buckets], [events.length, 4]);
    assert.equal(await storedBuckets(env.redis, env.prefix), 4);
    const oneBucketKeys = await env.redis.keys(`${env.prefix}u:*`);
    assert.deepEqual(oneBucketKeys, [], 'no key of the old layout is left');
    await assertStoresHoldExactly(env, spec, events, 31 * 86_400_000);

    const refused = spawnTs(CLI, ['ingest', '--online-store-buckets', '2'], env.env);
    assert.equal((await refused.exited).code, 2);
    assert.match(refused.stderr.join('\n'), /the online store under '.*' has 4 bucket\(s\), 2 asked for .*--rebuild-online-store --online-store-buckets 2/);

    // Without a bucket count a writer takes the store's: new events land in the 4 buckets, once each.
    const more: Event[] = [...syntheticEvents({ events: 3000, users: 300, items: 600, seed: 6 })].map((e) => ({ ...e, event_id: `more-${e.event_id}` }));
    await produce(more);
    consumer = await start(new IngestMetrics());
    await waitForDrained(env.admin, env.groupId, env.topic, 60_000);
    await consumer.stop();
    consumer = undefined;
    assert.equal(await storedBuckets(env.redis, env.prefix), 4);
    await assertStoresHoldExactly(env, spec, [...events, ...more], 366 * 86_400_000);
  });
});
