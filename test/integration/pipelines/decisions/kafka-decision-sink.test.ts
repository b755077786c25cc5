import assert from 'node:assert/strict';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { loadServicesConfig } from '../../../../infra/config.js';
import { createKafka, ensureTopics } from '../../../../infra/kafka/kafka-client.js';
import { parseDecision } from '../../../../pipelines/decisions/decision-record.js';
import { KafkaDecisionSink } from '../../../../pipelines/decisions/kafka-decision-sink.js';
import { randomName } from '../../../helpers/names.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { sampleDecision } from '../../../unit/pipelines/decisions/decision-fixtures.js';

/**
 * The decision sink against the real broker: writes that arrive while a
 * produce request is in flight go out together in the next one (the
 * idempotent producer sends one at a time), every write lands exactly once,
 * and close() sends what still waits.
 */
describe('Kafka decision sink (real Kafka)', function () {
  this.timeout(120_000);
  let kafka: Kafka;
  let admin: Admin;
  let consumer: Consumer | undefined;
  const topic = randomName('test_decision_sink');

  before(async () => {
    kafka = createKafka(loadServicesConfig().kafka);
    admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 2 }]);
  });
  after(async () => {
    await consumer?.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  });

  it('batches writes behind the request in flight; each record lands once; close sends the rest', async () => {
    const sink = await KafkaDecisionSink.connect({ kafka, topic, lingerMs: 1 });
    const requests: number[] = [];
    // kafkajs reports each produce request it sends.
    const producer = (sink as unknown as { producer: { on: (e: string, f: (ev: { payload: { apiName: string } }) => void) => void; events: { REQUEST: string } } }).producer;
    producer.on(producer.events.REQUEST, (ev) => { if (ev.payload.apiName === 'Produce') requests.push(Date.now()); });
    const ids = Array.from({ length: 300 }, (_, i) => `req-${i}`);
    const write = (id: string, i: number) => sink.write(sampleDecision({ request_id: id, user_id: `u${i % 7}` }));
    // 200 writes one every ~0.5 ms, as requests arrive: a linger window alone would send nearly one request each.
    const spread: Promise<void>[] = [];
    for (const [i, id] of ids.slice(0, 200).entries()) {
      spread.push(write(id, i));
      if (i % 2 === 1) await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(spread);
    const spreadRequests = requests.length;
    // 100 more, not awaited before close(): close sends them.
    const last = ids.slice(200).map((id, i) => write(id, i));
    await sink.close();
    await Promise.all(last);
    assert.ok(spreadRequests < 100, `200 writes arriving over time went out in ${spreadRequests} produce requests`);
    assert.ok(requests.length > spreadRequests, 'close() sent the writes still waiting');

    consumer = kafka.consumer({ groupId: randomName('test_decision_sink_group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen = new Map<string, number>();
    await consumer.run({
      eachMessage: async ({ message }) => {
        const parsed = parseDecision(message.value!);
        if (!parsed.ok) throw new Error(parsed.reason);
        seen.set(parsed.record.request_id, (seen.get(parsed.record.request_id) ?? 0) + 1);
      },
    });
    await waitFor(() => seen.size === ids.length, { timeoutMs: 60_000, what: 'all 300 decision records consumed' });
    assert.deepEqual([...seen.keys()].sort(), [...ids].sort());
    assert.ok([...seen.values()].every((n) => n === 1), 'no record twice');
  });
});
