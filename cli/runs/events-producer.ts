import { createKafka, ensureTopics } from '../../infra/kafka/kafka-client.js';
import { EventProducer, type EventProducerOptions } from '../../pipelines/ingest/event-producer.js';
import { loadIngestSettings } from '../../pipelines/ingest/ingest-config.js';
import { servicesFromFlags, type ServiceFlags } from '../commands/ingest.js';

export interface EventsTopicFlags extends ServiceFlags {
  topic?: string;
  partitions?: number;
}

/** The events topic (created if missing) and a connected producer to it: what `produce`, `simulate` and `simulate-users` send with. */
export async function openEventsProducer(flags: EventsTopicFlags, options: EventProducerOptions = {}): Promise<{ producer: EventProducer; topic: string }> {
  const settings = loadIngestSettings(process.env, { eventsTopic: flags.topic, eventsPartitions: flags.partitions });
  const services = servicesFromFlags(flags);
  const admin = createKafka(services.kafka).admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic: settings.eventsTopic, numPartitions: settings.eventsPartitions }]).finally(() => admin.disconnect());
  const producer = new EventProducer(services.kafka, settings.eventsTopic, options);
  await producer.connect();
  return { producer, topic: settings.eventsTopic };
}
