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
import { waitFor } from '../../helpers/wait-for.js';
import { waitForDrained, type IngestEnv } from '../../integration/pipelines/ingest/ingest-env.js';
import { assertStoresHoldExactly } from '../../integration/pipelines/ingest/online-store-assert.js';
import { ENTRY, createClusterIngestEnv, killNode, localCount, requireCluster, restartNodes, type NodeId } from './cluster-env.js';

/** Counts a query loop's answers against the entry node while the test runs. */
class Reader {
  answered = 0;
  /** Queries that failed once (a replica dying under a running query) and were answered on the retry. */
  retried = 0;
  unanswered: string[] = [];
  answeredWhileDown = 0;
  down = false;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(private readonly env: IngestEnv) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let ok = false;
      for (let attempt = 0; attempt < 2 && !ok; attempt++) {
        try {
          await this.env.db.query('SELECT count() AS n, uniqExact(user_id) AS u FROM events');
          ok = true;
          if (attempt > 0) this.retried++;
        } catch (error) {
          if (attempt === 1) this.unanswered.push((error as Error).message);
        }
      }
      if (ok) {
        this.answered++;
        if (this.down) this.answeredWhileDown++;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

describe('kill -9 of a ClickHouse replica during ingestion (cluster topology, real pipeline)', function () {
  this.timeout(600_000);
  const spec = onlineSpecFrom(loadFeatureSpec(DEFAULT_FEATURES_FILE));
  const events: Event[] = [...syntheticEvents({ events: 40_000, users: 400, items: 800, seed: 23 })];
  const interactions = events.filter((e) => e.type !== 'item_update' && e.type !== 'user_update');
  // The first replica of shard 2, never the entry node the pipeline's client talks to: with
  // load_balancing in_order it takes shard 2's inserts and reads, which move to node 4 while it is down.
  const victim: NodeId = 3;
  const sibling: NodeId = 4;
  let env: IngestEnv;
  let consumer: IngestConsumer | undefined;
  let reader: Reader | undefined;

  before(async () => {
    await requireCluster();
    env = await createClusterIngestEnv({ partitions: 4 });
  });

  after(async () => {
    await reader?.stop();
    await consumer?.stop();
    // Whatever happened above, leave the topology whole for the next test.
    await restartNodes().catch(() => {});
    await env?.cleanup().catch((error: unknown) => console.error(`cleanup failed: ${String(error)}`));
  });

  it('loses nothing, doubles nothing, answers queries throughout, and the restarted replica catches up', async () => {
    const producer = new EventProducer(env.services.kafka, env.topic, { batchSize: 1000 });
    await producer.connect();
    const half = Math.floor(events.length / 2);
    for (const e of events.slice(0, half)) await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
    await producer.flush();

    const metrics = new IngestMetrics();
    reader = new Reader(env);
    consumer = await IngestConsumer.start({
      kafka: env.services.kafka, groupId: env.groupId, topics: [{ topic: env.topic, kind: eventsKind(spec), partitions: 4 }],
      deadLetterTopic: env.deadLetterTopic, clickhouse: env.db, redis: env.redis, redisPrefix: env.prefix,
      maxHistory: spec.behaviour.maxLength, metrics, pipeline: { maxFlushMessages: 1000 },
    });
    // Kill while inserts are flowing: once a first part of the rows is stored, not after the drain.
    await waitFor(async () => {
      const [row] = await env.db.query<{ n: number }>('SELECT count() AS n FROM events');
      return Number(row!.n) >= 3000;
    }, { timeoutMs: 120_000, intervalMs: 50, what: 'the first 3000 events in ClickHouse' });
    await killNode(victim);
    reader.down = true;
    const killedAt = Date.now();

    for (const e of events.slice(half)) await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
    await producer.close();
    await waitForDrained(env.admin, env.groupId, env.topic, 240_000);
    const drainedWhileDownMs = Date.now() - killedAt;
    await consumer.stop();
    consumer = undefined;

    const restartStart = Date.now();
    await restartNodes();
    const restartMs = Date.now() - restartStart;
    reader.down = false;
    const catchUpStart = Date.now();
    // The restarted replica fetches the parts its sibling took while it was down.
    const caughtUp = await waitFor(async () => {
      const [mine, theirs] = [await localCount(victim, env.database, 'events', { sync: false }), await localCount(sibling, env.database, 'events', { sync: false })];
      return mine === theirs && mine > 0 ? mine : undefined;
    }, { timeoutMs: 120_000, intervalMs: 200, what: `node ${victim} to hold as many events as node ${sibling}` });
    const catchUpMs = Date.now() - catchUpStart;
    await reader.stop();

    // Events in = events out, once each: read through the Distributed table, with and without FINAL.
    await assertStoresHoldExactly(env, spec, events, 3650 * 86_400_000);
    const [final] = await env.db.query<{ n: number; ids: number }>('SELECT count() AS n, uniqExact(event_id) AS ids FROM events FINAL');
    const [raw] = await env.db.query<{ n: number }>('SELECT count() AS n FROM events');
    assert.deepEqual([Number(final!.n), Number(final!.ids)], [interactions.length, interactions.length]);
    // A batch retried after the kill is written again (ingested_at differs, so
    // replication's block dedup does not drop it); it lands on the same shard
    // and key, and FINAL collapses it, as on one server.
    const perShard = [await localCount(ENTRY, env.database, 'events', { final: true }), await localCount(sibling, env.database, 'events', { final: true })];
    assert.equal(perShard[0]! + perShard[1]!, interactions.length, `the two shards hold every event once: ${perShard}`);
    assert.equal(await localCount(victim, env.database, 'events', { final: true }), perShard[1], `node ${victim} holds what node ${sibling} holds`);

    assert.deepEqual(reader.unanswered, [], 'every query answered (one retry allowed)');
    assert.ok(reader.answeredWhileDown > 0, 'queries answered while the replica was down');
    const retries = (await metrics.retries.get()).values.filter((v) => v.labels.store === 'clickhouse').reduce((sum, v) => sum + v.value, 0);
    // A replica's death is an outage to wait out: no write taken for a bad
    // record (bisected, its records dead-lettered), nothing dead-lettered.
    const sum = (values: { value: number }[]) => values.reduce((total, v) => total + v.value, 0);
    assert.equal(sum((await metrics.writeFailures.get()).values), 0, 'writes classified as failed for good');
    assert.equal(sum((await metrics.deadLettered.get()).values), 0, 'events dead-lettered');
    console.log(
      `      events in ${interactions.length} (+${events.length - interactions.length} attribute updates), out ${final!.n} FINAL / ${raw!.n} raw; ` +
        `node ${victim} down ${drainedWhileDownMs} ms while the rest was ingested; restart ${restartMs} ms, caught up ${catchUpMs} ms later (${caughtUp} events, = node ${sibling}); ` +
        `queries answered ${reader.answered} (${reader.answeredWhileDown} while down, ${reader.retried} on a retry), unanswered ${reader.unanswered.length}; ` +
        `ClickHouse write retries ${retries}`,
    );
  });
});
