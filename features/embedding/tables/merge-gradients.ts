import type { RowDeduper } from './row-deduper.js';

// Reused across calls (each call is synchronous): the common call has nothing to merge and should allocate nothing.
let distinctScratch = new Int32Array(0);
let inverseScratch = new Int32Array(0);

/**
 * Sums the gradient rows of repeated entries in `unique` and drops `skipRow`
 * (the dynamic table's shared zero row, which is never trained). Adam and FTRL
 * are not linear in the gradient, so a row must be updated once with the sum,
 * never once per occurrence. Returns the inputs themselves when there is
 * nothing to merge, which is the usual case.
 */
export function mergeGradients(
  unique: Int32Array,
  grad: Float32Array,
  dim: number,
  deduper: RowDeduper,
  skipRow = -1,
): { unique: Int32Array; grad: Float32Array } {
  const n = unique.length;
  if (distinctScratch.length < n) {
    distinctScratch = new Int32Array(n);
    inverseScratch = new Int32Array(n);
  }
  const distinct = distinctScratch;
  const inverse = inverseScratch;
  const u = deduper.dedupe(unique, n, distinct, inverse);
  const skipSlot = skipRow < 0 ? -1 : distinct.subarray(0, u).indexOf(skipRow);
  if (u === n && skipSlot < 0) return { unique, grad };
  // Slots after the skipped one move down by one, keeping first-appearance order.
  const kept = skipSlot < 0 ? u : u - 1;
  const outUnique = new Int32Array(kept);
  for (let slot = 0, o = 0; slot < u; slot++) if (slot !== skipSlot) outUnique[o++] = distinct[slot]!;
  const outGrad = new Float32Array(kept * dim);
  for (let k = 0; k < n; k++) {
    let slot = inverse[k]!;
    if (slot === skipSlot) continue;
    if (skipSlot >= 0 && slot > skipSlot) slot--;
    for (let j = 0, o = slot * dim, g = k * dim; j < dim; j++) outGrad[o + j]! += grad[g + j]!;
  }
  return { unique: outUnique, grad: outGrad };
}
