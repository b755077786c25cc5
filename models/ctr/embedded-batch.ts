import { tf } from '../../infra/tf.js';
import { ValidationError } from '../../infra/errors.js';
import { gatherRows, gatherUntaped, type FieldLookup, type LayoutLookup } from '../../features/embedding/index.js';
import type { EncodedBatch } from '../../features/spec/feature-encoder.js';
import type { Variable } from '../layers/params.js';
import { listMask, type EmbeddingPlan } from './embedding-inputs.js';
import type { EmbeddingMasking } from './embedding-masking.js';

/**
 * The contract between the embedding half of a CTR model (tables outside the
 * tape) and its dense half (LR, DNN, DIN): a batch's input parts embedded,
 * lists with their masks, gathered lazily so a model pays only for what it reads.
 */

type Tensor2D = ReturnType<typeof tf.tensor2d>;
type Tensor3D = ReturnType<typeof tf.tensor3d>;

/** What a model's forward pass receives: each input part embedded, lists with masks. */
export interface Embedded {
  size: number;
  /** A part's embeddings, [size, width, dim], gathered when first asked for. */
  part(name: string): Tensor3D;
  /** A single-valued part's embeddings, [size, dim]: `part` without its width axis, and without the reshapes. Cached like `part`: the caller's tidy disposes it, not the caller. */
  single(name: string): Tensor2D;
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
export interface ListMasks {
  mask: Tensor2D;
  length: Tensor2D;
  /** Per example, values present (≤ width). */
  counts: Int32Array;
}

/** Masks are data, not parameters: built outside the tape (TF.js has no gradient for comparisons). The caller disposes them (disposeMasks). */
export function listMasks(plans: readonly EmbeddingPlan[], batch: EncodedBatch): Record<string, ListMasks> {
  const out: Record<string, ListMasks> = {};
  for (const plan of plans) {
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

export function disposeMasks(masks: Record<string, ListMasks>): void {
  tf.dispose(Object.values(masks).flatMap((m) => [m.mask, m.length]));
}

/** `x` as [rows, cols]; as it is when it has that shape already (each op costs ~25 µs of dispatch in a small inference). */
function reshaped(x: Tensor2D, rows: number, cols: number): Tensor2D {
  return x.shape[0] === rows && x.shape[1] === cols ? x : tf.reshape(x, [rows, cols]);
}

/** What embedBatch reads: the batch's lookup, its rows as tensors (variables when training), masks and size. */
export interface EmbedInputs {
  plans: readonly EmbeddingPlan[];
  lookup: LayoutLookup;
  rows: readonly (Tensor2D | Variable)[];
  masks: Record<string, ListMasks>;
  size: number;
  training: boolean;
  /** Pruned rows and dimensions (OptEmbed), applied to every gathered part. */
  masking: EmbeddingMasking | undefined;
}

/**
 * Each part's rows gathered straight from its table's unique rows (no
 * gather-then-slice, whose gradient would pad every part back to the whole
 * field), when the model first reads it.
 */
export function embedBatch({ plans, lookup, rows, masks, size, training, masking }: EmbedInputs): Embedded {
  const where = new Map<string, { field: FieldLookup; rows: Tensor2D; start: number; width: number }>();
  plans.forEach((plan, f) => {
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
    // Inference needs no gradient: TensorFlow's gather as it is, without gatherRows' custom-gradient wrapper.
    const gather = (): Tensor2D => (training ? gatherRows(table, index) : gatherUntaped(table, tf.tensor1d(index, 'int32')) as Tensor2D);
    if (!masking) return reshaped(gather(), index.length / chunks, field.outputDim);
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
  const flat = new Map<string, Tensor2D>();
  const gathered = new Map<string, Tensor3D>();
  const flatPart = (name: string): Tensor2D => {
    let value = flat.get(name);
    if (!value) {
      if (!where.has(name)) throw new Error(`no input part ${name}`);
      value = gatherPart(name);
      flat.set(name, value);
    }
    return value;
  };
  const embedded: Embedded = {
    size,
    part: (name) => {
      let value = gathered.get(name);
      if (!value) {
        const rows = flatPart(name);
        const at = where.get(name)!;
        value = tf.reshape(rows, [size, at.width, at.field.outputDim]) as Tensor3D;
        gathered.set(name, value);
      }
      return value;
    },
    single: (name) => {
      if (where.has(name) && where.get(name)!.width !== 1) throw new ValidationError(`${name} is a list input, not a single value`);
      return flatPart(name);
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

