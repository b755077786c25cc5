/**
 * Row helpers of the off-tape graph steps (lightgcn-step.ts, sheaf-step.ts):
 * the batch reads its rows of [N, D] host arrays by node id, and its row
 * gradients go back by node id.
 */

/** rows[k] += x[ids[k]] for each of the batch's node ids. */
export function addRows(rows: Float32Array, x: Float32Array, ids: Int32Array, dim: number): void {
  for (let k = 0; k < ids.length; k++) {
    const o = k * dim, s = ids[k]! * dim;
    for (let c = 0; c < dim; c++) rows[o + c]! += x[s + c]!;
  }
}

/** x[ids[k]] += rows[k] for each of the batch's node ids (a repeated id gets each of its rows). */
export function scatterRows(x: Float32Array, rows: Float32Array, ids: Int32Array, dim: number): void {
  for (let k = 0; k < ids.length; k++) {
    const o = k * dim, s = ids[k]! * dim;
    for (let c = 0; c < dim; c++) x[s + c]! += rows[o + c]!;
  }
}

/** 0, 1, …, n − 1: the batch's rows of a representation addressed by position. */
export function positions(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, k) => k);
}

/**
 * BPR's L2 term on the batch's layer-0 rows, once per occurrence
 * (embeddingL2: decay/2/B·Σ‖e‖²): adds its gradient to `grad` and returns
 * its value.
 */
export function addLayer0L2(table: Float32Array, grad: Float32Array, ids: Int32Array, dim: number, decay: number, batch: number): number {
  const l2 = decay / batch;
  let squares = 0;
  for (let k = 0; k < ids.length; k++) {
    for (let o = ids[k]! * dim, end = o + dim; o < end; o++) {
      const x = table[o]!;
      squares += x * x;
      grad[o]! += l2 * x;
    }
  }
  return (l2 / 2) * squares;
}

/**
 * The batch's rows of a representation, their gradients and their positions
 * 0..n−1, in arrays reused from step to step: at batch 262,144 × 3 × 64 each
 * array is 200 MB, and fresh ones every step lived until the next garbage
 * collection (about a gigabyte of the 10M-interaction sheaf's RSS).
 */
export class BatchRows {
  private rowsBuffer: Float32Array = new Float32Array(0);
  private gradBuffer: Float32Array = new Float32Array(0);
  private positionsBuffer: Int32Array = new Int32Array(0);

  /**
   * Zeroed rows and gradients for `count` rows of `dim`, and the positions
   * 0..count−1. `lend`: an array of the caller's that is free while the rows
   * are read (the sheaf's ∂y until its backward pass) holds them when it is
   * large enough, instead of one of ours.
   */
  take(count: number, dim: number, lend?: Float32Array): { rows: Float32Array; grad: Float32Array; positions: Int32Array } {
    const size = count * dim;
    const borrowed = lend !== undefined && lend.length >= size;
    if (!borrowed && this.rowsBuffer.length < size) this.rowsBuffer = new Float32Array(size);
    if (this.gradBuffer.length < size) this.gradBuffer = new Float32Array(size);
    if (this.positionsBuffer.length < count) this.positionsBuffer = positions(count);
    const rows = (borrowed ? lend : this.rowsBuffer).subarray(0, size).fill(0);
    const grad = this.gradBuffer.subarray(0, size).fill(0);
    return { rows, grad, positions: this.positionsBuffer.subarray(0, count) };
  }
}
