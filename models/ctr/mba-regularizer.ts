/**
 * Mini-batch aware L2 regularisation (Zhou et al., KDD 2018, eq. 4): only the
 * embedding rows present in the batch are penalised, each weighted by 1/n_j,
 * n_j the number of times row j occurs in the training data, so frequent ids
 * are regularised less per step (they are seen in more steps):
 *   L2 = λ Σ_{j in batch} ‖w_j‖² / n_j,   ∂L2/∂w_j = 2λ w_j / n_j.
 * Adds the gradient into `grad` (rows aligned with `unique`) and returns the penalty.
 */
export function addMbaGradient(
  lambda: number,
  dim: number,
  unique: ArrayLike<number>,
  rows: Float32Array,
  counts: Float32Array,
  grad: Float32Array,
): number {
  if (lambda === 0) return 0;
  let penalty = 0;
  for (let u = 0; u < unique.length; u++) {
    const n = Math.max(1, counts[unique[u]!]!);
    const scale = lambda / n;
    for (let k = u * dim, end = k + dim; k < end; k++) {
      penalty += scale * rows[k]! * rows[k]!;
      grad[k]! += 2 * scale * rows[k]!;
    }
  }
  return penalty;
}
