export type JsonMessage = { ok: true; json: Record<string, unknown> } | { ok: false; reason: string };

/**
 * Bytes or text of one message (a Kafka value, a JSONL line) → a JSON object,
 * or the reason it is not one: too large, not UTF-8, not JSON, not an object,
 * a key given twice, an escaped lone surrogate. Never throws: bad input is
 * data to dead-letter, not a crash.
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
  // JSON.parse keeps the last of two equal keys where other readers keep the first: refuse the ambiguity.
  const duplicate = duplicateKey(text);
  if (duplicate !== undefined) return { ok: false, reason: `malformed JSON: duplicate key ${JSON.stringify(duplicate)}` };
  // `\ud800` is valid JSON but no UTF-8 string: the stores would keep U+FFFD instead, a silent change.
  if (ESCAPED_SURROGATE.test(text) && hasLoneSurrogate(json)) return { ok: false, reason: 'malformed JSON: a string holds a lone UTF-16 surrogate (\\uD800-\\uDFFF escape)' };
  return { ok: true, json: json as Record<string, unknown> };
}

const ESCAPED_SURROGATE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  return Object.entries(value).some(([k, v]) => LONE_SURROGATE.test(k) || hasLoneSurrogate(v));
}

/**
 * The first key that appears twice in one object of `text`, which must be
 * valid JSON (it is only scanned, not validated). One pass over the text.
 */
export function duplicateKey(text: string): string | undefined {
  // One entry per open container: the keys seen so far, or null for an array.
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // The closing quote: the next one not escaped by an odd run of backslashes.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        let backslashes = 0;
        while (text.charCodeAt(j - 1 - backslashes) === 0x5c /* \ */) backslashes++;
        if (backslashes % 2 === 0) break;
      }
      const keys = stack[stack.length - 1];
      if (expectKey && keys) {
        const raw = text.slice(i + 1, j);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, j + 1)) as string) : raw;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] != null;
    }
  }
  return undefined;
}
