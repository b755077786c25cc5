import { ValidationError } from '../../../infra/errors.js';
import type { LayoutLookup } from './embedding-layout.js';

/**
 * For a model that takes each field's output as a positions × outputDim array
 * rather than gathering inside its tape: turns the gradients w.r.t. those
 * outputs into per-table gradients w.r.t. the unique rows, summing every
 * position, chunk and field that read the same row.
 */
export function tableGradientsFromFieldOutputs(lookup: LayoutLookup, fieldGrads: readonly Float32Array[]): Float32Array[] {
  if (fieldGrads.length !== lookup.fields.length) {
    throw new ValidationError('field gradient count mismatch', [`got ${fieldGrads.length}, the lookup has ${lookup.fields.length} fields`]);
  }
  const grads = lookup.tables.map((table) => new Float32Array(table.rows.length));
  lookup.fields.forEach((field, f) => {
    const source = fieldGrads[f]!;
    if (source.length !== field.positions * field.outputDim) {
      throw new ValidationError(`field '${field.field}': gradient size mismatch`, [
        `got ${source.length} floats, expected positions × outputDim = ${field.positions} × ${field.outputDim}`,
      ]);
    }
    const target = grads[field.table]!;
    const dim = field.outputDim / field.chunks;
    // inverse is position-major over chunks, as is the output row: entry i's
    // gradient is the i-th dim-wide slice of the field's gradient.
    for (let i = 0; i < field.inverse.length; i++) {
      for (let j = 0, o = field.inverse[i]! * dim, s = i * dim; j < dim; j++) target[o + j]! += source[s + j]!;
    }
  });
  return grads;
}

/** The forward counterpart: each field's output (positions × outputDim), chunks concatenated. */
export function fieldOutputs(lookup: LayoutLookup): Float32Array[] {
  return lookup.fields.map((field) => {
    const { rows } = lookup.tables[field.table]!;
    const dim = field.outputDim / field.chunks;
    const out = new Float32Array(field.positions * field.outputDim);
    for (let i = 0; i < field.inverse.length; i++) {
      for (let j = 0, s = field.inverse[i]! * dim, o = i * dim; j < dim; j++) out[o + j] = rows[s + j]!;
    }
    return out;
  });
}
