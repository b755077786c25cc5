import { tf } from '../../infra/tf.js';
import type { EmbeddingLayout } from '../../features/embedding/index.js';
import { createRng, type Rng } from '../../features/math/rng.js';
import type { CtrModel } from '../ctr/ctr-model.js';
import type { EmbeddingMasking } from '../ctr/embedding-masking.js';
import { RowMask } from '../ctr/row-mask.js';
import type { Tensor, Variable } from '../layers/params.js';
import { binaryStep } from './binary-step.js';

type Tensor2D = ReturnType<typeof tf.tensor2d>;

/**
 * What OptEmbed searches per field: how much of its output to keep, in units.
 * A unit is one column for per-field and hashed tables (the field's
 * dimension) and one chunk for Unified Embedding (the field's chunk count).
 */
export interface FieldUnits {
  field: string;
  /** Units of the field's full output. */
  max: number;
  /** Columns per unit. */
  width: number;
}

export function fieldUnits(layout: EmbeddingLayout): FieldUnits[] {
  return layout.plans.map((plan) => {
    const dim = layout.tables[plan.table]!.dim;
    return layout.kind === 'unified' ? { field: plan.name, max: plan.chunks, width: dim } : { field: plan.name, max: plan.chunks * dim, width: 1 };
  });
}

export interface SupernetOptions {
  /** Weight of the threshold regulariser α·Σ_f exp(−t_f), which pushes thresholds up (more pruning). */
  alpha: number;
  /** Initial threshold of every field. @default 0 */
  thresholdInit?: number;
  /** Seeds the per-step sampling of sub-networks. */
  seed: number;
  /** Learn row thresholds (else sizes only). @default true */
  rowPruning?: boolean;
}

/**
 * OptEmbed's supernet (Lyu et al., CIKM 2022) as a mask on a CTR model's
 * embeddings. Rows: a row is pruned for field f when ‖e‖₁ ≤ t_f, with t_f a
 * learnable threshold (a dense parameter of the model) trained through the
 * step function's straight-through surrogate. Dimensions: each training step
 * keeps a uniformly sampled number of units per field, so that every
 * sub-network shares the one set of weights; a search then scores
 * sub-networks by fixing the units (`fix`) without retraining.
 */
export class SupernetMasking implements EmbeddingMasking {
  readonly units: FieldUnits[];
  readonly thresholds = new Map<string, Variable>();
  private readonly rng: Rng;
  private readonly alpha: number;
  /** Units per field in use: sampled each training step, or fixed for evaluation. */
  private current: Map<string, number>;
  private fixed: Map<string, number> | undefined;

  constructor(model: CtrModel, { alpha, thresholdInit = 0, seed, rowPruning = true }: SupernetOptions) {
    this.units = fieldUnits(model.layout);
    this.alpha = alpha;
    this.rng = createRng(seed).fork(31);
    if (rowPruning) for (const { field } of this.units) this.thresholds.set(field, model.params.constant(`optembed/threshold/${field}`, [1], thresholdInit));
    this.current = new Map(this.units.map((u) => [u.field, u.max]));
  }

  /** Units per field (layout order) used from now on, in training and inference; undefined: sample in training, full in inference. */
  fix(units: ArrayLike<number> | undefined): void {
    this.fixed = units === undefined ? undefined : new Map(this.units.map((u, i) => [u.field, units[i]!]));
  }

  beforeStep(): void {
    if (this.fixed) return;
    this.current = new Map(this.units.map((u) => [u.field, 1 + Math.floor(this.rng.next() * u.max)]));
  }

  maskRows(field: string, rows: Tensor2D, _tableRows: Int32Array, _training: boolean): Tensor2D {
    const threshold = this.thresholds.get(field);
    if (!threshold) return rows;
    const norms = tf.sum(tf.abs(rows), 1, true);
    return tf.mul(rows, binaryStep(tf.sub(norms, threshold))) as Tensor2D;
  }

  maskOutput(field: string, output: Tensor2D, training: boolean): Tensor2D {
    const spec = this.units.find((u) => u.field === field);
    if (!spec) return output;
    const kept = this.fixed?.get(field) ?? (training ? this.current.get(field)! : spec.max);
    if (kept >= spec.max) return output;
    const columns = new Float32Array(spec.max * spec.width);
    columns.fill(1, 0, kept * spec.width);
    return tf.mul(output, tf.tensor2d(columns, [1, columns.length]));
  }

  penalty(): Tensor | undefined {
    const ts = [...this.thresholds.values()];
    return ts.length === 0 ? undefined : tf.mul(this.alpha, tf.sum(tf.exp(tf.neg(tf.concat(ts)))));
  }

  thresholdValues(): Map<string, number> {
    return new Map([...this.thresholds].map(([field, t]) => [field, t.dataSync()[0]!]));
  }

  /** The row pruning the thresholds imply now: field f keeps row r of its table when ‖e_r‖₁ > t_f. */
  rowMask(layout: EmbeddingLayout): RowMask {
    const thresholds = this.thresholdValues();
    const keep = new Map<string, Uint8Array>();
    for (const plan of layout.plans) {
      const { weights, dim, rows } = layout.tables[plan.table]!;
      const t = thresholds.get(plan.name) ?? Number.NEGATIVE_INFINITY;
      const flags = new Uint8Array(rows);
      for (let r = 0; r < rows; r++) {
        let norm = 0;
        for (let o = r * dim; o < (r + 1) * dim; o++) norm += Math.abs(weights[o]!);
        flags[r] = norm > t ? 1 : 0;
      }
      keep.set(plan.name, flags);
    }
    return new RowMask(keep);
  }
}
