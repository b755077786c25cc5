import type { Message } from 'kafkajs';
import type { Event } from '../../../../features/events/event-schema.js';
import { RecsysError } from '../../../../infra/errors.js';
import type { SqlClient } from '../../../../infra/clickhouse/sql-client.js';
import { eventsKind } from '../../../../pipelines/ingest/events-kind.js';
import type { CommitOffset, PartitionBatch } from '../../../../pipelines/ingest/ingest-pipeline.js';
import type { RedisOnlineWriter, PartitionChunk } from '../../../../pipelines/online-store/redis-online-store.js';
import { MemoryOnlineStore } from '../../../../pipelines/online-store/memory-online-store.js';
import { redisKeys } from '../../../../pipelines/online-store/redis-keys.js';
import type { OnlineStoreSpec } from '../../../../pipelines/online-store/online-ops.js';

/** The broker's default message.max.bytes. */
export const BROKER_MESSAGE_MAX_BYTES = 1_048_588;
const size = (v: Buffer | string | null | undefined) => (v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.byteLength);

export const spec: OnlineStoreSpec = { label: { from: 'label' }, behaviour: { types: ['impression', 'click'], positiveOnly: true, maxLength: 3 } };
export const kind = eventsKind(spec);
export const event = (i: number, user = `u${i % 3}`): Event => ({ schema_version: 1, type: 'impression', event_id: `e${i}`, ts: 1_704_067_200_000 + i, user_id: user, item_id: `i${i % 5}`, label: (i % 2) as 0 | 1 });
export const batch = (partition: number, from: number, n: number): PartitionBatch => ({
  topic: 't', partition, kind, firstOffset: from, lastOffset: from + n - 1, messages: n, dead: [],
  valid: Array.from({ length: n }, (_, k) => ({ record: event(from + k), offset: from + k, kafkaTs: 0 })),
});

/**
 * Fakes with the real stores' semantics: a table of rows, an online store
 * with `buckets` buckets, each with per-partition watermarks and dedupe windows.
 */
export function fakes({ failInserts = 0, dedupeWindow = 20_000, buckets = 1 } = {}) {
  const log: string[] = [];
  const rows: Record<string, unknown>[] = [];
  let failures = failInserts;
  const clickhouse: SqlClient = {
    command: async () => {},
    query: async () => [],
    insert: async (_table, r) => {
      if (failures-- > 0) throw new RecsysError('ClickHouse down', { retriable: true });
      rows.push(...r);
      log.push(`insert ${r.length}`);
    },
    close: async () => {},
  };
  const memory = new MemoryOnlineStore(spec);
  const keys = redisKeys('fake:', buckets);
  // `partition/bucket` → watermark; → chunk's last offset → its ids, as the Redis hash.
  const marks = new Map<string, number>();
  const seen = new Map<string, Map<number, string[]>>();
  const behind = new Map<number, string>();
  const bucketsOf = (partition: number) => Array.from({ length: buckets }, (_, b) => marks.get(`${partition}/${b}`) ?? -1);
  const watermarks = {
    /** The partition's watermark: the lowest of its buckets'. */
    get: (partition: number) => Math.min(...bucketsOf(partition)),
    of: bucketsOf,
    /** Sets the partition's watermark in every bucket (as a restored snapshot would). */
    set: (partition: number, value: number) => { for (let b = 0; b < buckets; b++) marks.set(`${partition}/${b}`, value); },
    clear: () => marks.clear(),
  };
  const online = {
    dedupeWindow,
    keys,
    seenWindows: async (_topic: string, partition: number) => Array.from({ length: buckets }, (_, b) => new Map(seen.get(`${partition}/${b}`) ?? [])),
    watermarks: async (_topic: string, partition: number) => bucketsOf(partition),
    applyChunks: async (_topic: string, partition: number, byBucket: readonly (readonly PartitionChunk[])[]) => {
      const applied = byBucket.map((chunks, b) => {
        const at = `${partition}/${b}`;
        let n = 0;
        for (const c of chunks) {
          if ((marks.get(at) ?? -1) !== c.expected) break;
          memory.apply(c.ops);
          if (dedupeWindow > 0) {
            const window = seen.get(at) ?? new Map<number, string[]>();
            if (c.ids?.length) window.set(c.last, [...c.ids]);
            for (const last of window.keys()) if (last <= c.last - dedupeWindow) window.delete(last);
            seen.set(at, window);
          }
          marks.set(at, c.last);
          n++;
        }
        return n;
      });
      log.push(`redis ${applied.join('+')}/${byBucket.map((c) => c.length).join('+')}`);
      return applied;
    },
    markBehind: async (_topic: string, partition: number, detail: string) => { behind.set(partition, detail); },
    behind: async () => new Map(behind),
  } as unknown as RedisOnlineWriter;
  const commits: CommitOffset[][] = [];
  const deadLetters: Message[][] = [];
  const sinks = {
    clickhouse, online,
    sendDeadLetters: async (messages: Message[]) => {
      // As the broker: one produce request above message.max.bytes (1 MiB by default) is refused, and no retry changes that.
      const bytes = messages.reduce((n, m) => n + size(m.key) + size(m.value as Buffer | null) + Object.entries(m.headers ?? {}).reduce((h, [k, v]) => h + k.length + size(v as Buffer | string), 0), 0);
      if (bytes > BROKER_MESSAGE_MAX_BYTES) throw Object.assign(new Error('The request included a message larger than the max message size the server will accept'), { name: 'KafkaJSProtocolError', type: 'MESSAGE_TOO_LARGE', retriable: false });
      deadLetters.push(messages);
    },
    commit: async (offsets: CommitOffset[]) => { commits.push(offsets); log.push('commit'); },
  };
  return { sinks, rows, memory, watermarks, commits, log, behind, deadLetters };
}

