import { EVENT_SCHEMA_VERSION, type AttributeMap, type Event, type InteractionEvent } from '../../features/events/event-schema.js';

/**
 * Events ↔ rows of the offline store's tables (infra/migrations 0001, 0002).
 * Interactions go to `events`, attribute updates to `item_attributes` and
 * `user_attributes`. The mapping is lossless: rowToEvent(eventToRow(e)) == e.
 */
export const OFFLINE_TABLES = { events: 'events', itemAttributes: 'item_attributes', userAttributes: 'user_attributes', deadLetters: 'dead_letters' } as const;

/** Where a row came from in Kafka; -1 when it was not ingested from Kafka. */
export interface SourcePosition {
  partition: number;
  offset: number;
}

const NO_SOURCE: SourcePosition = { partition: -1, offset: -1 };

export type EventRow = {
  event_id: string;
  event_type: string;
  ts: number;
  user_id: string;
  item_id: string;
  value: number | null;
  label: number | null;
  request_id: string;
  /** JSON object, or '' when the event had no context. */
  context: string;
  schema_version: number;
  kafka_partition: number;
  kafka_offset: number;
};

export type AttributeRow = {
  event_id: string;
  ts: number;
  /** user_id or item_id, depending on the table. */
  [entity: string]: string | number;
  attributes: string;
  schema_version: number;
  kafka_partition: number;
  kafka_offset: number;
};

/** Rows per table, as one flush inserts them. */
export type TableRows = Map<string, Record<string, unknown>[]>;

export function pushRow(rows: TableRows, table: string, row: Record<string, unknown>): void {
  let list = rows.get(table);
  if (!list) rows.set(table, (list = []));
  list.push(row);
}

/** The table an event belongs in and its row there. */
export function eventRow(event: Event, source: SourcePosition = NO_SOURCE): { table: string; row: EventRow | AttributeRow } {
  // Object literals without spreads: this runs once per ingested event.
  switch (event.type) {
    case 'item_update':
      return {
        table: OFFLINE_TABLES.itemAttributes,
        row: { event_id: event.event_id, ts: event.ts, item_id: event.item_id, attributes: JSON.stringify(event.attributes), schema_version: event.schema_version, kafka_partition: source.partition, kafka_offset: source.offset },
      };
    case 'user_update':
      return {
        table: OFFLINE_TABLES.userAttributes,
        row: { event_id: event.event_id, ts: event.ts, user_id: event.user_id, attributes: JSON.stringify(event.attributes), schema_version: event.schema_version, kafka_partition: source.partition, kafka_offset: source.offset },
      };
    default:
      return {
        table: OFFLINE_TABLES.events,
        row: {
          event_id: event.event_id,
          event_type: event.type,
          ts: event.ts,
          user_id: event.user_id,
          item_id: event.item_id,
          value: event.value ?? null,
          label: event.label ?? null,
          request_id: event.request_id ?? '',
          context: event.context === undefined ? '' : JSON.stringify(event.context),
          schema_version: event.schema_version,
          kafka_partition: source.partition,
          kafka_offset: source.offset,
        },
      };
  }
}

/** Columns read back by the query layer (the Kafka position is not part of the event). */
export const EVENT_COLUMNS = 'event_id, event_type, ts, user_id, item_id, value, label, request_id, context, schema_version';
export const ATTRIBUTE_COLUMNS = (entity: 'item_id' | 'user_id') => `event_id, ts, ${entity}, attributes, schema_version`;

export type EventRowRead = Omit<EventRow, 'kafka_partition' | 'kafka_offset'>;

export function interactionFromRow(row: EventRowRead): InteractionEvent {
  const event: InteractionEvent = {
    schema_version: EVENT_SCHEMA_VERSION,
    event_id: row.event_id,
    type: row.event_type as InteractionEvent['type'],
    ts: Number(row.ts),
    user_id: row.user_id,
    item_id: row.item_id,
  };
  if (row.label !== null) event.label = Number(row.label) as 0 | 1;
  if (row.value !== null) event.value = Number(row.value);
  if (row.request_id !== '') event.request_id = row.request_id;
  if (row.context !== '') event.context = JSON.parse(row.context) as AttributeMap;
  return event;
}

export function updateFromRow(kind: 'item_update' | 'user_update', row: { event_id: string; ts: number; item_id?: string; user_id?: string; attributes: string }): Event {
  const attributes = JSON.parse(row.attributes) as AttributeMap;
  const base = { schema_version: EVENT_SCHEMA_VERSION, event_id: row.event_id, ts: Number(row.ts), attributes } as const;
  return kind === 'item_update' ? { ...base, type: 'item_update', item_id: row.item_id! } : { ...base, type: 'user_update', user_id: row.user_id! };
}
