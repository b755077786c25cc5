/**
 * Typed-array loops behind gatherRows' and poolRows' gradients and poolRows'
 * forward pass. They walk the embedding dimension four columns at a time with
 * the four values in locals: V8 then keeps them in registers and drops most
 * bounds checks, where a loop over one column at a time re-reads `inverse`
 * and recomputes each row offset per column. Measured on the 2-core machine
 * for 1024 bags × 50 ids into 17.6k × 16 rows: the bag gradient 5.5 → 1.8 ms
 * of CPU, the pooled forward pass ~1 ms against TF's gather + mean (a 3.2 MB
 * intermediate). Each output element receives the same float64 additions in
 * the same order as the one-column loops did, so gradients are bit-identical.
 */

/**
 * grad[inverse[p]] += upstream[p] for every position p (rows of `dim`
 * floats): the gradient of a gather, summed per distinct row. `grad` must be
 * zeroed by the caller (a fresh Float32Array is).
 */
export function scatterRowGradient(upstream: Float32Array, inverse: Int32Array, dim: number, grad: Float32Array): void {
  const positions = inverse.length;
  const wide = dim - (dim % 4);
  for (let p = 0; p < positions; p++) {
    const o = inverse[p]! * dim;
    const s = p * dim;
    let j = 0;
    for (; j < wide; j += 4) {
      grad[o + j]! += upstream[s + j]!;
      grad[o + j + 1]! += upstream[s + j + 1]!;
      grad[o + j + 2]! += upstream[s + j + 2]!;
      grad[o + j + 3]! += upstream[s + j + 3]!;
    }
    for (; j < dim; j++) grad[o + j]! += upstream[s + j]!;
  }
}

/**
 * grad[inverse[p]] += scale · dy[bag of p] for bags of `bagSize` consecutive
 * positions: the gradient of a pooled (summed or averaged) lookup. `grad`
 * must be zeroed by the caller.
 */
export function scatterBagGradient(dy: Float32Array, inverse: Int32Array, bagSize: number, dim: number, scale: number, grad: Float32Array): void {
  const bags = inverse.length / bagSize;
  const wide = dim - (dim % 4);
  for (let bag = 0; bag < bags; bag++) {
    const first = bag * bagSize;
    const end = first + bagSize;
    const d = bag * dim;
    let j = 0;
    for (; j < wide; j += 4) {
      const v0 = scale * dy[d + j]!;
      const v1 = scale * dy[d + j + 1]!;
      const v2 = scale * dy[d + j + 2]!;
      const v3 = scale * dy[d + j + 3]!;
      for (let p = first; p < end; p++) {
        const o = inverse[p]! * dim + j;
        grad[o]! += v0;
        grad[o + 1]! += v1;
        grad[o + 2]! += v2;
        grad[o + 3]! += v3;
      }
    }
    for (; j < dim; j++) {
      const v = scale * dy[d + j]!;
      for (let p = first; p < end; p++) grad[inverse[p]! * dim + j]! += v;
    }
  }
}

/**
 * out[bag] = Σ rows[inverse[p]] over the bag's positions, divided by bagSize
 * for 'mean'. Sums in float64 and rounds once, so a bag's result does not
 * depend on how a thread pool split the sum.
 */
export function poolBags(rows: Float32Array, inverse: Int32Array, bagSize: number, dim: number, mode: 'mean' | 'sum', out: Float32Array): void {
  const bags = inverse.length / bagSize;
  const divisor = mode === 'mean' ? bagSize : 1;
  const wide = dim - (dim % 4);
  for (let bag = 0; bag < bags; bag++) {
    const first = bag * bagSize;
    const end = first + bagSize;
    const d = bag * dim;
    let j = 0;
    for (; j < wide; j += 4) {
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let p = first; p < end; p++) {
        const o = inverse[p]! * dim + j;
        a0 += rows[o]!;
        a1 += rows[o + 1]!;
        a2 += rows[o + 2]!;
        a3 += rows[o + 3]!;
      }
      out[d + j] = a0 / divisor;
      out[d + j + 1] = a1 / divisor;
      out[d + j + 2] = a2 / divisor;
      out[d + j + 3] = a3 / divisor;
    }
    for (; j < dim; j++) {
      let a = 0;
      for (let p = first; p < end; p++) a += rows[inverse[p]! * dim + j]!;
      out[d + j] = a / divisor;
    }
  }
}
