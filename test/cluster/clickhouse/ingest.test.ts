import assert from 'node:assert/strict';
import { syntheticEvents } from '../../../features/datasets/synthetic.js';
import type { Event } from '../../../features/events/event-schema.js';
import { loadFeatureSpec } from '../../../features/spec/feature-spec.js';
import { EventProducer } from '../../../pipelines/ingest/event-producer.js';
import { eventKey, eventsKind } from '../../../pipelines/ingest/events-kind.js';
import { DEFAULT_FEATURES_FILE } from '../../../pipelines/ingest/ingest-config.js';
import { IngestConsumer } from '../../../pipelines/ingest/ingest-consumer.js';
import { IngestMetrics } from '../../../pipelines/ingest/ingest-metrics.js';
import { onlineSpecFrom } from '../../../pipelines/online-store/online-ops.js';
import { waitForDrained, type IngestEnv } from '../../integration/pipelines/ingest/ingest-env.js';
import { assertStoresHoldExactly } from '../../integration/pipelines/ingest/online-store-assert.js';
import { createClusterIngestEnv, localCount, nodeClient, requireCluster, type NodeId } from './cluster-env.js';

describe('ingestion into the ClickHouse cluster (real Kafka, Redis and pipeline)', function () {
  this.timeout(300_000);
  const spec = onlineSpecFrom(loadFeatureSpec(DEFAULT_FEATURES_FILE));
  const events: Event[] = [...syntheticEvents({ events: 20_000, users: 300, items: 600, seed: 11 })];
  let env: IngestEnv;
  let consumer: IngestConsumer | undefined;

  before(async () => {
    await requireCluster();
    env = await createClusterIngestEnv({ partitions: 4 });
  });

  after(async () => {
    await consumer?.stop();
    await env?.cleanup().catch((error: unknown) => console.error(`cleanup failed: ${String(error)}`));
  });

  it('stores every event once through the Distributed table, each user on one shard and both of its replicas', async () => {
    const producer = new EventProducer(env.services.kafka, env.topic, { batchSize: 1000 });
    await producer.connect();
    for (const e of events) await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
    await producer.close();

    consumer = await IngestConsumer.start({
      kafka: env.services.kafka, groupId: env.groupId, topics: [{ topic: env.topic, kind: eventsKind(spec), partitions: 4 }],
      deadLetterTopic: env.deadLetterTopic, clickhouse: env.db, redis: env.redis, redisPrefix: env.prefix,
      maxHistory: spec.behaviour.maxLength, metrics: new IngestMetrics(), pipeline: { maxFlushMessages: 2000 },
    });
    await waitForDrained(env.admin, env.groupId, env.topic, 120_000);
    await consumer.stop();
    consumer = undefined;

    // Offline store read through the entry node's Distributed table: each event once; Redis as the reference.
    await assertStoresHoldExactly(env, spec, events, 3650 * 86_400_000);

    // Attribute updates go to their own tables; the events table holds the interactions.
    const interactions = events.filter((e) => e.type !== 'item_update' && e.type !== 'user_update');
    const counts = new Map<NodeId, number>();
    for (const n of [1, 2, 3, 4] as const) counts.set(n, await localCount(n, env.database, 'events'));
    assert.equal(counts.get(1), counts.get(2), `shard 1 replicas: ${[...counts]}`);
    assert.equal(counts.get(3), counts.get(4), `shard 2 replicas: ${[...counts]}`);
    assert.equal(counts.get(1)! + counts.get(3)!, interactions.length, 'no event on both shards or on none, none twice');

    const usersOn = async (n: NodeId) => {
      const client = nodeClient(n, env.database);
      try {
        return new Set((await client.query<{ user_id: string }>('SELECT DISTINCT user_id FROM events_local')).map((r) => r.user_id));
      } finally {
        await client.close();
      }
    };
    const [shard1, shard2] = [await usersOn(1), await usersOn(3)];
    const users = new Set(interactions.flatMap((e) => ('user_id' in e ? [e.user_id] : [])));
    assert.deepEqual([...shard1].filter((u) => shard2.has(u)), [], 'a user on both shards');
    assert.equal(shard1.size + shard2.size, users.size);
    assert.ok(shard1.size > 0 && shard2.size > 0, `users per shard ${shard1.size}/${shard2.size}`);
    console.log(`      events per shard ${counts.get(1)}/${counts.get(3)}, users per shard ${shard1.size}/${shard2.size}`);
  });
});
