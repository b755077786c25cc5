/**
 * Sums the gradient rows of repeated entries in `unique` and drops `skipRow`
 * (the dynamic table's shared zero row, which is never trained). Adam and FTRL
 * are not linear in the gradient, so a row must be updated once with the sum,
 * never once per occurrence. Returns the inputs themselves when there is
 * nothing to merge, which is the usual case; `mark` is as in dedupeRows.
 */
export function mergeGradients(
  unique: Int32Array,
  grad: Float32Array,
  dim: number,
  mark: Int32Array,
  skipRow = -1,
): { unique: Int32Array; grad: Float32Array } {
  let distinct = 0;
  let clean = true;
  for (let k = 0; k < unique.length; k++) {
    const row = unique[k]!;
    if (row === skipRow) clean = false;
    else if (mark[row]! >= 0) clean = false;
    else mark[row] = distinct++;
  }
  if (clean) {
    for (let k = 0; k < unique.length; k++) mark[unique[k]!] = -1;
    return { unique, grad };
  }
  const outUnique = new Int32Array(distinct);
  const outGrad = new Float32Array(distinct * dim);
  for (let k = 0; k < unique.length; k++) {
    const row = unique[k]!;
    if (row === skipRow) continue;
    const slot = mark[row]!;
    outUnique[slot] = row;
    for (let j = 0, o = slot * dim, g = k * dim; j < dim; j++) outGrad[o + j]! += grad[g + j]!;
  }
  for (let k = 0; k < distinct; k++) mark[outUnique[k]!] = -1;
  return { unique: outUnique, grad: outGrad };
}
