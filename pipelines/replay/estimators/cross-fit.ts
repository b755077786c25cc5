import { fitClickModel, type ClickModel, type FitOptions } from './click-model.js';

/**
 * Two-fold cross-fitting over users: every user belongs to fold 0 or 1 (a
 * hash of the id, so the split is the same in every run), and rows of fold k
 * are scored only by the model fitted on the other fold: no event is scored
 * by a model fitted on it.
 */
export function foldOf(userId: string): 0 | 1 {
  // FNV-1a, 32 bit.
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return ((h >>> 0) & 1) as 0 | 1;
}

export interface FoldRows {
  /** Row-major features (rows × dim). */
  features: number[];
  labels: number[];
}

/** models[k] scores fold k: it was fitted on the other fold's rows. */
export function crossFit(folds: readonly [FoldRows, FoldRows], dim: number, options: FitOptions = {}): [ClickModel, ClickModel] {
  const fit = (rows: FoldRows) => fitClickModel(rows.features, rows.labels, dim, options);
  return [fit(folds[1]), fit(folds[0])];
}
