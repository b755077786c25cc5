import { formatIssues } from '../../infra/config.js';
import { checkEvent } from './event-check.js';
import { parseJsonMessage } from './json-message.js';
import { EVENT_TYPES, EventSchema, MAX_EVENT_BYTES, type Event } from './event-schema.js';

export type ParseResult = { ok: true; event: Event } | { ok: false; reason: string };

/**
 * Bytes (a Kafka message value, a JSONL line) → a valid Event or the reason it
 * is not one. Never throws: bad input is data to dead-letter, not a crash.
 */
export function parseEvent(raw: Uint8Array | string, maxBytes = MAX_EVENT_BYTES): ParseResult {
  const fast = parseWellFormed(raw, maxBytes);
  return fast !== undefined ? { ok: true, event: fast } : parseEventBySchema(raw, maxBytes);
}

/**
 * parseEvent through the zod schema alone: every refusal's reason comes from
 * here. Exported so tests can hold the fast path to it.
 */
export function parseEventBySchema(raw: Uint8Array | string, maxBytes = MAX_EVENT_BYTES): ParseResult {
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

const utf8 = new TextDecoder('utf-8', { fatal: true });
const BACKSLASH = 0x5c;

/**
 * The common case in one pass each of decoding, JSON.parse and the checker:
 * a message without a backslash (so no escape can hide a duplicate key or a
 * lone surrogate) that is a valid event. Undefined for anything else, which
 * the full path above then accepts or refuses with its reason.
 */
function parseWellFormed(raw: Uint8Array | string, maxBytes: number): Event | undefined {
  let text: string;
  if (typeof raw === 'string') {
    if (raw.length > maxBytes || Buffer.byteLength(raw) > maxBytes) return undefined;
    text = raw;
  } else {
    if (raw.byteLength > maxBytes || raw.indexOf(BACKSLASH) !== -1) return undefined;
    try {
      text = utf8.decode(raw);
    } catch {
      return undefined;
    }
  }
  if (typeof raw === 'string' && text.includes('\\')) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const keys = { n: 0 };
  const event = checkEvent(json as Record<string, unknown>, keys);
  // JSON.parse keeps one of two equal keys: fewer keys parsed than written means a duplicate.
  return event !== undefined && keysWritten(text) === keys.n ? event : undefined;
}

/**
 * Object keys written in `text`, valid JSON without backslashes: strings
 * followed by a colon. Without escapes every quote opens or closes a string.
 */
function keysWritten(text: string): number {
  let n = 0;
  let i = text.indexOf('"');
  while (i !== -1) {
    const close = text.indexOf('"', i + 1);
    let j = close + 1;
    let c = text.charCodeAt(j);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++j);
    if (c === 0x3a /* : */) n++;
    i = text.indexOf('"', j);
  }
  return n;
}
