/**
 * Below this, a bare number is taken as epoch seconds (1e11 s is the year
 * 5138; 1e11 ms is 1973), so files in either unit read the same.
 */
const SECONDS_BELOW = 1e11;

/** Epoch ms from a number (epoch s or ms), a string of one, or an ISO-8601 date; undefined when it is none of these. */
export function parseTimestamp(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? toMs(value) : undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return toMs(Number(text));
  const ms = Date.parse(text);
  return Number.isFinite(ms) && /^\d{4}-\d{2}-\d{2}/.test(text) ? ms : undefined;
}

function toMs(n: number): number {
  return n < SECONDS_BELOW ? Math.round(n * 1000) : Math.round(n);
}
