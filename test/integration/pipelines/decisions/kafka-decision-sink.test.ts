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
 * batch is in flight go out together in the next one, every write lands
 * exactly once, and close() sends what still waits. Batches are counted by
 * the sink's stats().
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
    const sink = await KafkaDecisionSink.connect({ kafka: loadServicesConfig().kafka, topic, lingerMs: 1 });
    const ids = Array.from({ length: 300 }, (_, i) => `req-${i}`);
    const write = (id: string, i: number) => sink.write(sampleDecision({ request_id: id, user_id: `u${i % 7}` }));
    // 200 writes one every ~0.5 ms, as requests arrive: a linger window alone would send nearly one request each.
    const spread: Promise<void>[] = [];
    for (const [i, id] of ids.slice(0, 200).entries()) {
      spread.push(write(id, i));
      if (i % 2 === 1) await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(spread);
    const spreadBatches = sink.stats().batchesSent;
    // 100 more, not awaited before close(): close sends them.
    const last = ids.slice(200).map((id, i) => write(id, i));
    await sink.close();
    await Promise.all(last);
    assert.ok(spreadBatches < 100, `200 writes arriving over time went out in ${spreadBatches} batches`);
    assert.ok(sink.stats().batchesSent > spreadBatches, 'close() sent the writes still waiting');

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

  it('cuts batches by bytes: 30 records of ~210 KB written at once all land, in batches of at most maxBatchBytes (the broker takes ≤ 1 MiB)', async () => {
    const bigTopic = randomName('test_decision_sink_big');
    await ensureTopics(admin, [{ topic: bigTopic, numPartitions: 1 }]);
    try {
      const maxBatchBytes = 1_000_000;
      const sink = await KafkaDecisionSink.connect({ kafka: loadServicesConfig().kafka, topic: bigTopic, maxBatchBytes });
      const candidates = Array.from({ length: 700 }, (_, i) => ({ item_id: `item-${i}-`.padEnd(256, 'x'), score: 0.5, retrieval_score: null }));
      const records = Array.from({ length: 30 }, (_, i) => sampleDecision({
        request_id: `big-${i}`, user_id: 'one-user', candidates,
        shown: [{ item_id: candidates[0]!.item_id, position: 0, score: 0.5, propensity: 1 }], exploration: { scheme: 'none' },
      }));
      const bytes = Buffer.byteLength(JSON.stringify(records[0]));
      assert.ok(bytes > 200_000, `${bytes} bytes per record`);
      const results = await Promise.allSettled(records.map((r) => sink.write(r)));
      await sink.close();
      const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
      assert.deepEqual(failed, [], `${failed.length} writes failed: ${failed[0]}`);
      const { batchesSent, largestBatchBytes } = sink.stats();
      assert.ok(batchesSent >= 7, `${batchesSent} batches for ${30 * bytes} bytes`);
      assert.ok(largestBatchBytes > bytes && largestBatchBytes <= maxBatchBytes, `the largest batch has ${largestBatchBytes} bytes`);

      const reader = kafka.consumer({ groupId: randomName('test_decision_sink_big_group') });
      await reader.connect();
      try {
        await reader.subscribe({ topic: bigTopic, fromBeginning: true });
        const seen: string[] = [];
        await reader.run({ eachMessage: async ({ message }) => { const parsed = parseDecision(message.value!); if (parsed.ok) seen.push(parsed.record.request_id); } });
        await waitFor(() => seen.length >= 30, { timeoutMs: 60_000, what: 'the 30 large records consumed' });
        assert.deepEqual([...seen].sort(), records.map((r) => r.request_id).sort());
      } finally {
        await reader.disconnect();
      }
    } finally {
      await admin.deleteTopics({ topics: [bigTopic] }).catch(() => {});
    }
  });
});
