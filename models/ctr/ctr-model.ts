import { tf } from '../../infra/tf.js';
import {
  gatherRows, gatherUntaped, hashedLayout, perFieldLayout, unifiedLayout, rowsForBudget,
  type EmbeddingLayout, type FieldLookup, type LayoutLookup,
} from '../../features/embedding/index.js';
import type { EncodedBatch, FeatureEncoder } from '../../features/spec/feature-encoder.js';
import { createRng } from '../../features/math/rng.js';
import { ParamStore, type Tensor, type Variable } from '../layers/params.js';
import { DenseAdam, type DenseAdamState } from '../layers/dense-adam.js';
import type { CtrModelConfig, LayoutConfig } from './ctr-config.js';
import { embeddingPlans, layoutFields, layoutIds, listMask, type EmbeddingPlan } from './embedding-inputs.js';
import { addMbaGradient } from './mba-regularizer.js';
import type { EmbeddingMasking } from './embedding-masking.js';
import { Dice } from '../layers/activations.js';
import type { Mlp } from '../layers/mlp.js';
import { ValidationError } from '../../infra/errors.js';

type Tensor2D = ReturnType<typeof tf.tensor2d>;

export interface DenseState {
  entries: { name: string; shape: number[]; offset: number }[];
  data: Float32Array;
}
type Tensor3D = ReturnType<typeof tf.tensor3d>;

/** What a model's forward pass receives: each input part embedded, lists with masks. */
export interface Embedded {
  size: number;
  /** A part's embeddings, [size, width, dim], gathered when first asked for. */
  part(name: string): Tensor3D;
  /** list part name → [size, width], 1 for a value, 0 for padding */
  masks: Record<string, Tensor2D>;
  /** list part name → [size, 1], number of values (at least 1, to divide by) */
  lengths: Record<string, Tensor2D>;
  /**
   * List parts at the positions list part `by` fills, padding left out: the
   * parts' embeddings side by side ([count, Σ dims]), example-major, and each
   * row's example. For a model that ignores padding anyway (DIN's attention),
   * so neither the gather, its gradient nor any later work touches padding.
   * The parts must have `by`'s width.
   */
  filled(names: readonly string[], by: string): { values: Tensor2D; example: Int32Array };
  /**
   * Runs of consecutive examples whose list parts `names` hold the same rows
   * at every position (a serving request's candidates share the user's
   * history), the first example's values of each run gathered once
   * ([Σ run counts, Σ dims], run-major). Lets inference do a user's side once
   * per run instead of once per example.
   */
  runs(names: readonly string[], by: string): { runs: BehaviourRun[]; values: () => Tensor2D };
}

/** Examples [start, start + size) share `count` list values, rows [offset, offset + count) of the run values. */
export interface BehaviourRun {
  start: number;
  size: number;
  offset: number;
  count: number;
}

/** A list part's masks, and its value counts in JS. */
interface ListMasks {
  mask: Tensor2D;
  length: Tensor2D;
  /** Per example, values present (≤ width). */
  counts: Int32Array;
}

/** TF.js variable names are global: each step's row variables get fresh ones. */
let rowVariableIds = 0;

