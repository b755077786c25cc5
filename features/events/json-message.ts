export type JsonMessage = { ok: true; json: Record<string, unknown> } | { ok: false; reason: string };

/**
 * Bytes or text of one message (a Kafka value, a JSONL line) → a JSON object,
 * or the reason it is not one: too large, not UTF-8, not JSON, not an object.
 * Never throws: bad input is data to dead-letter, not a crash.
 */
export function parseJsonMessage(raw: Uint8Array | string, maxBytes: number): JsonMessage {
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
  return { ok: true, json: json as Record<string, unknown> };
}
