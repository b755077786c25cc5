import hnswlib from 'hnswlib-node';

/**
 * Nearest neighbours by dot product over item rows. Rows can be added (or a
 * row's vector replaced) and taken out of results while serving: fold-in
 * places new items, the catalog removes some.
 */
export interface AnnIndex {
  readonly kind: 'hnsw' | 'exact';
  /** Rows held, removed ones included. */
  readonly size: number;
  readonly dim: number;
  /** The `k` rows with the largest dot product with `query`, best first; removed rows never appear. */
  search(query: Float32Array, k: number): { rows: number[]; scores: number[] };
  /** Sets row `row` (= size for a new row, < size to replace a vector). */
  set(row: number, vector: Float32Array): void;
  /** Takes a row out of results, or puts it back. */
  remove(row: number): void;
  restore(row: number): void;
}

export interface HnswOptions {
  /** Graph degree. @default 16 */
  m?: number;
  /** Candidate list size while building. @default 200 */
  efConstruction?: number;
  /** Candidate list size while searching (raised to k when k is larger). @default 200 */
  ef?: number;
  /** @default 42 */
  seed?: number;
}

export function dot(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) s += a[aOffset + d]! * b[bOffset + d]!;
  return s;
}

/** Brute force: exact, O(n·dim) per query; the fallback and the reference recall is measured against. */
export class ExactIndex implements AnnIndex {
  readonly kind = 'exact' as const;
  size: number;
  private vectors: Float32Array;
  private readonly removed = new Set<number>();

  constructor(vectors: Float32Array, readonly dim: number) {
    this.vectors = vectors;
    this.size = vectors.length / dim;
  }

  search(query: Float32Array, k: number): { rows: number[]; scores: number[] } {
    const n = this.size;
    const take = Math.min(k, n - this.removed.size);
    const scores = new Float32Array(n);
    for (let r = 0; r < n; r++) scores[r] = dot(this.vectors, r * this.dim, query, 0, this.dim);
    // Keep a sorted top list (k is small next to n).
    const rows: number[] = [];
    const best: number[] = [];
    for (let r = 0; r < n; r++) {
      if (this.removed.has(r)) continue;
      const s = scores[r]!;
      if (best.length === take && s <= best[take - 1]!) continue;
      let at = best.length;
      while (at > 0 && best[at - 1]! < s) at--;
      best.splice(at, 0, s);
      rows.splice(at, 0, r);
      if (best.length > take) { best.pop(); rows.pop(); }
    }
    return { rows, scores: best };
  }

  set(row: number, vector: Float32Array): void {
    if (row > this.size) throw new RangeError(`row ${row} is past the end (${this.size})`);
    if (row === this.size) {
      if ((row + 1) * this.dim > this.vectors.length) {
        // Grown by half: appends are amortised O(dim), and the trained rows (given, not copied at construction) are copied once.
        const grown = new Float32Array(Math.max(this.vectors.length + this.dim, Math.ceil(this.vectors.length * 1.5)));
        grown.set(this.vectors.subarray(0, this.size * this.dim));
        this.vectors = grown;
      }
      this.size++;
    }
    this.vectors.set(vector, row * this.dim);
  }

  remove(row: number): void {
    this.removed.add(row);
  }

  restore(row: number): void {
    this.removed.delete(row);
  }
}

/** HNSW (hnswlib) in inner-product space; its distance is 1 − dot. */
export class HnswIndex implements AnnIndex {
  readonly kind = 'hnsw' as const;

  private readonly removed = new Set<number>();

  private constructor(private readonly index: InstanceType<typeof hnswlib.HierarchicalNSW>, public size: number, readonly dim: number, readonly ef: number) {}

  /** Wraps an index built (or read from a file) elsewhere; its labels must be rows 0..size-1. */
  static fromNative(index: InstanceType<typeof hnswlib.HierarchicalNSW>, size: number, dim: number, ef: number): HnswIndex {
    index.setEf(ef);
    return new HnswIndex(index, size, dim, ef);
  }

  static build(vectors: Float32Array, dim: number, { m = 16, efConstruction = 200, ef = 200, seed = 42 }: HnswOptions = {}): HnswIndex {
    const size = vectors.length / dim;
    const index = new hnswlib.HierarchicalNSW('ip', dim);
    index.initIndex({ maxElements: Math.max(1, size), m, efConstruction, randomSeed: seed });
    const point = new Array<number>(dim);
    for (let r = 0; r < size; r++) {
      for (let d = 0; d < dim; d++) point[d] = vectors[r * dim + d]!;
      index.addPoint(point, r);
    }
    index.setEf(ef);
    return new HnswIndex(index, size, dim, ef);
  }

  search(query: Float32Array, k: number): { rows: number[]; scores: number[] } {
    const take = Math.min(k, this.size - this.removed.size);
    if (take <= 0) return { rows: [], scores: [] };
    if (take > this.ef) this.index.setEf(take);
    const result = this.index.searchKnn(Array.from(query), take);
    if (take > this.ef) this.index.setEf(this.ef);
    // hnswlib returns the farthest first in some versions: order by score.
    const order = result.neighbors.map((row, i) => ({ row, score: 1 - result.distances[i]! })).sort((a, b) => b.score - a.score);
    return { rows: order.map((o) => o.row), scores: order.map((o) => o.score) };
  }

  set(row: number, vector: Float32Array): void {
    if (row > this.size) throw new RangeError(`row ${row} is past the end (${this.size})`);
    if (row === this.size) {
      const max = this.index.getMaxElements();
      if (this.size >= max) this.index.resizeIndex(Math.max(max + 1, Math.ceil(max * 1.25)));
      this.size++;
    }
    // hnswlib replaces the vector of a label it already holds (and relinks it), and un-deletes it: a removed row stays removed.
    this.index.addPoint(Array.from(vector), row);
    if (this.removed.has(row)) this.index.markDelete(row);
  }

  remove(row: number): void {
    if (this.removed.has(row)) return;
    this.index.markDelete(row);
    this.removed.add(row);
  }

  restore(row: number): void {
    if (!this.removed.delete(row)) return;
    this.index.unmarkDelete(row);
  }
}

/** recall@k of `index` against exact search, averaged over `queries` (rows of a Float32Array). */
export function recallAtK(index: AnnIndex, exact: AnnIndex, queries: Float32Array, k: number): number {
  const n = queries.length / index.dim;
  let hit = 0;
  let total = 0;
  for (let q = 0; q < n; q++) {
    const query = queries.subarray(q * index.dim, (q + 1) * index.dim);
    const truth = new Set(exact.search(query, k).rows);
    for (const row of index.search(query, k).rows) if (truth.has(row)) hit++;
    total += truth.size;
  }
  return total === 0 ? 1 : hit / total;
}
