import type { Event, InteractionEvent } from '../../features/events/event-schema.js';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { sqlNumber, sqlString } from '../../infra/clickhouse/escape.js';
import { ValidationError } from '../../infra/errors.js';
import { ATTRIBUTE_COLUMNS, EVENT_COLUMNS, OFFLINE_TABLES, interactionFromRow, updateFromRow, type EventRowRead } from './offline-rows.js';

/**
 * The query layer of the offline store. Every read collapses replayed
 * duplicates (FINAL on the ReplacingMergeTree tables), so what a reader sees
 * is each event once, whatever ingestion replayed after a crash.
 */
export interface ReadEventsOptions {
  /** First event time, epoch ms (inclusive). @default the earliest stored */
  from?: number;
  /** Last event time, epoch ms (exclusive). @default just after the latest stored */
  to?: number;
  /** Event time per query; bounds the rows held in memory at once. @default 1 day */
  windowMs?: number;
  /**
   * Also yield the attribute updates before `from` (first, in time order), so
   * entities carry the attributes they had at `from`. @default true
   */
  priorAttributes?: boolean;
}

interface AttrRow { event_id: string; ts: number; item_id?: string; user_id?: string; attributes: string }

const DAY_MS = 86_400_000;

/** Attribute updates before interactions at the same instant (as the point-in-time builder orders them). */
const rank = (e: Event) => (e.type === 'item_update' || e.type === 'user_update' ? 0 : 1);
export function compareStored(a: Event, b: Event): number {
  return a.ts - b.ts || rank(a) - rank(b) || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0);
}

/** The stored time range of interactions and updates: [min, max]; undefined when empty. */
export async function storedTimeRange(client: SqlClient): Promise<{ min: number; max: number } | undefined> {
  const rows = await client.query<{ n: number; lo: number; hi: number }>(
    ['events', 'item_attributes', 'user_attributes']
      .map((t) => `SELECT count() AS n, min(ts) AS lo, max(ts) AS hi FROM ${t}`)
      .join(' UNION ALL '),
  );
  const present = rows.filter((r) => Number(r.n) > 0);
  if (present.length === 0) return undefined;
  return { min: Math.min(...present.map((r) => Number(r.lo))), max: Math.max(...present.map((r) => Number(r.hi))) };
}

function rangeWhere(from: number, to: number): string {
  return `ts >= ${sqlNumber(from)} AND ts < ${sqlNumber(to)}`;
}

async function updatesIn(client: SqlClient, where: string): Promise<Event[]> {
  const [items, users] = await Promise.all([
    client.query<AttrRow>(`SELECT ${ATTRIBUTE_COLUMNS('item_id')} FROM ${OFFLINE_TABLES.itemAttributes} FINAL WHERE ${where}`),
    client.query<AttrRow>(`SELECT ${ATTRIBUTE_COLUMNS('user_id')} FROM ${OFFLINE_TABLES.userAttributes} FINAL WHERE ${where}`),
  ]);
  return [...items.map((r) => updateFromRow('item_update', r)), ...users.map((r) => updateFromRow('user_update', r))];
}

export async function interactionsIn(client: SqlClient, from: number, to: number): Promise<InteractionEvent[]> {
  const rows = await client.query<EventRowRead>(`SELECT ${EVENT_COLUMNS} FROM ${OFFLINE_TABLES.events} FINAL WHERE ${rangeWhere(from, to)}`);
  return rows.map(interactionFromRow);
}

/**
 * Every stored event (interactions and attribute updates) with from <= ts < to,
 * in time order (updates first at equal ts, then by event id), each once.
 * Reads one window of event time per query.
 */
export async function* readEvents(client: SqlClient, { from, to, windowMs = DAY_MS, priorAttributes = true }: ReadEventsOptions = {}): AsyncGenerator<Event> {
  if (!(windowMs > 0)) throw new ValidationError(`windowMs must be positive, got ${windowMs}`);
  const range = await storedTimeRange(client);
  if (!range) return;
  const lo = Math.max(from ?? range.min, range.min);
  const hi = Math.min(to ?? range.max + 1, range.max + 1);
  if (priorAttributes && from !== undefined && from > range.min) {
    const prior = await updatesIn(client, `ts < ${sqlNumber(Math.min(from, hi))}`);
    yield* prior.sort(compareStored);
  }
  for (let start = lo; start < hi; start += windowMs) {
    const end = Math.min(start + windowMs, hi);
    const [interactions, updates] = await Promise.all([interactionsIn(client, start, end), updatesIn(client, rangeWhere(start, end))]);
    const window: Event[] = updates.length === 0 ? interactions : [...updates, ...interactions];
    yield* window.sort(compareStored);
  }
}

/** Interactions stored in [from, to), each counted once. */
export async function countInteractions(client: SqlClient, { from = 0, to = 1e13 }: { from?: number; to?: number } = {}): Promise<number> {
  const [row] = await client.query<{ n: number }>(`SELECT count() AS n FROM ${OFFLINE_TABLES.events} FINAL WHERE ${rangeWhere(from, to)}`);
  return Number(row?.n ?? 0);
}

/** The highest Kafka offset stored per partition (all tables), for comparing with committed offsets. */
export async function storedPositions(client: SqlClient): Promise<Map<number, number>> {
  const rows = await client.query<{ p: number; o: number }>(
    [OFFLINE_TABLES.events, OFFLINE_TABLES.itemAttributes, OFFLINE_TABLES.userAttributes]
      .map((t) => `SELECT kafka_partition AS p, max(kafka_offset) AS o FROM ${t} WHERE kafka_partition >= 0 GROUP BY kafka_partition`)
      .join(' UNION ALL '),
  );
  const out = new Map<number, number>();
  for (const r of rows) out.set(Number(r.p), Math.max(out.get(Number(r.p)) ?? -1, Number(r.o)));
  return out;
}

export interface DeadLetterRow {
  source_topic: string;
  source_partition: number;
  source_offset: number;
  kind: string;
  reason: string;
  payload_base64: string;
}

/** Dead letters of one source topic, each once, in Kafka order. */
export async function readDeadLetters(client: SqlClient, sourceTopic: string): Promise<DeadLetterRow[]> {
  return client.query<DeadLetterRow>(
    `SELECT source_topic, source_partition, source_offset, kind, reason, payload_base64 FROM ${OFFLINE_TABLES.deadLetters} FINAL ` +
      `WHERE source_topic = ${sqlString(sourceTopic)} ORDER BY source_partition, source_offset`,
  );
}
