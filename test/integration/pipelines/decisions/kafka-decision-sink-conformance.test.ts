import type { Admin, Kafka } from 'kafkajs';
import { loadServicesConfig } from '../../../../infra/config.js';
import { createKafka, ensureTopics } from '../../../../infra/kafka/kafka-client.js';
import type { DecisionRecord } from '../../../../pipelines/decisions/decision-record.js';
import { KafkaDecisionSink, type KafkaDecisionSinkOptions } from '../../../../pipelines/decisions/kafka-decision-sink.js';
import { decisionSinkConformance } from '../../../helpers/conformance/decision-sink.js';
import { randomName } from '../../../helpers/names.js';
import { waitFor } from '../../../helpers/wait-for.js';

/**
 * Everything on a fresh topic, each partition in offset order. The topic's
 * end offsets say how many records it holds (the idempotent producer writes
 * no control records), so a duplicate shows as one record too many.
 */
async function readTopic(kafka: Kafka, admin: Admin, topic: string): Promise<DecisionRecord[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const total = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  const perPartition = new Map<number, DecisionRecord[]>();
  let received = 0;
  const consumer = kafka.consumer({ groupId: randomName('test_conf_decisions_group') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const list = perPartition.get(partition) ?? [];
        perPartition.set(partition, list);
        list.push(JSON.parse(message.value!.toString('utf8')) as DecisionRecord);
        received++;
      },
    });
    await waitFor(() => received >= total, { timeoutMs: 60_000, what: `all ${total} records of ${topic} consumed` });
  } finally {
    await consumer.disconnect();
  }
  return [...perPartition.keys()].sort((a, b) => a - b).flatMap((p) => perPartition.get(p)!);
}

describe('Kafka decision sink against the shared broker', () => {
  let kafka: Kafka;
  let admin: Admin;
  before(async () => {
    kafka = createKafka(loadServicesConfig().kafka);
    admin = kafka.admin();
    await admin.connect();
  });
  after(async () => {
    await admin.disconnect();
  });

  const kafkaSink = (options: Omit<KafkaDecisionSinkOptions, 'kafka' | 'topic'>) => async () => {
    const topic = randomName('test_conf_decisions');
    await ensureTopics(admin, [{ topic, numPartitions: 3 }]);
    const sink = await KafkaDecisionSink.connect({ kafka: loadServicesConfig().kafka, topic, ...options });
    return {
      sink,
      readBack: () => readTopic(kafka, admin, topic),
      async cleanup() {
        await sink.close();
        await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      },
    };
  };

  decisionSinkConformance('Kafka (3 partitions, keyed by user; default limits)', kafkaSink({}));
  // Small produce requests: maxRecordBytes follows maxBatchBytes, and batches are cut often.
  decisionSinkConformance('Kafka (16 KiB and 3 records per produce request)', kafkaSink({ maxBatchBytes: 16 * 1024, maxBatch: 3 }));
});
