/** One positive interaction of a user with an item, as collaborative filtering sees it. */
export interface Interaction {
  user: string;
  item: string;
  /** Event time, epoch milliseconds. */
  ts: number;
}

const CANONICAL_INTEGER = /^(0|[1-9][0-9]{0,14})$/;

/**
 * The order ids are indexed in: integer ids numerically ("2" before "10", so
 * MovieLens keeps its order), then every other id by code unit.
 */
export function compareIds(a: string, b: string): number {
  const [na, nb] = [CANONICAL_INTEGER.test(a), CANONICAL_INTEGER.test(b)];
  if (na && nb) return Number(a) - Number(b);
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
