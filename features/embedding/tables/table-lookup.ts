import { ValidationError } from '../../../infra/errors.js';
import { nativeTables } from '../../../infra/native-tables.js';
import { BLOCK_ROWS, warmRows } from './row-blocks.js';

/**
 * What a table hands the model for one batch: the distinct rows it touched and,
 * per input position, which of them it is. The model gathers `rows` (U×dim) by
 * `inverse` inside its tape and returns the U×dim gradient with `unique`.
 */
export interface TableLookup {
  /** Distinct row indices in order of first appearance. */
  readonly unique: Int32Array;
  /** Per input position, an index into `unique`. */
  readonly inverse: Int32Array;
  /** unique.length × dim weights, row k for unique[k]. */
  readonly rows: Float32Array;
}

/** Copies the rows `unique` out of `weights` into one U×dim array. */
export function copyRows(weights: Float32Array, unique: Int32Array, dim: number): Float32Array {
  const out = new Float32Array(unique.length * dim);
  if (nativeTables.kernels) {
    nativeTables.kernels.copyRows(weights, unique, dim, out);
    return out;
  }
  // An element loop beats .set(subarray(...)), which allocates a view per row.
  for (let first = 0, o = 0; first < unique.length; first += BLOCK_ROWS) {
    const last = Math.min(unique.length, first + BLOCK_ROWS);
    warmRows(weights, unique, first, last, dim);
    for (let k = first; k < last; k++) {
      for (let i = unique[k]! * dim, stop = i + dim; i < stop; i++) out[o++] = weights[i]!;
    }
  }
  return out;
}

/** Input ids as an Int32Array, checking each is an int32 when they are not one already. */
export function toInt32Ids(ids: ArrayLike<number>, table: string): Int32Array {
  if (ids instanceof Int32Array) return ids;
  const out = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const value = ids[i]!;
    if ((value | 0) !== value) throw new ValidationError(`table '${table}': ids must be int32`, [`ids[${i}] = ${value}`]);
    out[i] = value;
  }
  return out;
}
