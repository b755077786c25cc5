import { tf } from '../../infra/tf.js';
import type { EmbeddingLayout, LayoutLookup } from '../../features/embedding/index.js';
import type { EncodedBatch, FeatureEncoder } from '../../features/spec/feature-encoder.js';
import { createRng } from '../../features/math/rng.js';
import { ParamStore, type Tensor } from '../layers/params.js';
import { DenseAdam, type DenseAdamState } from '../layers/dense-adam.js';
import type { CtrModelConfig, LayoutConfig } from './ctr-config.js';
import { createLayout } from './create-layout.js';
import { disposeMasks, embedBatch, listMasks, type Embedded } from './embedded-batch.js';
import { embeddingPlans, layoutIds, type EmbeddingPlan } from './embedding-inputs.js';
import { addMbaGradient } from './mba-regularizer.js';
import type { EmbeddingMasking } from './embedding-masking.js';
import { Dice } from '../layers/activations.js';
import type { Mlp } from '../layers/mlp.js';
import { ValidationError } from '../../infra/errors.js';


export interface DenseState {
  entries: { name: string; shape: number[]; offset: number }[];
  data: Float32Array;
}
/** TF.js variable names are global: each step's row variables get fresh ones. */
let rowVariableIds = 0;


/**
 * A CTR model: embedding tables outside the tape (a layout with sparse Adam),
 * dense parameters inside it (Adam). Subclasses only define `logits`; the
 * training step, prediction, MBA regularisation and saving are shared, so
 * LR, DNN and DIN differ in exactly one block.
 */
export abstract class CtrModel {
  readonly plans: EmbeddingPlan[];
  private currentLayout: EmbeddingLayout;
  readonly params: ParamStore;
  /** Adam for the dense parameters; made at the first step, once subclasses have added theirs. */
  private optimizer: DenseAdam | undefined;
  /** Per table, occurrences of each row in the training data (MBA's n_j). */
  private rowCounts: Float32Array[] | undefined;
  /** Pruned rows and dimensions (OptEmbed), applied between lookup and model. */
  private embeddingMasking: EmbeddingMasking | undefined;

  constructor(readonly encoder: FeatureEncoder, readonly config: CtrModelConfig, layout?: EmbeddingLayout) {
    this.plans = embeddingPlans(encoder, this.sharesSequenceEmbeddings());
    this.currentLayout = layout ?? createLayout(this.embeddingLayoutConfig(), encoder, this.plans, config.seed, config.embeddingLearningRate);
    this.params = new ParamStore(createRng(config.seed).fork(7));
  }

  get layout(): EmbeddingLayout {
    return this.currentLayout;
  }

  /** Swaps in restored tables (same names and shapes), e.g. from an artifact's checkpoint. */
  useTables(tables: Parameters<EmbeddingLayout['withTables']>[0]): void {
    this.currentLayout = this.currentLayout.withTables(tables);
  }

  get masking(): EmbeddingMasking | undefined {
    return this.embeddingMasking;
  }

  /** Masks looked-up embeddings from now on (undefined: none). Thresholds a masking learns must be in `params` before the first step. */
  useMasking(masking: EmbeddingMasking | undefined): void {
    this.embeddingMasking = masking;
  }

  /** Width of a part's embedding: the chunks × dim of the layout field it belongs to. */
  protected partDim(part: string): number {
    const plan = this.plans.find((p) => p.parts.some((x) => x.name === part));
    if (!plan) throw new Error(`no input part ${part}`);
    const fieldPlan = this.layout.plans.find((p) => p.name === plan.field)!;
    return fieldPlan.chunks * this.layout.tables[fieldPlan.table]!.dim;
  }

  /** All input parts, in spec order of their embedding fields. */
  protected partNames(): string[] {
    return this.plans.flatMap((p) => p.parts.map((x) => x.name));
  }

  /** Whether a behaviour sequence uses the rows of the field it is `of` (DIN: yes, by design). */
  protected sharesSequenceEmbeddings(): boolean {
    return true;
  }

