import { gatherRows } from '../tf/tf-gather-rows.js';
import type { Tensor2D } from '../tf/tf-gather-rows.js';
import type { LayoutLookup } from './embedding-layout.js';

/**
 * Inside the model's tape: each field's output (positions × outputDim) from
 * the per-table rows tensors (`rows[t]` holds lookup.tables[t].rows, U×dim).
 * Taking the gradient w.r.t. those small tensors gives exactly what
 * EmbeddingLayout.applyGradients wants, already summed over collisions.
 */
export function gatherFieldOutputs(lookup: LayoutLookup, rows: readonly Tensor2D[]): Tensor2D[] {
  return lookup.fields.map((field) => gatherRows(rows[field.table]!, field.inverse).reshape([field.positions, field.outputDim]));
}