export function createLayout(config: LayoutConfig, encoder: FeatureEncoder, plans: readonly EmbeddingPlan[], seed: number, learningRate: number): EmbeddingLayout {
  const dynamic = config.kind === 'unified' ? config.dynamic : undefined;
  const fields = layoutFields(encoder, plans, dynamic !== undefined);
  const optimizer = { kind: 'adam' as const, learningRate };
  switch (config.kind) {
    case 'per-field': return perFieldLayout(fields, { dim: config.dim, dims: config.dims, optimizer, seed });
    // `rows` is the total budget, split over fields in proportion to their vocabularies.
    case 'hashed': return hashedLayout(fields, { rows: rowsForBudget(fields, config.rows), dim: config.dim, optimizer, seed });
    case 'unified': return unifiedLayout(fields, {
      rows: config.rows, chunkDim: config.chunkDim, chunks: config.chunks, defaultChunks: config.defaultChunks, optimizer, seed,
      ...(dynamic ? { ids: { kind: 'dynamic' as const, expiryUnit: 'steps' as const, ...dynamic } } : {}),
    });
  }
}
export { rowsForBudget };

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
    for (const [name, v] of this.params.variables) v.assign(tf.tensor(take(name, v.size), v.shape));
    this.dices().forEach((dice, i) => {
      const units = dice.statistics().mean.length;
      dice.setStatistics(take(`dice${i}/moving_mean`, units).slice(), take(`dice${i}/moving_variance`, units).slice());
    });
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
    this.optimizer ??= new DenseAdam([...this.params.variables.values()], { learningRate: this.config.learningRate });
    this.optimizer.setState(state);
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
      this.optimizer ??= new DenseAdam([...this.params.variables.values()], { learningRate: this.config.learningRate });
      this.optimizer.apply(denseGrads);
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
    const masks = this.masks(batch);
    const labels = tf.tensor1d(batch.labels);
    const dense = [...this.params.variables.values()];
    let loss: number;
    let rowGrads: Float32Array[];
    const denseGrads: Record<string, Tensor> = {};
    try {
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
        const embedded = this.embed(lookup, rowVars, masks, batch.size, true);
        const loss = tf.losses.sigmoidCrossEntropy(labels, this.logits(embedded, true)) as ReturnType<typeof tf.scalar>;
        const penalty = this.embeddingMasking?.penalty();
        return penalty ? tf.add(loss, penalty) as ReturnType<typeof tf.scalar> : loss;
      }), [...dense, ...rowVars]);
      loss = value.dataSync()[0]!;
      rowGrads = rowVars.map((v) => grads[v.name]!.dataSync() as Float32Array);
      for (const v of dense) if (grads[v.name]) denseGrads[v.name] = grads[v.name]!;
      tf.dispose([value, ...rowVars.map((v) => grads[v.name]!)]);
    } finally {
      tf.dispose([...rowVars, labels, ...Object.values(masks).flatMap((m) => [m.mask, m.length])]);
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
    const masks = this.masks(batch);
    try {
      // tf.tidy walks a non-tensor result element by element: return the tensor, read it outside.
      const probabilities = tf.tidy(() => {
        const rows = lookup.tables.map((t, i) => tf.tensor2d(t.rows, [t.unique.length, this.layout.tables[i]!.dim]));
        return tf.sigmoid(this.logits(this.embed(lookup, rows, masks, batch.size, false), false));
      });
      const values = probabilities.dataSync() as Float32Array;
      probabilities.dispose();
      return values;
    } finally {
      tf.dispose(Object.values(masks).flatMap((m) => [m.mask, m.length]));
    }
  }

  /** Masks are data, not parameters: built outside the tape (TF.js has no gradient for comparisons). */
  private masks(batch: EncodedBatch): Record<string, ListMasks> {
    const out: Record<string, ListMasks> = {};
    for (const plan of this.plans) {
      for (const part of plan.parts) {
        if (part.kind !== 'list') continue;
        const lengths = batch.lists[part.name]!.lengths;
        out[part.name] = {
          mask: tf.tensor2d(listMask(lengths, part.width), [batch.size, part.width]),
          length: tf.tensor2d(Float32Array.from(lengths, (n) => Math.max(1, n)), [batch.size, 1]),
          counts: Int32Array.from(lengths, (n) => Math.max(0, Math.min(n, part.width))),
        };
      }
    }
    return out;
  }

  /**
   * Each part's rows gathered straight from its table's unique rows (no
   * gather-then-slice, whose gradient would pad every part back to the whole
   * field), when the model first reads it.
   */
  private embed(lookup: LayoutLookup, rows: readonly (Tensor2D | Variable)[], masks: Record<string, ListMasks>, size: number, training: boolean): Embedded {
    const where = new Map<string, { field: FieldLookup; rows: Tensor2D; start: number; width: number }>();
    this.plans.forEach((plan, f) => {
      const field = lookup.fields[f]!;
      let start = 0;
      for (const part of plan.parts) {
        where.set(part.name, { field, rows: rows[field.table]! as Tensor2D, start, width: part.width });
        start += size * part.width;
      }
    });
    /** A part's embeddings at `positions` (indices into its size × width positions), or at all of them: [count, outputDim]. */
    const gatherPart = (name: string, positions?: Int32Array): Tensor2D => {
      const { field, rows: table, start, width } = where.get(name)!;
      const chunks = field.chunks;
      let index: Int32Array;
      if (!positions) {
        index = field.inverse.subarray(start * chunks, (start + size * width) * chunks);
      } else {
        index = new Int32Array(positions.length * chunks);
        for (let i = 0; i < positions.length; i++) {
          for (let c = 0; c < chunks; c++) index[i * chunks + c] = field.inverse[(start + positions[i]!) * chunks + c]!;
        }
      }
      const masking = this.embeddingMasking;
      // Inference needs no gradient: TensorFlow's gather as it is, without gatherRows' custom-gradient wrapper.
      const gather = (): Tensor2D => (training ? gatherRows(table, index) : gatherUntaped(table, tf.tensor1d(index, 'int32')) as Tensor2D);
      if (!masking) return tf.reshape(gather(), [index.length / chunks, field.outputDim]);
      const unique = lookup.tables[field.table]!.unique;
      const tableRows = Int32Array.from(index, (i) => unique[i]!);
      const masked = masking.maskRows(field.field, gather(), tableRows, training);
      return masking.maskOutput(field.field, tf.reshape(masked, [index.length / chunks, field.outputDim]), training);
    };
    /** `by`'s value counts, after checking the parts `names` are lists of its width. */
    const listCounts = (names: readonly string[], by: string): { width: number; counts: Int32Array } => {
      const { width } = where.get(by)!;
      const counts = masks[by]?.counts;
      if (!counts) throw new ValidationError(`${by} is not a list input`);
      const other = names.filter((name) => where.get(name)?.width !== width);
      if (other.length > 0) throw new ValidationError(`list inputs must have ${by}'s width ${width}`, other);
      return { width, counts };
    };
    // A plain cache, not lazy properties: getters defined per call made V8 build a
    // new hidden class each batch, which kept the whole batch alive until the next full GC.
    const gathered = new Map<string, Tensor3D>();
    const embedded: Embedded = {
      size,
      part: (name) => {
        let value = gathered.get(name);
        if (!value) {
          const at = where.get(name);
          if (!at) throw new Error(`no input part ${name}`);
          value = tf.reshape(gatherPart(name), [size, at.width, at.field.outputDim]) as Tensor3D;
          gathered.set(name, value);
        }
        return value;
      },
      masks: {},
      lengths: {},
      runs: (names, by) => {
        const { width, counts } = listCounts(names, by);
        const parts = names.map((name) => where.get(name)!);
        const sameAsPrevious = (b: number): boolean => {
          if (counts[b] !== counts[b - 1]) return false;
          for (const { field, start } of parts) {
            const chunks = field.chunks;
            const at = (start + b * width) * chunks;
            const before = at - width * chunks;
            for (let i = 0, n = counts[b]! * chunks; i < n; i++) if (field.inverse[at + i] !== field.inverse[before + i]) return false;
          }
          return true;
        };
        const runs: BehaviourRun[] = [];
        let offset = 0;
        for (let b = 0; b < size; b++) {
          const last = runs[runs.length - 1];
          if (last && sameAsPrevious(b)) {
            last.size++;
          } else {
            runs.push({ start: b, size: 1, offset, count: counts[b]! });
            offset += counts[b]!;
          }
        }
        return {
          runs,
          values: () => {
            const positions = new Int32Array(offset);
            for (const run of runs) for (let l = 0; l < run.count; l++) positions[run.offset + l] = run.start * width + l;
            const values = names.map((name) => gatherPart(name, positions));
            return values.length === 1 ? values[0]! : tf.concat(values, 1);
          },
        };
      },
      filled: (names, by) => {
        const { width, counts } = listCounts(names, by);
        const total = counts.reduce((sum, n) => sum + n, 0);
        const positions = new Int32Array(total);
        const example = new Int32Array(total);
        for (let b = 0, k = 0; b < size; b++) {
          for (let l = 0; l < counts[b]!; l++, k++) {
            positions[k] = b * width + l;
            example[k] = b;
          }
        }
        const values = names.map((name) => gatherPart(name, positions));
        return { values: values.length === 1 ? values[0]! : tf.concat(values, 1), example };
      },
    };
    for (const [name, list] of Object.entries(masks)) {
      embedded.masks[name] = list.mask;
      embedded.lengths[name] = list.length;
    }
    return embedded;
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