  /** LR overrides this to use one-dimensional embeddings. */
  protected embeddingLayoutConfig(): LayoutConfig {
    return this.config.embedding;
  }

  /** [size] logits for an embedded batch. Called inside the gradient tape when training. */
  protected abstract logits(embedded: Embedded, training: boolean): Tensor;

  /** Stateful layers fold in the last training batch (Dice's statistics). */
  protected commitStatistics(): void {}

  /** Layers whose activations carry state to save (Dice's moving statistics). */
  protected statefulLayers(): Mlp[] {
    return [];
  }

  /** Dense weights and Dice statistics as one Float32Array plus its index. */
  denseState(): DenseState {
    const entries: DenseState['entries'] = [];
    const chunks: Float32Array[] = [];
    let offset = 0;
    const push = (name: string, shape: number[], data: Float32Array) => {
      entries.push({ name, shape, offset });
      chunks.push(data);
      offset += data.length;
    };
    for (const [name, v] of this.params.variables) push(name, v.shape, v.dataSync() as Float32Array);
    this.dices().forEach((dice, i) => {
      const { mean, variance } = dice.statistics();
      push(`dice${i}/moving_mean`, [mean.length], mean);
      push(`dice${i}/moving_variance`, [variance.length], variance);
    });
    const data = new Float32Array(offset);
    chunks.forEach((c, i) => data.set(c, entries[i]!.offset));
    return { entries, data };
  }

  loadDenseState({ entries, data }: DenseState): void {
    const byName = new Map(entries.map((e) => [e.name, e]));
    const take = (name: string, size: number): Float32Array => {
      const e = byName.get(name);
      if (!e) throw new ValidationError(`saved weights lack ${name}`);
      const n = e.shape.reduce((a, b) => a * b, 1);
      if (n !== size) throw new ValidationError(`saved ${name} has ${n} values, the model needs ${size}`);
      return data.subarray(e.offset, e.offset + n);
    };
    // The tidy releases the tensor read from the file; the variable keeps its own reference.
    for (const [name, v] of this.params.variables) tf.tidy(() => v.assign(tf.tensor(take(name, v.size), v.shape)));
    this.dices().forEach((dice, i) => {
      const units = dice.statistics().mean.length;
      dice.setStatistics(take(`dice${i}/moving_mean`, units).slice(), take(`dice${i}/moving_variance`, units).slice());
    });
  }

  /** Adam for the dense parameters, made at first use: subclasses add their parameters in their constructors. */
  private denseOptimizer(): DenseAdam {
    return (this.optimizer ??= new DenseAdam([...this.params.variables.values()], { learningRate: this.config.learningRate }));
  }

  private dices(): Dice[] {
    return this.statefulLayers().flatMap((m) => m.activations()).filter((a): a is Dice => a instanceof Dice);
  }

  /** Dense Adam's moments and step, to resume training exactly; null before the first step. */
  denseOptimizerState(): DenseAdamState | null {
    return this.optimizer?.state() ?? null;
  }

  /** Restores what denseOptimizerState() returned (same model shape). */
  loadDenseOptimizerState(state: DenseAdamState): void {
    this.denseOptimizer().setState(state);
  }

  /** Counts row occurrences in the training data, for the MBA regulariser. */
  fitRowCounts(batches: Iterable<EncodedBatch>): void {
    const counts = this.layout.tables.map((t) => new Float32Array(t.rows));
    for (const batch of batches) {
      const ids = layoutIds(this.plans, batch);
      for (const plan of this.layout.plans) {
        const values = ids[plan.name]!;
        const rows = new Int32Array(values.length);
        for (let chunk = 0; chunk < plan.chunks; chunk++) {
          plan.rowsOf(values, chunk, rows, 1, 0);
          const c = counts[plan.table]!;
          for (let i = 0; i < rows.length; i++) c[rows[i]!]!++;
        }
      }
    }
    this.rowCounts = counts;
  }

