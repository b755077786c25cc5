import { ValidationError } from '../../../infra/errors.js';
import type { HashableValue } from '../../hashing.js';
import type { EmbeddingTable } from '../tables/embedding-table.js';
import type { TableLookup } from '../tables/table-lookup.js';

/** A categorical input as a layout sees it. */
export interface CategoricalField {
  name: string;
  /** Distinct values; per-field tables use it as their row count. */
  vocabularySize: number;
}

/** One field's ids for a batch: one entry per position (a multi-valued field has several per example). */
export type FieldIds = ArrayLike<HashableValue>;

export interface FieldLookup {
  readonly field: string;
  /** Index into LayoutLookup.tables. */
  readonly table: number;
  readonly positions: number;
  readonly chunks: number;
  /** positions × chunks indices into the table's unique rows, position-major. */
  readonly inverse: Int32Array;
  /** chunks × the table's dim: the width of the field's output. */
  readonly outputDim: number;
}

/**
 * A batch's embeddings: per table, the distinct rows (one U×dim tensor for the
 * model); per field, where its positions' chunks are in them. Gradients go
 * back per table, so rows hit by several fields or chunks get one summed
 * gradient (tf.gather's gradient sums, or tableGradientsFromFieldOutputs).
 */
export interface LayoutLookup {
  readonly tables: readonly TableLookup[];
  readonly fields: readonly FieldLookup[];
}

export interface TableParameters {
  name: string;
  rows: number;
  dim: number;
  parameters: number;
}

export interface ParameterCount {
  total: number;
  tables: TableParameters[];
}

/** How one field's values become rows of one table. */
export interface FieldPlan {
  readonly name: string;
  readonly table: number;
  readonly chunks: number;
  /** Writes chunk `chunk`'s row of each value to out[offset + p·stride]. */
  rowsOf(values: FieldIds, chunk: number, out: Int32Array, stride: number, offset: number): void;
}

export type LayoutKind = 'per-field' | 'hashed' | 'unified';

/**
 * Categorical fields mapped to embedding tables. The three layouts differ only
 * in their plans (which table, how many chunks, which hash), so one class runs
 * them all and they compare like for like.
 */
export class EmbeddingLayout {
  constructor(
    readonly kind: LayoutKind,
    readonly tables: readonly EmbeddingTable[],
    readonly plans: readonly FieldPlan[],
  ) {}

  /** The same layout over tables with the same names and shapes, e.g. restored from a checkpoint. */
  withTables(tables: readonly EmbeddingTable[]): EmbeddingLayout {
    const byName = new Map(tables.map((table) => [table.name, table]));
    const issues: string[] = [];
    const matched = this.tables.map((own) => {
      const other = byName.get(own.name);
      if (!other) issues.push(`table '${own.name}' is missing`);
      else if (other.rows !== own.rows || other.dim !== own.dim) {
        issues.push(`table '${own.name}' is ${other.rows}×${other.dim}, the layout needs ${own.rows}×${own.dim}`);
      }
      return other!;
    });
    if (issues.length > 0) throw new ValidationError(`${this.kind} layout: tables do not fit`, issues);
    return new EmbeddingLayout(this.kind, matched, this.plans);
  }

  parameterCount(): ParameterCount {
    const tables = this.tables.map(({ name, rows, dim }) => ({ name, rows, dim, parameters: rows * dim }));
    return { total: tables.reduce((sum, t) => sum + t.parameters, 0), tables };
  }

  /**
   * For each value of a field, whether its table has a row for it (its first
   * chunk's); undefined when the table cannot tell (range ids give every
   * value a row). Nothing is allocated or counted.
   */
  knows(field: string, values: FieldIds): boolean[] | undefined {
    const plan = this.plans.find((p) => p.name === field);
    if (!plan) return undefined;
    const table = this.tables[plan.table]!;
    const keys = new Int32Array(values.length);
    plan.rowsOf(values, 0, keys, 1, 0);
    if (table.hasRow(0) === undefined) return undefined;
    return Array.from(keys, (key) => table.hasRow(key)!);
  }

  lookup(batch: Readonly<Record<string, FieldIds>>): LayoutLookup {
    this.checkFields(batch);
    const fields: FieldLookup[] = [];
    const tables = this.tables.map((table, t) => {
      const plans = this.plans.filter((plan) => plan.table === t);
      const size = plans.reduce((sum, plan) => sum + batch[plan.name]!.length * plan.chunks, 0);
      const ids = new Int32Array(size);
      let offset = 0;
      const segments = plans.map((plan) => {
        const values = batch[plan.name]!;
        for (let chunk = 0; chunk < plan.chunks; chunk++) plan.rowsOf(values, chunk, ids, plan.chunks, offset + chunk);
        const start = offset;
        offset += values.length * plan.chunks;
        return { plan, values, start };
      });
      const found = table.lookup(ids);
      for (const { plan, values, start } of segments) {
        fields.push({
          field: plan.name,
          table: t,
          positions: values.length,
          chunks: plan.chunks,
          inverse: found.inverse.subarray(start, start + values.length * plan.chunks),
          outputDim: plan.chunks * table.dim,
        });
      }
      return found;
    });
    // Fields in the layout's order, whatever table they landed in.
    const order = new Map(this.plans.map((plan, i) => [plan.name, i]));
    fields.sort((a, b) => order.get(a.field)! - order.get(b.field)!);
    return { tables, fields };
  }

  /** `grads[t]` is the gradient w.r.t. lookup.tables[t].rows. */
  applyGradients(lookup: LayoutLookup, grads: readonly Float32Array[]): void {
    if (grads.length !== this.tables.length) {
      throw new ValidationError('gradient count mismatch', [`got ${grads.length} table gradients, the layout has ${this.tables.length} tables`]);
    }
    this.tables.forEach((table, t) => table.applyGradients(lookup.tables[t]!.unique, grads[t]!));
  }

  private checkFields(batch: Readonly<Record<string, FieldIds>>): void {
    const known = new Set(this.plans.map((plan) => plan.name));
    const issues = [
      ...this.plans.filter((plan) => batch[plan.name] === undefined).map((plan) => `field '${plan.name}' is missing`),
      ...Object.keys(batch).filter((name) => !known.has(name)).map((name) => `field '${name}' is not in the layout`),
    ];
    if (issues.length > 0) throw new ValidationError(`${this.kind} layout: batch fields do not match`, issues);
  }
}
