import { formatIssues } from '../../infra/config.js';
import { EVENT_TYPES, EventSchema, MAX_EVENT_BYTES, type Event } from './event-schema.js';

export type ParseResult = { ok: true; event: Event } | { ok: false; reason: string };

/**
 * Bytes (a Kafka message value, a JSONL line) → a valid Event or the reason it
 * is not one. Never throws: bad input is data to dead-letter, not a crash.
 */
export function parseEvent(raw: Uint8Array | string, maxBytes = MAX_EVENT_BYTES): ParseResult {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
  if (size > maxBytes) return { ok: false, reason: `oversized: ${size} bytes > ${maxBytes}` };
  let text: string;
  try {
    text = typeof raw === 'string' ? raw : new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return { ok: false, reason: 'not valid UTF-8' };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `malformed JSON: ${(error as Error).message}` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, reason: 'not a JSON object' };
  const type = (json as { type?: unknown }).type;
  if (typeof type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(type)) {
    return { ok: false, reason: `unknown event type ${JSON.stringify(type)}; expected one of ${EVENT_TYPES.join(', ')}` };
  }
  const result = EventSchema.safeParse(json);
  if (!result.success) return { ok: false, reason: `invalid ${type} event: ${formatIssues(result.error).join('; ')}` };
  return { ok: true, event: result.data };
}
