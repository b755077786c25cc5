import assert from 'node:assert/strict';
import { Partitioners, type KafkaMessage } from 'kafkajs';
import { loadServicesConfig } from '../../../infra/config.js';
import { createKafka, ensureTopics } from '../../../infra/kafka/kafka-client.js';
import { RdKafkaProducer } from '../../../infra/kafka/rdkafka-producer.js';
import { randomName } from '../../helpers/names.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('RdKafkaProducer (librdkafka, real broker)', function () {
  this.timeout(60_000);
  const services = loadServicesConfig();
  const kafka = createKafka(services.kafka);
  const admin = kafka.admin();
  let producer: RdKafkaProducer;
  const topics: string[] = [];

  before(async () => {
    await admin.connect();
    producer = await RdKafkaProducer.connect(services.kafka);
  });
  after(async () => {
    await producer.disconnect();
    await admin.deleteTopics({ topics }).catch(() => {});
    await admin.disconnect();
  });

  async function topic(partitions: number): Promise<string> {
    const name = randomName('test_rdkafka');
    topics.push(name);
    await ensureTopics(admin, [{ topic: name, numPartitions: partitions }]);
    return name;
  }

  it('puts each key on the partition kafkajs\'s default partitioner (the Java client\'s murmur2) picks: a user\'s events stay on one partition whichever client wrote them', async () => {
    const name = await topic(6);
    // Key i written i + 1 times: the per-partition counts tell the placements apart.
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i * 7919}`);
    await producer.send(name, keys.flatMap((key, i) => Array.from({ length: i + 1 }, (_, n) => ({ key, value: String(n) }))));
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
    const expected = new Array<number>(6).fill(0);
    keys.forEach((key, i) => { expected[partitioner({ topic: name, partitionMetadata, message: { key, value: null } })]! += i + 1; });
    const offsets = await admin.fetchTopicOffsets(name);
    const actual = new Array<number>(6).fill(0);
    for (const o of offsets) actual[o.partition] = Number(o.high);
    assert.deepEqual(actual, expected);
    assert.ok(expected.filter((n) => n > 0).length >= 4, `keys spread over partitions: ${expected}`);
  });

  it('writes keys, values, timestamps and headers (a key given several values once per value) as kafkajs reads them', async () => {
    const name = await topic(1);
    const ts = Date.UTC(2026, 0, 2, 3, 4, 5);
    await producer.send(name, [
      { key: 'k1', value: '{"a":1}', timestamp: String(ts), headers: { reason: 'schema: ts is missing', tag: ['x', Buffer.from('y')] } },
      { key: null, value: Buffer.from([0, 255]) },
    ]);
    const received: KafkaMessage[] = [];
    const consumer = kafka.consumer({ groupId: randomName('test_rdkafka_group') });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: name, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => { received.push(message); } });
      await waitFor(() => received.length >= 2, { timeoutMs: 30_000, what: 'two messages' });
    } finally {
      await consumer.disconnect();
    }
    const [first, second] = received;
    assert.equal(first!.key?.toString(), 'k1');
    assert.equal(first!.value?.toString(), '{"a":1}');
    assert.equal(first!.timestamp, String(ts));
    assert.equal(first!.headers?.reason?.toString(), 'schema: ts is missing');
    const tags = first!.headers?.tag;
    assert.deepEqual((Array.isArray(tags) ? tags : [tags]).map(String), ['x', 'y']);
    assert.equal(second!.key, null);
    assert.deepEqual([...second!.value!], [0, 255]);
  });

  it('a record librdkafka refuses fails its send with the reason, after the records before it are acknowledged', async () => {
    const name = await topic(1);
    const tooLarge = 'x'.repeat(2 * 1024 * 1024);
    await assert.rejects(producer.send(name, [{ key: 'a', value: 'fits' }, { key: 'b', value: tooLarge }, { key: 'c', value: 'never sent' }]),
      (error: Error) => error.message.includes(name) && /too large|size/i.test(error.message));
    const [partition] = await admin.fetchTopicOffsets(name);
    assert.equal(Number(partition!.high), 1, 'the record before the refused one is written; the one after is not');
    // The producer goes on.
    await producer.send(name, [{ key: 'd', value: 'after' }]);
    assert.equal(Number((await admin.fetchTopicOffsets(name))[0]!.high), 2);
  });

  it('fails a record not acknowledged within deliveryTimeoutMs (librdkafka\'s message.timeout.ms, a topic-level setting node-rdkafka drops from the global ones)', async () => {
    // A topic that does not exist and is not created: its records wait for metadata until they time out.
    const missing = randomName('test_rdkafka_missing');
    const short = await RdKafkaProducer.connect({ ...services.kafka, deliveryTimeoutMs: 1000, overrides: { 'allow.auto.create.topics': false } });
    try {
      const started = Date.now();
      await assert.rejects(short.send(missing, [{ key: 'a', value: 'never written' }]), (error: Error) => error.message.includes(missing) && /timed out/i.test(error.message));
      // librdkafka's default is 300 s, and a missing topic's records otherwise fail after topic.metadata.propagation.max.ms (30 s).
      assert.ok(Date.now() - started < 15_000, `failed after ${Date.now() - started} ms`);
    } finally {
      await short.disconnect();
    }
  });
});
