import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Producer } from 'kafkajs';
import { ensureTopics } from '../../../infra/kafka/kafka-client.js';
import type { Event } from '../../../features/events/event-schema.js';
import { readDecisions, readOutcomes, shownWithOutcomes } from '../../../pipelines/decisions/decision-store.js';
import { decisionsKind } from '../../../pipelines/decisions/decisions-kind.js';
import { eventsKind } from '../../../pipelines/ingest/events-kind.js';
import { IngestConsumer } from '../../../pipelines/ingest/ingest-consumer.js';
import { readDeadLetters } from '../../../pipelines/ingest/offline-store.js';
import { onlineSpecFrom } from '../../../pipelines/online-store/online-ops.js';
import { ModelRegistry } from '../../../pipelines/registry/model-registry.js';
import { createServicesNotifier } from '../../../pipelines/registry/services-notifier.js';
import { loadServeSettings } from '../../../serving/serve-config.js';
import { startServer, type RunningServer } from '../../../serving/server.js';
import { randomName } from '../../helpers/names.js';
import { publishRandomGraph, publishTinyDin, tinySplits } from '../../helpers/serving-fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';
import { createIngestEnv, type IngestEnv } from '../pipelines/ingest/ingest-env.js';

const post = async (url: string, body: unknown) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('serving on the real stack: decision records and hot reload', function () {
  this.timeout(180_000);
  let env: IngestEnv;
  let registry: string;
  let decisionsTopic: string;
  let channel: string;
  let consumer: IngestConsumer | undefined;
  let server: RunningServer | undefined;
  let producer: Producer | undefined;

  before(async () => {
    env = await createIngestEnv({ partitions: 2 });
    decisionsTopic = randomName('test_decisions');
    channel = randomName('test_models');
    await ensureTopics(env.admin, [{ topic: decisionsTopic, numPartitions: 2 }]);
    registry = mkdtempSync(path.join(tmpdir(), 'serving-it-'));
    await publishTinyDin(registry, 'syn-din');
    await publishRandomGraph(registry, 'syn-graph');
    const spec = onlineSpecFrom(tinySplits().encoder.spec);
    consumer = await IngestConsumer.start({
      kafka: env.services.kafka, groupId: env.groupId, deadLetterTopic: env.deadLetterTopic, clickhouse: env.db, redis: env.redis, redisPrefix: env.prefix,
      maxHistory: spec.behaviour.maxLength, pipeline: { maxFlushMessages: 1000 },
      topics: [{ topic: env.topic, kind: eventsKind(spec), partitions: 2 }, { topic: decisionsTopic, kind: decisionsKind(), partitions: 2 }],
    });
    producer = env.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    server = await startServer({
      settings: loadServeSettings({}, {
        registry, ranker: 'syn-din', retrieval: 'syn-graph', itemIdPrefix: 'i', userIdPrefix: 'u', port: 0,
        onlineStore: 'redis', decisions: 'kafka', modelsChannel: channel, pollSeconds: 0, numCandidates: 40, allowLatest: true,
      }),
      services: env.services,
      env: { KAFKA_DECISIONS_TOPIC: decisionsTopic },
    });
  });

  after(async () => {
    await server?.close();
    await producer?.disconnect();
    await consumer?.stop();
    await env?.admin.deleteTopics({ topics: [decisionsTopic] }).catch(() => {});
    await env?.cleanup();
    if (registry) rmSync(registry, { recursive: true, force: true });
  });

  it('one recommend call → exactly one decision row (with its candidates) that an outcome joins to; bad records are dead-lettered', async () => {
    // The user's history reaches Redis through ingestion, as in production.
    const now = Date.now();
    const history: Event[] = ['i1', 'i2', 'i3'].map((item_id, i) => ({ schema_version: 1, type: 'click', event_id: randomName('h'), ts: now - 10_000 + i, user_id: 'u3', item_id, label: 1 }));
    await producer!.send({ topic: env.topic, messages: history.map((e) => ({ key: 'u3', value: JSON.stringify(e) })) });
    await waitFor(async () => (await env.redis.zcard(`${env.prefix}u:u3:h`)) === 3, { what: 'u3 history in Redis', timeoutMs: 60_000 });

    const res = await post(`${server!.url}/v1/recommend`, { user_id: 'u3', k: 5, exploration: { scheme: 'epsilon-greedy', epsilon: 0.3 }, context: { device: 'web' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const requestId = res.body.request_id as string;
    const items = res.body.items as { item_id: string; propensity: number }[];
    assert.equal(items.length, 5);
    assert.ok(items.every((i) => !['i1', 'i2', 'i3'].includes(i.item_id)), 'seen items are filtered');

    // An outcome: the user clicks the second shown item; plus a bad decision record.
    const click: Event = { schema_version: 1, type: 'click', event_id: randomName('c'), ts: Date.now(), user_id: 'u3', item_id: items[1]!.item_id, label: 1, request_id: requestId };
    await producer!.send({ topic: env.topic, messages: [{ key: 'u3', value: JSON.stringify(click) }] });
    await producer!.send({ topic: decisionsTopic, messages: [{ key: 'u3', value: JSON.stringify({ request_id: 'broken', user_id: 'u3' }) }] });

    // The decision and its candidate rows are two inserts: wait for both.
    const [decision] = await waitFor(async () => {
      const found = await readDecisions(env.db, { requestIds: [requestId] });
      return found.length > 0 && found[0]!.items.length > 0 && found;
    }, { what: 'the decision row with its candidate rows', timeoutMs: 60_000 });
    const count = await env.db.query<{ n: number }>(`SELECT count() AS n FROM decisions WHERE request_id = '${requestId}'`);
    assert.equal(Number(count[0]!.n), 1, 'exactly one decision row, even without FINAL');
    assert.equal(decision!.user_id, 'u3');
    assert.deepEqual([decision!.ranker_model, decision!.ranker_version, decision!.retrieval_model, decision!.retrieval_version], ['syn-din', 1, 'syn-graph', 1]);
    assert.deepEqual([decision!.exploration, decision!.epsilon, decision!.k, decision!.shown], ['epsilon-greedy', 0.3, 5, 5]);
    assert.equal(decision!.context, '{"device":"web"}');
    assert.equal(decision!.items.length, decision!.candidates);
    const shown = decision!.items.filter((i) => i.position >= 0).sort((a, b) => a.position - b.position);
    assert.deepEqual(shown.map((i) => i.item_id), items.map((i) => i.item_id));
    shown.forEach((s, p) => assert.ok(Math.abs(s.propensity - items[p]!.propensity) < 1e-12));

    const outcomes = await waitFor(async () => {
      const found = await readOutcomes(env.db, [requestId]);
      return found.length > 0 && found;
    }, { what: 'the outcome row', timeoutMs: 60_000 });
    assert.deepEqual(outcomes.map((o) => [o.item_id, o.event_type, o.label]), [[items[1]!.item_id, 'click', 1]]);
    const joined = (await shownWithOutcomes(env.db, decision!.ts, decision!.ts + 1)).filter((r) => r.request_id === requestId);
    assert.equal(joined.length, 5);
    assert.deepEqual(joined.filter((r) => r.event_type === 'click').map((r) => [r.item_id, r.position]), [[items[1]!.item_id, 1]]);

    const dead = await waitFor(async () => {
      const rows = await readDeadLetters(env.db, decisionsTopic);
      return rows.length > 0 && rows;
    }, { what: 'the dead-lettered decision', timeoutMs: 60_000 });
    assert.equal(dead[0]!.kind, 'decisions');
    assert.match(dead[0]!.reason, /invalid decision record/);
  });

  it('the same x-request-id sent twice → two decision rows with their own keys, both keeping the caller\'s id as client_request_id', async () => {
    const trace = randomName('client-trace');
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${server!.url}/v1/recommend`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': trace }, body: JSON.stringify({ user_id: 'u5', k: 3 }) });
      const body = (await res.json()) as { request_id: string };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(res.headers.get('x-request-id'), body.request_id);
      ids.push(body.request_id);
    }
    assert.notEqual(ids[0], ids[1]);
    const stored = await waitFor(async () => {
      const found = await readDecisions(env.db, { requestIds: ids });
      return found.length === 2 && found.every((d) => d.items.length > 0) && found;
    }, { what: 'both decisions in ClickHouse', timeoutMs: 60_000 });
    assert.deepEqual(stored.map((d) => d.request_id).sort(), [...ids].sort());
    assert.deepEqual(stored.map((d) => d.client_request_id), [trace, trace]);
    const byTrace = await env.db.query<{ n: number }>(`SELECT count() AS n FROM decisions FINAL WHERE client_request_id = '${trace}'`);
    assert.equal(Number(byTrace[0]!.n), 2, 'a client finds both of its calls by its own id');
  });

  it('hot reload under load: a promote announced on Redis swaps the ranker with zero failed requests', async () => {
    const notifier = createServicesNotifier(env.services, { channel, clickhouse: null });
    try {
      const reg = new ModelRegistry(registry, { notifier });
      await publishTinyDin(registry, 'syn-din');
      let failures = 0;
      let requests = 0;
      const versions = new Set<number>();
      let stop = false;
      const load = Promise.all(Array.from({ length: 4 }, async () => {
        while (!stop) {
          const res = await post(`${server!.url}/v1/score`, { user_id: 'u3', candidates: ['i4', 'i5', 'i6'] });
          requests++;
          if (res.status !== 200) failures++;
          else versions.add((res.body.models as { ranker: { version: number } }).ranker.version);
        }
      }));
      try {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const change = await reg.promote('syn-din', 2, { reason: 'test' });
        assert.ok(change.notified.some((n) => n.sink === 'redis' && n.status === 'sent'), JSON.stringify(change.notified));
        await waitFor(async () => server!.models.current!.ranker.served.version === 2, { what: 'the swap to v2', timeoutMs: 30_000 });
        await new Promise((resolve) => setTimeout(resolve, 300));
      } finally {
        // The load stops whatever happened above, so a failed wait fails the test instead of hanging it.
        stop = true;
        await load;
      }
      assert.equal(failures, 0, `${failures} of ${requests} requests failed`);
      assert.deepEqual([...versions].sort(), [1, 2]);
    } finally {
      await notifier.close();
    }
  });
});
