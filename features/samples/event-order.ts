/**
 * Orders of events within one user's stream.
 * - `time`: by timestamp; events at the same timestamp are NOT in each other's
 *   history (the strict point-in-time rule).
 * - `time-then-item`: by (ts, item_id) as a total order, ids compared
 *   numerically when both are integers; the MovieLens protocol's definition of
 *   "earlier".
 */
export type EventOrder = 'time' | 'time-then-item';

const INTEGER = /^-?\d+$/;

export function compareItemIds(a: string, b: string): number {
  if (INTEGER.test(a) && INTEGER.test(b)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True when an event at (ts, item) comes strictly before one at (refTs, refItem). */
export function isBefore(order: EventOrder, ts: number, item: string, refTs: number, refItem: string): boolean {
  if (ts !== refTs) return ts < refTs;
  return order === 'time-then-item' && compareItemIds(item, refItem) < 0;
}

export function compareEvents(order: EventOrder, a: { ts: number; item: string }, b: { ts: number; item: string }): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  return order === 'time-then-item' ? compareItemIds(a.item, b.item) : 0;
}
