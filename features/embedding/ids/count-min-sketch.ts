import { hashInt } from '../../hashing.js';

const MAX_COUNT = 255;

/**
 * Approximate per-id sighting counts for the admission filter, in a fixed
 * amount of memory however many ids pass through (Monolith uses a counting
 * Bloom filter for the same job). Counts never under-estimate, so an id is
 * never admitted late, only occasionally early; they saturate at 255.
 */
export class CountMinSketch {
  readonly counts: Uint8Array;

  constructor(
    readonly width: number,
    readonly depth: number,
    counts?: Uint8Array,
  ) {
    this.counts = counts ?? new Uint8Array(width * depth);
  }

  /** Records one sighting of `id` and returns its estimated count so far. */
  add(id: number): number {
    const { counts, width, depth } = this;
    let min = MAX_COUNT;
    for (let d = 0; d < depth; d++) min = Math.min(min, counts[d * width + (hashInt(id, d) % width)]!);
    if (min === MAX_COUNT) return min;
    // Conservative update: raise only the cells at the minimum, which keeps
    // collisions from inflating other ids' counts more than needed.
    for (let d = 0; d < depth; d++) {
      const cell = d * width + (hashInt(id, d) % width);
      if (counts[cell] === min) counts[cell] = min + 1;
    }
    return min + 1;
  }
}
