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
  /** Present when the value was cut to fit the broker's message limit: the original size in bytes. */
  truncated: 'dlq-truncated-from-bytes',
} as const;

/** Longest reason kept (a validator can describe hundreds of bad fields). */
const MAX_REASON_CHARS = 2000;
/** Per-message framing the estimate adds to key, value and headers (record and header lengths, varints, attributes). */
const RECORD_OVERHEAD_BYTES = 64;

/** Bytes of the original payload kept in the table (the topic keeps all of it). */
const TABLE_PAYLOAD_LIMIT = 64 * 1024;

export function deadLetterMessage(d: DeadLetter): Message {
  const headers: IHeaders = {
    [DEAD_LETTER_HEADERS.reason]: boundedReason(d.reason),
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
      reason: boundedReason(d.reason),
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

function boundedReason(reason: string): string {
  return reason.length <= MAX_REASON_CHARS ? reason : `${reason.slice(0, MAX_REASON_CHARS)}… (${reason.length} characters)`;
}

const byteLength = (v: Buffer | string | null | undefined) => (v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.byteLength);

/** Bytes a message takes in a produce request, over-estimated a little. */
export function messageBytes(m: Message): number {
  let n = RECORD_OVERHEAD_BYTES + byteLength(m.key) + byteLength(m.value as Buffer | string | null);
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) n += Buffer.byteLength(name) + byteLength(v as Buffer | string | undefined) + 8;
  }
  return n;
}

/**
 * Dead-letter messages → produce batches of at most `maxBytes` each, in
 * order, so no request exceeds the broker's `message.max.bytes` (1 MiB by
 * default; a burst of bad messages goes out in several requests instead of
 * one the broker refuses). A single message above `maxBytes` keeps the first
 * bytes of its value that fit and says so in a header (the dead_letters table
 * keeps its size).
 */
export function deadLetterBatches(messages: readonly Message[], maxBytes: number): Message[][] {
  const batches: Message[][] = [];
  let current: Message[] = [];
  let bytes = 0;
  for (let m of messages) {
    let size = messageBytes(m);
    if (size > maxBytes) {
      m = truncated(m, size - maxBytes);
      size = messageBytes(m);
    }
    if (current.length > 0 && bytes + size > maxBytes) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function truncated(m: Message, excess: number): Message {
  const value = Buffer.isBuffer(m.value) ? m.value : Buffer.from((m.value as string | null) ?? '');
  // The header added below takes a few bytes too.
  const keep = Math.max(0, value.byteLength - excess - 64);
  return { ...m, value: value.subarray(0, keep), headers: { ...m.headers, [DEAD_LETTER_HEADERS.truncated]: String(value.byteLength) } };
}
