import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { syntheticEvents, type SyntheticOptions } from '../../../../features/datasets/synthetic.js';
import { loadServicesConfig } from '../../../../infra/config.js';
import { createKafka, ensureTopics } from '../../../../infra/kafka/kafka-client.js';
import { EventProducer } from '../../../../pipelines/ingest/event-producer.js';
import type { KafkaEndpoint } from '../../../../infra/kafka/kafka-client.js';
import { eventKey } from '../../../../pipelines/ingest/events-kind.js';
import { randomName } from '../../../helpers/names.js';

/** A fresh topic, group, registry and checkpoint folder for one streaming-training test; removed by cleanup(). */
export interface StreamEnv {
  kafka: Kafka;
  admin: Admin;
  topic: string;
  groupId: string;
  dir: string;
  registry: string;
  checkpointDir: string;
  brokers: string;
  kafkaEndpoint: KafkaEndpoint;
  cleanup(): Promise<void>;
}

export async function createStreamEnv(partitions: number): Promise<StreamEnv> {
  const services = loadServicesConfig();
  const kafka = createKafka(services.kafka);
  const admin = kafka.admin();
  await admin.connect();
  const topic = randomName('test_stream');
  await ensureTopics(admin, [{ topic, numPartitions: partitions }]);
  const dir = mkdtempSync(path.join(tmpdir(), 'train-stream-'));
  return {
    kafka, kafkaEndpoint: services.kafka, admin, topic, groupId: randomName('test_train_stream'), dir,
    registry: path.join(dir, 'registry'), checkpointDir: path.join(dir, 'checkpoints'), brokers: services.kafka.brokers.join(','),
    cleanup: async () => {
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Produces these events, keyed as ingestion keys them, and waits for the broker's acknowledgement. */
export async function produceEvents(env: StreamEnv, events: Iterable<Parameters<typeof eventKey>[0]>): Promise<number> {
  const producer = new EventProducer(env.kafkaEndpoint, env.topic, { batchSize: 2000 });
  await producer.connect();
  let n = 0;
  for (const e of events) {
    await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
    n++;
  }
  await producer.close();
  return n;
}

/** Produces the synthetic stream (catalog, then impressions) keyed by user; returns the message count. */
export async function produceSynthetic(env: StreamEnv, options: SyntheticOptions): Promise<number> {
  const producer = new EventProducer(env.kafkaEndpoint, env.topic, { batchSize: 2000 });
  await producer.connect();
  let n = 0;
  for (const e of syntheticEvents(options)) {
    await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
    n++;
  }
  await producer.close();
  return n;
}
