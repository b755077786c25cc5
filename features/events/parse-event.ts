import { formatIssues } from '../../infra/config.js';
import { parseJsonMessage } from './json-message.js';
import { EVENT_TYPES, EventSchema, MAX_EVENT_BYTES, type Event } from './event-schema.js';

export type ParseResult = { ok: true; event: Event } | { ok: false; reason: string };

/**
 * Bytes (a Kafka message value, a JSONL line) → a valid Event or the reason it
 * is not one. Never throws: bad input is data to dead-letter, not a crash.
 */
export function parseEvent(raw: Uint8Array | string, maxBytes = MAX_EVENT_BYTES): ParseResult {
  const message = parseJsonMessage(raw, maxBytes);
  if (!message.ok) return message;
  const json = message.json;
  const type = json.type;
  if (typeof type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(type)) {
    return { ok: false, reason: `unknown event type ${JSON.stringify(type)}; expected one of ${EVENT_TYPES.join(', ')}` };
  }
  const result = EventSchema.safeParse(json);
  if (!result.success) return { ok: false, reason: `invalid ${type} event: ${formatIssues(result.error).join('; ')}` };
  return { ok: true, event: result.data };
}
