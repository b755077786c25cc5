import type { IHeaders, Message } from 'kafkajs';
import { OFFLINE_TABLES } from './offline-rows.js';

/**
 * A message that failed validation. It goes to the dead-letter topic with
 * its original key and bytes untouched and the reason in headers, keyed by
 * its source position (`<topic>:<partition>:<offset>`, so a dead letter
 * re-sent after a crash is recognisable), and to the `dead_letters` table,
 * where replays collapse.
 */
export interface DeadLetter {
  topic: string;
  partition: number;
  offset: number;
  /** Kafka timestamp of the source message, epoch ms. */
  timestamp: number;
  kind: string;
  reason: string;
  key: Buffer | null;
  value: Buffer | null;
}

export const DEAD_LETTER_HEADERS = {
  reason: 'dlq-reason',
  kind: 'dlq-kind',
  topic: 'dlq-source-topic',
  partition: 'dlq-source-partition',
  offset: 'dlq-source-offset',
  timestamp: 'dlq-source-timestamp',
  key: 'dlq-source-key',
} as const;

/** Bytes of the original payload kept in the table (the topic keeps all of it). */
const TABLE_PAYLOAD_LIMIT = 64 * 1024;

export function deadLetterMessage(d: DeadLetter): Message {
  const headers: IHeaders = {
    [DEAD_LETTER_HEADERS.reason]: d.reason,
    [DEAD_LETTER_HEADERS.kind]: d.kind,
    [DEAD_LETTER_HEADERS.topic]: d.topic,
    [DEAD_LETTER_HEADERS.partition]: String(d.partition),
    [DEAD_LETTER_HEADERS.offset]: String(d.offset),
    [DEAD_LETTER_HEADERS.timestamp]: String(d.timestamp),
  };
  if (d.key) headers[DEAD_LETTER_HEADERS.key] = d.key;
  return { key: `${d.topic}:${d.partition}:${d.offset}`, value: d.value, headers };
}

export function deadLetterRow(d: DeadLetter): { table: string; row: Record<string, unknown> } {
  const payload = d.value ?? Buffer.alloc(0);
  return {
    table: OFFLINE_TABLES.deadLetters,
    row: {
      source_topic: d.topic,
      source_partition: d.partition,
      source_offset: d.offset,
      kafka_ts: d.timestamp,
      kind: d.kind,
      reason: d.reason,
      message_key: d.key ? d.key.toString('base64') : '',
      payload_base64: payload.subarray(0, TABLE_PAYLOAD_LIMIT).toString('base64'),
      payload_bytes: payload.byteLength,
    },
  };
}

/** Reads a dead letter's headers back (tools and tests). */
export function readDeadLetterHeaders(headers: IHeaders | undefined): { reason: string; kind: string; topic: string; partition: number; offset: number } {
  const get = (name: string) => {
    const v = headers?.[name];
    const one = Array.isArray(v) ? v[0] : v;
    return one === undefined ? '' : one.toString();
  };
  return {
    reason: get(DEAD_LETTER_HEADERS.reason),
    kind: get(DEAD_LETTER_HEADERS.kind),
    topic: get(DEAD_LETTER_HEADERS.topic),
    partition: Number(get(DEAD_LETTER_HEADERS.partition)),
    offset: Number(get(DEAD_LETTER_HEADERS.offset)),
  };
}
