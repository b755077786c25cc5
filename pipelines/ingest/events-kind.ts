import type { Event } from '../../features/events/event-schema.js';
import { parseEvent } from '../../features/events/parse-event.js';
import { addEventOps, type OnlineStoreSpec } from '../online-store/online-ops.js';
import type { IngestKind } from './ingest-kind.js';
import { eventRow, pushRow } from './offline-rows.js';

/** Interaction and attribute-update events (features/events): validated by parseEvent. */
export function eventsKind(spec: OnlineStoreSpec): IngestKind<Event> {
  return {
    name: 'events',
    parse: (value) => {
      const parsed = parseEvent(value);
      return parsed.ok ? { ok: true, record: parsed.event } : parsed;
    },
    addOffline: (rows, event, source) => {
      const { table, row } = eventRow(event, source);
      pushRow(rows, table, row);
    },
    addOnline: (target, event) => addEventOps(target, spec, event),
    recordId: (event) => event.event_id,
    eventTime: (event) => event.ts,
  };
}

/** The Kafka key of an event: its user, or its item for item updates (so one user's events stay in order on one partition). */
export function eventKey(event: Event): string {
  return event.type === 'item_update' ? `item:${event.item_id}` : event.user_id;
}
