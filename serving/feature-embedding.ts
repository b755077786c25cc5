import type { CtrModel } from '../models/ctr/ctr-model.js';
import { RowMask } from '../models/ctr/row-mask.js';
import { ValidationError } from '../infra/errors.js';

export interface FeatureEmbedding {
  field: string;
  value: string;
  /** The field whose table rows it uses (a behaviour sequence shares its item field's rows). */
  embeddingField: string;
  /** Vocabulary id; 1 = unknown value (the cold-start row). */
  id: number;
  known: boolean;
  /** Chunks concatenated (Unified Embedding: c_f chunks from the shared table; otherwise 1). */
  chunks: number;
  /** Table rows per chunk, in order. */
  rows: number[];
  /** Per chunk, whether an OptEmbed row mask pruned it (pruned chunks are zeros). */
  pruned: boolean[];
  embedding: number[];
}

/**
 * The embedding a model feeds for one feature value: the same lookup as
 * scoring (layout plan → table rows, Unified Embedding's chunks concatenated),
 * zeros where a pruned model's row mask drops the row, and the served
 * precision (an int8 model's tables hold the dequantized values).
 */
export function featureEmbedding(model: CtrModel, field: string, value: string): FeatureEmbedding {
  const encoder = model.encoder;
  encoder.field(field); // unknown field → ValidationError naming the fields
  const plan = model.plans.find((p) => p.parts.some((part) => part.name === field));
  if (!plan) throw new ValidationError(`field ${JSON.stringify(field)} has no embedding in this model (numeric or unused field)`);
  const id = encoder.idOf(field, value);
  const layout = model.layout;
  const batch = Object.fromEntries(layout.plans.map((p) => [p.name, p.name === plan.field ? [id] : []]));
  const lookup = layout.lookup(batch);
  const f = lookup.fields.find((x) => x.field === plan.field)!;
  const table = lookup.tables[f.table]!;
  const dim = layout.tables[f.table]!.dim;
  const mask = model.masking instanceof RowMask ? model.masking.keep.get(plan.field) : undefined;
  const embedding = new Array<number>(f.chunks * dim).fill(0);
  const rows: number[] = [];
  const pruned: boolean[] = [];
  for (let c = 0; c < f.chunks; c++) {
    const u = f.inverse[c]!;
    const row = table.unique[u]!;
    rows.push(row);
    const isPruned = mask !== undefined && !mask[row];
    pruned.push(isPruned);
    if (!isPruned) for (let d = 0; d < dim; d++) embedding[c * dim + d] = table.rows[u * dim + d]!;
  }
  return { field, value, embeddingField: plan.field, id, known: id > 1, chunks: f.chunks, rows, pruned, embedding };
}
