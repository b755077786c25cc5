import type { Admin, Kafka } from 'kafkajs';
import { randomName } from '../../helpers/names.js';
import { waitFor } from '../../helpers/wait-for.js';

/**
 * What a topic holds, read whole from its beginning: message count and how
 * often each id (`idField` of the JSON value, the event id by default)
 * appears. Read once every partition has its full ISR:
 * a leader elected a moment ago may report a high watermark below the one
 * its predecessor had reached (it learns it from the followers' fetches).
 */
export async function topicEventIds(kafka: Kafka, admin: Admin, topic: string, timeoutMs = 120_000, idField = 'event_id'): Promise<{ messages: number; ids: Map<string, number> }> {
  await waitFor(async () => {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    return meta?.topics[0]?.partitions.every((p) => p.isr.length === p.replicas.length);
  }, { timeoutMs: 60_000, what: `${topic}: every partition with its full ISR` });
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  const ids = new Map<string, number>();
  let messages = 0;
  const consumer = kafka.consumer({ groupId: randomName('test_reader') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const remaining = new Set([...ends].filter(([, end]) => end > 0).map(([p]) => p));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic}: not read to its end in ${timeoutMs} ms (partitions left ${[...remaining]})`)), timeoutMs);
      if (remaining.size === 0) { clearTimeout(timer); resolve(); return; }
      consumer.run({
        eachMessage: async ({ partition, message }) => {
          messages++;
          const id = (JSON.parse(message.value!.toString()) as Record<string, string>)[idField]!;
          ids.set(id, (ids.get(id) ?? 0) + 1);
          if (Number(message.offset) + 1 >= ends.get(partition)!) remaining.delete(partition);
          if (remaining.size === 0) { clearTimeout(timer); resolve(); }
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return { messages, ids };
}