  /** One optimisation step; returns the mean log loss (plus the MBA penalty). */
  trainStep(batch: EncodedBatch): number {
    const frozen = this.layout.tables.find((t) => t.readOnly);
    // Checked before anything moves: a refused step must not leave the dense half trained.
    if (frozen) throw new ValidationError(`model is read-only: table '${frozen.name}' was loaded for serving, replay or evaluation`, ['load it with { trainable: true } to train it']);
    this.embeddingMasking?.beforeStep();
    const { loss, lookup, denseGrads, rowGrads } = this.gradients(batch);
    try {
      this.denseOptimizer().apply(denseGrads);
    } finally {
      tf.dispose(Object.values(denseGrads));
    }
    this.commitStatistics();
    this.layout.applyGradients(lookup, rowGrads);
    return loss;
  }

  /**
   * The training objective on a batch (mean log loss plus the MBA penalty) and
   * its gradients, without changing anything: dense gradients by variable
   * name (the caller disposes them) and, per table, the gradient of the
   * batch's distinct rows in `lookup` order.
   */
  gradients(batch: EncodedBatch): { loss: number; lookup: LayoutLookup; denseGrads: Record<string, Tensor>; rowGrads: Float32Array[] } {
    const lookup = this.layout.lookup(layoutIds(this.plans, batch));
    const rowVars = lookup.tables.map((t, i) =>
      tf.variable(tf.tensor2d(t.rows, [t.unique.length, this.layout.tables[i]!.dim]), true, `rows/${rowVariableIds++}`));
    const masks = listMasks(this.plans, batch);
    const labels = tf.tensor1d(batch.labels);
    const dense = [...this.params.variables.values()];
    let loss: number;
    let rowGrads: Float32Array[];
    const denseGrads: Record<string, Tensor> = {};
    try {
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
        const embedded = embedBatch({ plans: this.plans, lookup, rows: rowVars, masks, size: batch.size, training: true, masking: this.embeddingMasking });
        const loss = tf.losses.sigmoidCrossEntropy(labels, this.logits(embedded, true)) as ReturnType<typeof tf.scalar>;
        const penalty = this.embeddingMasking?.penalty();
        return penalty ? tf.add(loss, penalty) as ReturnType<typeof tf.scalar> : loss;
      }), [...dense, ...rowVars]);
      loss = value.dataSync()[0]!;
      rowGrads = rowVars.map((v) => grads[v.name]!.dataSync() as Float32Array);
      for (const v of dense) if (grads[v.name]) denseGrads[v.name] = grads[v.name]!;
      tf.dispose([value, ...rowVars.map((v) => grads[v.name]!)]);
    } finally {
      tf.dispose([...rowVars, labels]);
      disposeMasks(masks);
    }
    if (this.config.mbaLambda > 0 && this.rowCounts) {
      lookup.tables.forEach((t, i) => {
        loss += addMbaGradient(this.config.mbaLambda, this.layout.tables[i]!.dim, t.unique, t.rows, this.rowCounts![i]!, rowGrads[i]!);
      });
    }
    return { loss, lookup, denseGrads, rowGrads };
  }

  /** Click probabilities for a batch (inference mode). */
  predict(batch: EncodedBatch): Float32Array {
    const lookup = this.layout.lookup(layoutIds(this.plans, batch));
    const masks = listMasks(this.plans, batch);
    try {
      // tf.tidy walks a non-tensor result element by element: return the tensor, read it outside.
      const probabilities = tf.tidy(() => {
        const rows = lookup.tables.map((t, i) => tf.tensor2d(t.rows, [t.unique.length, this.layout.tables[i]!.dim]));
        return tf.sigmoid(this.logits(embedBatch({ plans: this.plans, lookup, rows, masks, size: batch.size, training: false, masking: this.embeddingMasking }), false));
      });
      const values = probabilities.dataSync() as Float32Array;
      probabilities.dispose();
      return values;
    } finally {
      disposeMasks(masks);
    }
  }

  /** Dense parameters and embedding parameters. */
  parameterCount(): { dense: number; embedding: number } {
    const embedding = this.embeddingMasking?.embeddingParameters?.(this.layout) ?? this.layout.parameterCount().total;
    return { dense: this.params.count(), embedding };
  }

  dispose(): void {
    this.params.dispose();
    this.optimizer?.dispose();
  }
}
