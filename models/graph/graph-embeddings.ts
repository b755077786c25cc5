import { tf } from '../../infra/tf.js';
import type { GraphModel } from './graph-model.js';
import type { PropagationBasis } from './fold-in.js';

/** Final user and item representations, row-major [count, dim]: what ranking and retrieval use. */
export interface GraphEmbeddings {
  dim: number;
  users: Float32Array;
  items: Float32Array;
  /** For models with a propagation rule: what placing a new item without retraining needs (fold-in.ts). */
  basis?: PropagationBasis;
}

/**
 * The model's final representations; with `basis: false` without the fold-in
 * basis (what a validation check needs: for a 2M-node LightGCN the basis is
 * three [users, D] layers, 0.75 GB); with `scratch: true` the rows may live
 * in the model's training scratch, valid only until its next step
 * (GraphModel.exportHost).
 */
export function exportEmbeddings(model: GraphModel, { basis: withBasis = true, scratch = false }: { basis?: boolean; scratch?: boolean } = {}): GraphEmbeddings {
  const dim = model.config.dim;
  if (model.exportHost) {
    const { representations, basis } = model.exportHost(withBasis, scratch);
    const cut = model.numUsers * dim;
    return { dim, users: representations.subarray(0, cut), items: representations.subarray(cut), ...(basis ? { basis } : {}) };
  }
  // A clone: mf-bpr's forward is its variable, which must survive the dispose below.
  const out = tf.tidy(() => model.forward().clone());
  const all = out.dataSync() as Float32Array;
  out.dispose();
  const basis = withBasis ? model.foldInBasis?.() : undefined;
  return { dim, users: all.slice(0, model.numUsers * dim), items: all.slice(model.numUsers * dim), ...(basis ? { basis } : {}) };
}
