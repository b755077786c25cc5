import { ValidationError } from '../../../infra/errors.js';
import { EmbeddingTable } from '../tables/embedding-table.js';
import type { OptimizerConfig } from '../optimizers/sparse-optimizer.js';
import type { RowInit } from '../tables/row-init.js';
import { EmbeddingLayout } from './embedding-layout.js';
import type { CategoricalField, FieldIds, FieldPlan } from './embedding-layout.js';

export interface TableSettings {
  dim: number;
  optimizer: OptimizerConfig;
  init?: RowInit;
  /** @default 0 */
  seed?: number;
}

export interface PerFieldLayoutOptions extends TableSettings {
  /** Per-field widths overriding `dim` (what OptEmbed's dimension search picks). */
  dims?: Readonly<Record<string, number>>;
}

/** (a) One table per field with a row per vocabulary entry: ids are vocabulary indices. */
export function perFieldLayout(fields: readonly CategoricalField[], { dim, dims = {}, optimizer, init, seed = 0 }: PerFieldLayoutOptions): EmbeddingLayout {
  const bad = Object.entries(dims).filter(([name, d]) => !fields.some((f) => f.name === name) || !(Number.isInteger(d) && d >= 1)).map(([name, d]) => `dims['${name}'] = ${d}`);
  if (bad.length > 0) throw new ValidationError('per-field layout: dims must name layout fields and be positive integers', bad);
  const tables = fields.map(
    (field) => new EmbeddingTable({ name: field.name, rows: field.vocabularySize, dim: dims[field.name] ?? dim, optimizer, init, seed }),
  );
  const plans = fields.map((field, t): FieldPlan => ({ name: field.name, table: t, chunks: 1, rowsOf: copyIndices(field.name) }));
  return new EmbeddingLayout('per-field', tables, plans);
}

function copyIndices(field: string): FieldPlan['rowsOf'] {
  return (values: FieldIds, _chunk, out, stride, offset) => {
    // Int32Array ids (what the feature encoder hands over) are integers already: one block copy.
    if (values instanceof Int32Array && stride === 1) {
      out.set(values, offset);
      return;
    }
    for (let p = 0; p < values.length; p++) {
      const value = values[p]!;
      // The table checks the range; only non-integers would slip through the Int32Array.
      if (typeof value !== 'number' || (value | 0) !== value) {
        throw new ValidationError(`field '${field}': per-field tables take vocabulary indices`, [`ids[${p}] = ${JSON.stringify(value)}`]);
      }
      out[offset + p * stride] = value;
    }
  };
}
