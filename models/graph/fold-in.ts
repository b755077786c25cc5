/**
 * Fold-in: a representation for an item the graph model never saw, computed
 * from the users who interacted with it, without retraining.
 *
 * - `propagation` (LightGCN): the model's own rule applied to the new node.
 *   With e⁽⁰⁾ = 0 for the new item (it has no trained row) and each of its
 *   users' degree raised by one, layer k+1 of the item is
 *   Σ_u ê_u⁽ᵏ⁾ / √(d_i·(d_u+1)), where ê_u⁽ᵏ⁾ is the user's layer k on the
 *   graph with the new edges: its row for k = 0, else √(d_u/(d_u+1))·e_u⁽ᵏ⁾
 *   plus the item's own message e_i⁽ᵏ⁻¹⁾/√((d_u+1)·d_i). That is exact for
 *   layers 0–2; from
 *   layer 3 on it leaves out how the new edges change the user's *other*
 *   items (second-order; the unit test measures it). The final
 *   representation is the mean of layers 0..K, as in training.
 * - `user-mean` (MF-BPR, the sheaf GNN, or a LightGCN artifact without the
 *   layers): the mean of the users' final vectors, scaled to the trained
 *   items' mean norm. The item that maximises Σ_u ⟨u, i⟩ at a given norm
 *   points along that mean; the norm keeps it comparable with trained items
 *   under dot-product retrieval.
 */
export type FoldInRule = 'propagation' | 'user-mean';

/** What the propagation rule needs from training: layers 0..K−1 of every user and their training degrees. */
export interface PropagationBasis {
  dim: number;
  /** Each [numUsers × dim], row-major: layer k of every user on the training graph. */
  userLayers: Float32Array[];
  userDegrees: Float32Array;
}

export interface FoldInInput {
  dim: number;
  /** Final user representations [numUsers × dim]. */
  users: Float32Array;
  /** Final item representations [numItems × dim] (for the user-mean rule's norm). */
  items: Float32Array;
  basis?: PropagationBasis | null;
}

export class FoldIn {
  readonly rule: FoldInRule;
  private readonly itemNorm: number;

  constructor(private readonly input: FoldInInput) {
    this.rule = input.basis && input.basis.userLayers.length > 0 ? 'propagation' : 'user-mean';
    this.itemNorm = meanNorm(input.items, input.dim);
  }

  /** The new item's representation from the rows of its distinct users; null when it has none. */
  item(userRows: readonly number[]): Float32Array | null {
    const rows = [...new Set(userRows)];
    if (rows.length === 0) return null;
    return this.rule === 'propagation' ? propagate(this.input.basis!, rows) : userMean(this.input.users, this.input.dim, rows, this.itemNorm);
  }
}

function propagate(basis: PropagationBasis, rows: number[]): Float32Array {
  const { dim, userLayers, userDegrees } = basis;
  const layers = userLayers.length;
  const di = rows.length;
  const sum = new Float32Array(dim); // Σ_k e_i⁽ᵏ⁾; layer 0 is zero
  let previous = new Float32Array(dim); // e_i⁽ᵏ⁻¹⁾
  let current = new Float32Array(dim); // e_i⁽ᵏ⁾
  for (let k = 0; k < layers; k++) {
    const next = new Float32Array(dim);
    const layer = userLayers[k]!;
    for (const u of rows) {
      const du = userDegrees[u]!;
      const w = 1 / Math.sqrt(di * (du + 1));
      // Layer 0 is the user's own row; propagated layers were normalised by the old degree.
      const keep = k === 0 ? 1 : Math.sqrt(du / (du + 1));
      // The item's own message to the user at layer k came from its layer k−1 (zero for k ≤ 1).
      const own = k >= 1 ? 1 / Math.sqrt((du + 1) * di) : 0;
      const base = u * dim;
      for (let d = 0; d < dim; d++) next[d]! += w * (keep * layer[base + d]! + own * previous[d]!);
    }
    previous = current;
    current = next;
    for (let d = 0; d < dim; d++) sum[d]! += current[d]!;
  }
  for (let d = 0; d < dim; d++) sum[d]! /= layers + 1;
  return sum;
}

function userMean(users: Float32Array, dim: number, rows: number[], norm: number): Float32Array {
  const out = new Float32Array(dim);
  for (const u of rows) for (let d = 0; d < dim; d++) out[d]! += users[u * dim + d]!;
  let length = 0;
  for (let d = 0; d < dim; d++) length += out[d]! * out[d]!;
  length = Math.sqrt(length);
  if (length === 0) return out;
  for (let d = 0; d < dim; d++) out[d]! *= norm / length;
  return out;
}

function meanNorm(rows: Float32Array, dim: number): number {
  const n = rows.length / dim;
  if (n === 0) return 1;
  let total = 0;
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += rows[r * dim + d]! ** 2;
    total += Math.sqrt(s);
  }
  return total / n;
}
