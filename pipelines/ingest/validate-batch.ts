import type { KafkaMessage } from 'kafkajs';
import type { DeadLetter } from './dead-letter.js';
import type { IngestKind } from './ingest-kind.js';
import type { PartitionBatch } from './ingest-pipeline.js';

/**
 * One partition's fetched messages → valid records and dead letters. Never
 * throws on bad input; a message whose kind's parser throws anyway (a bug) is
 * dead-lettered with the error as the reason, so bad input cannot stop
 * the consumer.
 */
export function validateBatch(kind: IngestKind, topic: string, partition: number, messages: readonly KafkaMessage[], lastOffset: number): PartitionBatch {
  const valid: PartitionBatch['valid'] = [];
  const dead: DeadLetter[] = [];
  let bytes = 0;
  for (const message of messages) {
    bytes += (message.key?.byteLength ?? 0) + (message.value?.byteLength ?? 0);
    const offset = Number(message.offset);
    const kafkaTs = Number(message.timestamp);
    let reason: string;
    if (message.value === null || message.value.byteLength === 0) {
      reason = 'empty message (no value)';
    } else {
      let outcome;
      try {
        outcome = kind.parse(message.value);
      } catch (error) {
        outcome = { ok: false as const, reason: `validator failed: ${error instanceof Error ? error.message : String(error)}` };
      }
      if (outcome.ok) {
        valid.push({ record: outcome.record, offset, kafkaTs, key: message.key ?? null, value: message.value });
        continue;
      }
      reason = outcome.reason;
    }
    dead.push({ topic, partition, offset, timestamp: kafkaTs, kind: kind.name, reason, key: message.key ?? null, value: message.value ?? null });
  }
  return {
    topic, partition, kind, valid, dead, messages: messages.length, bytes,
    firstOffset: messages.length > 0 ? Number(messages[0]!.offset) : lastOffset,
    lastOffset,
  };
}
