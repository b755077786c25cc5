/**
 * Sparse optimizers update only the rows a batch touched. Their state lives in
 * typed arrays beside the table (one rows×dim array per slot), so a row's
 * state is found by the same index as its weights and a checkpoint can write
 * it as is.
 */
export interface OptimizerState {
  /** One rows×dim array per slot, in the optimizer's `slotNames` order. */
  readonly slots: Float32Array[];
  /** Updates applied so far. */
  step: number;
}

export interface SparseUpdate {
  readonly weights: Float32Array;
  /** The optimizer's arrays; `apply` writes only the rows it updates. */
  readonly slots: readonly Float32Array[];
  /** 1-based number of this update (Adam's bias correction). */
  readonly step: number;
  /** Rows to update, each at most once. */
  readonly unique: ArrayLike<number>;
  /** unique.length × dim gradient, row k for unique[k]. */
  readonly grad: Float32Array;
  readonly dim: number;
}

export interface SgdConfig {
  kind: 'sgd';
  learningRate: number;
  /** L2 penalty added to the gradient of touched rows (untouched rows do not decay). @default 0 */
  weightDecay?: number;
}

export interface AdagradConfig {
  kind: 'adagrad';
  learningRate: number;
  /** @default 0 (PyTorch); Keras uses 0.1 */
  initialAccumulator?: number;
  /** Added to √accumulator. @default 1e-10 */
  epsilon?: number;
  /** @default 0 */
  weightDecay?: number;
}

export interface AdamConfig {
  kind: 'adam';
  learningRate: number;
  /** @default 0.9 */
  beta1?: number;
  /** @default 0.999 */
  beta2?: number;
  /** Added to √v, as in PyTorch SparseAdam and TF LazyAdam. @default 1e-8 */
  epsilon?: number;
  /** @default 0 */
  weightDecay?: number;
}

export interface FtrlConfig {
  kind: 'ftrl';
  /** Per-coordinate learning-rate scale α. */
  alpha: number;
  /** @default 1 */
  beta?: number;
  /** @default 0 */
  l1?: number;
  /** @default 0 */
  l2?: number;
}

export type OptimizerConfig = SgdConfig | AdagradConfig | AdamConfig | FtrlConfig;
export type OptimizerKind = OptimizerConfig['kind'];

export interface SparseOptimizer {
  /** The config with every default filled in: what a checkpoint records. */
  readonly config: Required<OptimizerConfig>;
  readonly slotNames: readonly string[];
  /** Value of each slot for a fresh row. */
  readonly slotInit: readonly number[];
  apply(update: SparseUpdate): void;
}

export function createOptimizerState(
  optimizer: SparseOptimizer,
  rows: number,
  dim: number,
  allocate: (length: number) => Float32Array = (length) => new Float32Array(length),
): OptimizerState {
  return {
    slots: optimizer.slotInit.map((value) => allocate(rows * dim).fill(value)),
    step: 0,
  };
}

/** Gives a reused (expired, re-allocated) row the state of a fresh one. */
export function resetRowState(optimizer: SparseOptimizer, state: OptimizerState, row: number, dim: number): void {
  state.slots.forEach((slot, i) => slot.fill(optimizer.slotInit[i]!, row * dim, row * dim + dim));
}
