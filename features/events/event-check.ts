import { attributeNameProblem, EVENT_SCHEMA_VERSION, MAX_EVENT_TS, type AttributeMap, type Event } from './event-schema.js';

/**
 * The event schema (event-schema.ts) as straight-line code, for the hot path
 * of ingestion: zod's general walk was most of the consumer's validation CPU.
 * It only ever answers "valid, and this is the event zod would return" or
 * "not sure": every refusal, and every case it does not handle itself (a
 * `__proto__` attribute, which zod drops from a record), goes to zod, so the
 * reasons of dead letters are zod's, word for word. A property test holds
 * the two to the same answers (test/unit/pipelines/ingest/parse-event-fast.test.ts).
 *
 * `keys` (when given) receives the number of object keys in the accepted
 * event, nested ones included: parse-event.ts compares it with the keys
 * written in the text to find a key given twice without a second scan.
 */
export function checkEvent(json: Record<string, unknown>, keys?: { n: number }): Event | undefined {
  switch (json.type) {
    case 'impression':
    case 'click':
    case 'rating':
      return checkInteraction(json, keys);
    case 'item_update':
    case 'user_update':
      return checkUpdate(json, json.type, keys);
    default:
      return undefined;
  }
}

const ID_MAX = 256;
/** An id as every schema bounds it (events, requests, decision records): 1 to 256 UTF-16 units. */
export const isId = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= ID_MAX;
const isTs = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1e12 && v <= MAX_EVENT_TS;

function checkInteraction(json: Record<string, unknown>, keys: { n: number } | undefined): Event | undefined {
  let n = 0;
  let schemaVersion: unknown;
  let eventId: unknown;
  let ts: unknown;
  let userId: unknown;
  let itemId: unknown;
  let label: unknown;
  let value: unknown;
  let requestId: unknown;
  let context: unknown;
  let hasLabel = false;
  let hasValue = false;
  let hasRequest = false;
  let hasContext = false;
  for (const key in json) {
    n++;
    const v = json[key];
    switch (key) {
      case 'schema_version': schemaVersion = v; break;
      case 'event_id': eventId = v; break;
      case 'ts': ts = v; break;
      case 'type': break;
      case 'user_id': userId = v; break;
      case 'item_id': itemId = v; break;
      case 'label': label = v; hasLabel = true; break;
      case 'value': value = v; hasValue = true; break;
      case 'request_id': requestId = v; hasRequest = true; break;
      case 'context': context = v; hasContext = true; break;
      default: return undefined;
    }
  }
  if (schemaVersion !== undefined && schemaVersion !== EVENT_SCHEMA_VERSION) return undefined;
  if (!isId(eventId) || !isTs(ts) || !isId(userId) || !isId(itemId)) return undefined;
  if (hasLabel && label !== 0 && label !== 1) return undefined;
  if (hasValue && !(typeof value === 'number' && Number.isFinite(value))) return undefined;
  if (hasRequest && !isId(requestId)) return undefined;
  if (hasContext) {
    const k = checkAttributes(context);
    if (k < 0) return undefined;
    n += k;
  }
  if (keys) keys.n = n;
  // Keys in the schema's order, optional ones only when given: as zod builds its output.
  const event: Record<string, unknown> = { schema_version: EVENT_SCHEMA_VERSION, event_id: eventId, ts, type: json.type, user_id: userId, item_id: itemId };
  if (hasLabel) event.label = label;
  if (hasValue) event.value = value;
  if (hasRequest) event.request_id = requestId;
  if (hasContext) event.context = context;
  return event as Event;
}

function checkUpdate(json: Record<string, unknown>, type: 'item_update' | 'user_update', keys: { n: number } | undefined): Event | undefined {
  const entity = type === 'item_update' ? 'item_id' : 'user_id';
  let n = 0;
  let schemaVersion: unknown;
  let eventId: unknown;
  let ts: unknown;
  let id: unknown;
  let attributes: unknown;
  for (const key in json) {
    n++;
    const v = json[key];
    if (key === 'schema_version') schemaVersion = v;
    else if (key === 'event_id') eventId = v;
    else if (key === 'ts') ts = v;
    else if (key === entity) id = v;
    else if (key === 'attributes') attributes = v;
    else if (key !== 'type') return undefined;
  }
  if (schemaVersion !== undefined && schemaVersion !== EVENT_SCHEMA_VERSION) return undefined;
  if (!isId(eventId) || !isTs(ts) || !isId(id)) return undefined;
  const k = checkAttributes(attributes);
  if (k < 0) return undefined;
  if (keys) keys.n = n + k;
  return (type === 'item_update'
    ? { schema_version: EVENT_SCHEMA_VERSION, event_id: eventId, ts, type, item_id: id, attributes: attributes as AttributeMap }
    : { schema_version: EVENT_SCHEMA_VERSION, event_id: eventId, ts, type, user_id: id, attributes: attributes as AttributeMap });
}

/** The number of attributes when `value` is a valid attribute map, else -1. */
function checkAttributes(value: unknown): number {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return -1;
  const map = value as Record<string, unknown>;
  let n = 0;
  for (const name in map) {
    n++;
    // `__proto__` is refused here as a reserved name; zod then drops it from the record (as it always did).
    if (n > 256 || name.length < 1 || name.length > 128 || attributeNameProblem(name) !== undefined) return -1;
    if (!isAttributeValue(map[name])) return -1;
  }
  return n;
}

function isAttributeValue(v: unknown): boolean {
  switch (typeof v) {
    case 'string': return v.length <= 1024;
    case 'number': return Number.isFinite(v);
    case 'boolean': return true;
    default: {
      if (!Array.isArray(v) || v.length > 256) return false;
      for (let i = 0; i < v.length; i++) {
        const s: unknown = v[i];
        if (typeof s !== 'string' || s.length > 256) return false;
      }
      return true;
    }
  }
}
