import { ValidationError } from '../../../infra/errors.js';
import { DEFAULT_ROW } from '../ids/dynamic-ids.js';
import { IdHashMap } from '../ids/id-hash-map.js';
import { RowDeduper } from './row-deduper.js';
import { copyRows, toInt32Ids } from './table-lookup.js';
import type { TableLookup } from './table-lookup.js';

/**
 * A read-only table for serving: weights and the id → row map, no optimizer
 * state. Lookups never allocate, admit or expire rows; an id without a row
 * reads the zero row, as it did in training.
 */
export class ServingTable {
  private readonly map: IdHashMap | null;
  private readonly deduper: RowDeduper;

  constructor(
    readonly name: string,
    readonly rows: number,
    readonly dim: number,
    readonly weights: Float32Array,
    /** For dynamic ids: which id each row holds and whether it holds one. */
    dynamic?: { rowIds: Int32Array; live: Uint8Array },
  ) {
    this.deduper = new RowDeduper(rows);
    this.map = dynamic ? new IdHashMap(rows) : null;
    if (dynamic) for (let row = 0; row < rows; row++) if (dynamic.live[row]) this.map!.set(dynamic.rowIds[row]!, row);
  }

  rowOf(id: number): number {
    if (this.map) {
      const row = this.map.get(id);
      return row < 0 ? DEFAULT_ROW : row;
    }
    if (!Number.isInteger(id) || id < 0 || id >= this.rows) {
      throw new ValidationError(`table '${this.name}': id out of range`, [`id ${id} is not in [0, ${this.rows})`]);
    }
    return id;
  }

  lookup(ids: ArrayLike<number>): TableLookup {
    const positions = toInt32Ids(ids, this.name);
    const rowOf = new Int32Array(positions.length);
    for (let i = 0; i < positions.length; i++) rowOf[i] = this.rowOf(positions[i]!);
    const unique = new Int32Array(positions.length);
    const inverse = new Int32Array(positions.length);
    const u = this.deduper.dedupe(rowOf, positions.length, unique, inverse);
    const distinct = unique.slice(0, u);
    return { unique: distinct, inverse, rows: copyRows(this.weights, distinct, this.dim) };
  }
}
