/**
 * Token → integer id for one field. Ids 0 and 1 are reserved in every field:
 * 0 is padding (masked out of lists and sequences), 1 is unknown or missing.
 */
export const PAD_ID = 0;
export const UNKNOWN_ID = 1;
export const FIRST_ID = 2;

export interface Vocabulary {
  id(token: string | undefined): number;
  /** Ids in [0, size); undefined for hashed (unbounded) vocabularies. */
  readonly size: number | undefined;
  toJSON(): VocabularyJson;
}

export type VocabularyJson = { type: 'fixed'; tokens: string[] } | { type: 'hash' } | { type: 'buckets'; count: number };

export class FixedVocabulary implements Vocabulary {
  private readonly index: Map<string, number>;
  constructor(readonly tokens: readonly string[]) {
    this.index = new Map(tokens.map((t, i) => [t, i + FIRST_ID]));
  }
  id(token: string | undefined): number {
    return token === undefined ? UNKNOWN_ID : (this.index.get(token) ?? UNKNOWN_ID);
  }
  get size(): number {
    return this.tokens.length + FIRST_ID;
  }
  toJSON(): VocabularyJson {
    return { type: 'fixed', tokens: [...this.tokens] };
  }
}

/** Counts tokens, then keeps those seen at least minCount times, most frequent first (ties by token). */
export class VocabularyCounter {
  private readonly counts = new Map<string, number>();
  add(token: string | undefined): void {
    if (token !== undefined) this.counts.set(token, (this.counts.get(token) ?? 0) + 1);
  }
  build(minCount: number): FixedVocabulary {
    const kept = [...this.counts].filter(([, n]) => n >= minCount);
    kept.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return new FixedVocabulary(kept.map(([t]) => t));
  }
}

/** Buckets of a numeric field: bucket b → id FIRST_ID + b; missing → UNKNOWN_ID. */
export class BucketVocabulary implements Vocabulary {
  constructor(private readonly count: number) {}
  id(token: string | undefined): number {
    if (token === undefined) return UNKNOWN_ID;
    const b = Number(token);
    return Number.isInteger(b) && b >= 0 && b < this.count ? FIRST_ID + b : UNKNOWN_ID;
  }
  get size(): number {
    return this.count + FIRST_ID;
  }
  toJSON(): VocabularyJson {
    return { type: 'buckets', count: this.count };
  }
}

/** Any token → a stable id ≥ FIRST_ID from a 31-bit hash; tables allocate rows on first touch. */
export class HashVocabulary implements Vocabulary {
  constructor(private readonly hash: (token: string) => number) {}
  id(token: string | undefined): number {
    if (token === undefined) return UNKNOWN_ID;
    return FIRST_ID + ((this.hash(token) >>> 1) % (0x7fffffff - FIRST_ID));
  }
  readonly size = undefined;
  toJSON(): VocabularyJson {
    return { type: 'hash' };
  }
}

/** Index of the bucket holding x: boundaries[b-1] <= x < boundaries[b]. */
export function bucketize(x: number, boundaries: readonly number[]): number {
  let lo = 0, hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x >= boundaries[mid]!) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
