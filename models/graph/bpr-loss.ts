import { tf } from '../../infra/tf.js';
import type { Tensor } from '../layers/params.js';

export type Scalar = ReturnType<typeof tf.scalar>;

/**
 * BPR (Rendle et al., 2009): mean −log σ(s(u,i⁺) − s(u,i⁻)) over the batch,
 * written as softplus for stability, plus L2 on the batch's layer-0
 * embeddings scaled by `decay / 2 / batch` (LightGCN's and Sheaf4Rec's form:
 * only the rows the batch touches are regularised).
 */
export function bprLoss(users: Tensor, positives: Tensor, negatives: Tensor): Scalar {
  return tf.tidy(() => {
    const margin = users.mul(positives).sum(1).sub(users.mul(negatives).sum(1));
    return tf.softplus(margin.neg()).mean() as Scalar;
  });
}

export function embeddingL2(rows: Tensor[], batch: number, decay: number): Scalar {
  return tf.tidy(() => tf.addN(rows.map((r) => r.square().sum())).mul(decay / 2 / batch) as Scalar);
}
