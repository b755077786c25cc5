import assert from 'node:assert/strict';
import type { Consumer, Producer } from 'kafkajs';
import { loadServicesConfig } from '../../../infra/config.js';
import { createKafka, ensureTopics } from '../../../infra/kafka/kafka-client.js';
import { randomName } from '../../helpers/names.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('Kafka (real broker)', () => {
  const kafka = createKafka(loadServicesConfig().kafka);
  const admin = kafka.admin();
  let producer: Producer;
  let consumer: Consumer | undefined;

  before(async () => {
    await admin.connect();
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
  });

  after(async () => {
    await consumer?.disconnect();
    await producer.disconnect();
    await admin.disconnect();
  });

  it('creates a topic once and reports it as existing afterwards', async () => {
    const topic = randomName('test_topics');
    assert.deepEqual(await ensureTopics(admin, [{ topic, numPartitions: 3 }]), [topic]);
    assert.deepEqual(await ensureTopics(admin, [{ topic, numPartitions: 3 }]), []);
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    assert.equal(metadata?.partitions.length, 3);
    await admin.deleteTopics({ topics: [topic] });
  });

  it('delivers every produced message to a consumer group, in order per key', async () => {
    const topic = randomName('test_roundtrip');
    await ensureTopics(admin, [{ topic, numPartitions: 2 }]);
    const sent = Array.from({ length: 200 }, (_, i) => ({ key: `user-${i % 7}`, value: JSON.stringify({ i }) }));
    await producer.send({ topic, messages: sent });

    const received: { key: string; i: number }[] = [];
    consumer = kafka.consumer({ groupId: randomName('test_group'), sessionTimeout: 6000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push({ key: message.key!.toString(), i: (JSON.parse(message.value!.toString()) as { i: number }).i });
      },
    });
    await waitFor(() => received.length >= sent.length, { what: `${sent.length} messages`, timeoutMs: 30_000 });
    assert.equal(received.length, sent.length);
    assert.deepEqual(new Set(received.map((r) => r.i)).size, sent.length);
    for (const key of new Set(received.map((r) => r.key))) {
      const order = received.filter((r) => r.key === key).map((r) => r.i);
      assert.deepEqual(order, [...order].sort((a, b) => a - b), `order for ${key}`);
    }
    await consumer.disconnect();
    consumer = undefined;
    await admin.deleteTopics({ topics: [topic] });
  });
});
