import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import request from 'supertest';
import { loadServicesConfig } from '../../../../infra/config.js';
import { createKafka, ensureTopics } from '../../../../infra/kafka/kafka-client.js';
import { parseDecision } from '../../../../pipelines/decisions/decision-record.js';
import { KafkaDecisionSink } from '../../../../pipelines/decisions/kafka-decision-sink.js';
import { loadServeSettings } from '../../../../serving/serve-config.js';
import { startServer, type RunningServer } from '../../../../serving/server.js';
import { randomName } from '../../../helpers/names.js';
import { publishRandomGraph, publishTinyDin } from '../../../helpers/serving-fixtures.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { PrivateKafka } from '../../../helpers/private-kafka.js';

interface Outcome {
  status: number;
  requestId: string;
  error: string;
  ms: number;
}

const WRITE_TIMEOUT_MS = 1500;

/**
 * /v1/recommend through a Kafka outage, on a broker of the test's own (the
 * shared one is never stopped): while the broker is down every request gets a
 * 503 with a clear message within the write timeout (at once when the queue
 * is full), nothing is shown without its record, and when the broker comes
 * back the server serves again by itself; every 200 has exactly one record in
 * the topic, and a failed request's record is there only if the sink said it
 * might be.
 */
describe('decision sink: a Kafka outage (private broker stopped and restarted)', function () {
  this.timeout(300_000);
  let broker: PrivateKafka | undefined;
  let kafka: Kafka;
  let admin: Admin | undefined;
  let consumer: Consumer | undefined;
  let sink: KafkaDecisionSink;
  let server: RunningServer | undefined;
  let registry: string | undefined;
  const topic = randomName('test_decisions_outage');

  before(async () => {
    broker = await PrivateKafka.create();
    kafka = createKafka({ brokers: [broker.broker], clientId: 'outage-test' });
    admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 2 }]);
    registry = mkdtempSync(path.join(tmpdir(), 'serving-outage-'));
    await publishTinyDin(registry, 'syn-din');
    await publishRandomGraph(registry, 'syn-graph');
    sink = await KafkaDecisionSink.connect({ kafka: { brokers: [broker.broker], clientId: 'outage-test' }, topic, writeTimeoutMs: WRITE_TIMEOUT_MS, maxQueueRecords: 8 });
    server = await startServer({
      settings: loadServeSettings({}, {
        registry, ranker: 'syn-din', retrieval: 'syn-graph', itemIdPrefix: 'i', userIdPrefix: 'u', port: 0,
        onlineStore: 'memory', decisions: 'memory', modelsChannel: '', pollSeconds: 0, numCandidates: 20, allowLatest: true,
      }),
      services: loadServicesConfig({}),
      decisions: sink,
      listen: false,
    });
  });

  after(async () => {
    await consumer?.disconnect().catch(() => {});
    await admin?.disconnect().catch(() => {});
    await server?.close();
    await broker?.destroy();
    if (registry) rmSync(registry, { recursive: true, force: true });
  });

  async function recommend(i: number): Promise<Outcome> {
    const started = Date.now();
    try {
      const res = await request(server!.app).post('/v1/recommend').send({ user_id: `u${i % 7}`, k: 3 }).timeout(20_000);
      return { status: res.status, requestId: res.body.request_id as string, error: (res.body.error as string | undefined) ?? '', ms: Date.now() - started };
    } catch (error) {
      return { status: 0, requestId: '', error: `no answer: ${String(error)}`, ms: Date.now() - started };
    }
  }

  it('answers 503 with a clear message during the outage (at once once the queue is full), recovers by itself, and logs each served decision exactly once', async () => {
    const served: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await recommend(i);
      assert.equal(r.status, 200, r.error);
      served.push(r.requestId);
    }

    await broker!.stop();
    const failed: Outcome[] = [];
    // Two waves of concurrent calls, as traffic keeps coming during an outage.
    for (let wave = 0; wave < 2; wave++) {
      const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => recommend(i)));
      for (const o of outcomes) {
        assert.equal(o.status, 503, `during the outage: ${o.status} ${o.error}`);
        assert.ok(o.ms < WRITE_TIMEOUT_MS + 2000, `answered after ${o.ms} ms: ${o.error}`);
        assert.match(o.error, /^the decision record could not be written \(.*(decision queue is full|did not acknowledge the decision record within 1500 ms|not written to Kafka topic).*\); no recommendation is served without one$/);
      }
      failed.push(...outcomes);
    }
    const full = failed.filter((o) => /decision queue is full/.test(o.error));
    console.log(`outage: ${failed.length} calls answered 503 in at most ${Math.max(...failed.map((o) => o.ms))} ms, ${full.length} of them at once for a full queue (at most ${Math.max(...full.map((o) => o.ms))} ms)`);
    assert.ok(full.length > 0, 'some calls met a full queue');
    assert.match(full[0]!.error, /\(\d+ records, \d+ bytes wait for Kafka topic test_decisions_outage_\w+; nothing acknowledged for \d+ ms/);
    assert.ok(sink.stats().queuedRecords <= 8, `queue bounded: ${sink.stats().queuedRecords}`);

    await broker!.start();
    const restarted = Date.now();
    const back = await waitFor(async () => {
      const r = await recommend(0);
      return r.status === 200 && r;
    }, { timeoutMs: 90_000, intervalMs: 500, what: '/v1/recommend to answer 200 again after the broker is back' });
    served.push(back.requestId);
    console.log(`recovered ${Date.now() - restarted} ms after the broker was back`);
    for (let i = 0; i < 10; i++) {
      const r = await recommend(i);
      assert.equal(r.status, 200, r.error);
      served.push(r.requestId);
    }

    consumer = kafka.consumer({ groupId: randomName('test_decisions_outage_group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen = new Map<string, number>();
    await consumer.run({
      eachMessage: async ({ message }) => {
        const parsed = parseDecision(message.value!);
        assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
        seen.set(parsed.record.request_id, (seen.get(parsed.record.request_id) ?? 0) + 1);
      },
    });
    await waitFor(() => served.every((id) => seen.has(id)), { timeoutMs: 60_000, what: 'every served decision in the topic' });
    for (const id of served) assert.equal(seen.get(id), 1, `served ${id} logged ${seen.get(id)} times`);
    const uncertain = new Set(sink.stats().uncertain);
    const failedButLogged = failed.filter((o) => seen.has(o.requestId) && !uncertain.has(o.requestId));
    assert.deepEqual(failedButLogged.map((o) => o.requestId), [], 'a failed request\'s record is in the topic only when the sink reported it as possibly written');
    assert.ok(full.every((o) => !seen.has(o.requestId)), 'a write refused by a full queue is never sent');
  });
});
