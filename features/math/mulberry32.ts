/**
 * mulberry32: a 32-bit counter-based generator, cheap enough for a value per
 * embedding weight. The benchmarks' PyTorch peers implement the same stream,
 * so both sides draw identical ids from one seed. Not for cryptography.
 */
export const MULBERRY32_INCREMENT = 0x6d2b79f5;

/** The output for an already incremented state, in [0, 2^32). */
export function mulberry32Mix(state: number): number {
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return (t ^ (t >>> 14)) >>> 0;
}

/** Seeded uniform [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + MULBERRY32_INCREMENT) | 0;
    return mulberry32Mix(state) / 4294967296;
  };
}
