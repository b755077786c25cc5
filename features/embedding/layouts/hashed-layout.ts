import { ValidationError } from '../../../infra/errors.js';
import { bucketAll, hashString } from '../../hashing.js';
import { EmbeddingTable } from '../tables/embedding-table.js';
import { EmbeddingLayout } from './embedding-layout.js';
import type { CategoricalField, FieldPlan } from './embedding-layout.js';
import type { TableSettings } from './per-field-layout.js';

export interface HashedLayoutOptions extends TableSettings {
  /** Rows of each field's table (never more than its vocabulary). */
  rows: Readonly<Record<string, number>>;
}

/** (b) The hashing trick: one table per field, ids hashed into its rows with a per-field salt. */
export function hashedLayout(fields: readonly CategoricalField[], { rows, dim, optimizer, init, seed = 0 }: HashedLayoutOptions): EmbeddingLayout {
  const missing = fields.filter((field) => !(rows[field.name]! >= 1)).map((field) => `rows['${field.name}'] = ${rows[field.name]}`);
  if (missing.length > 0) throw new ValidationError('hashed layout needs a row count ≥ 1 per field', missing);
  const tables = fields.map((field) => new EmbeddingTable({ name: field.name, rows: rows[field.name]!, dim, optimizer, init, seed }));
  const plans = fields.map((field, t): FieldPlan => {
    const salt = hashString(field.name, seed);
    const buckets = rows[field.name]!;
    return { name: field.name, table: t, chunks: 1, rowsOf: (values, _chunk, out, stride, offset) => bucketAll(values, salt, buckets, out, stride, offset) };
  });
  return new EmbeddingLayout('hashed', tables, plans);
}

/**
 * Splits a total row budget over fields in proportion to their vocabularies,
 * so every field has the same values-per-row load (and so about the same
 * collision rate); a budget at or above the total vocabulary gives every field
 * its full vocabulary.
 */
export function rowsForBudget(fields: readonly CategoricalField[], totalRows: number): Record<string, number> {
  const vocabulary = fields.reduce((sum, field) => sum + field.vocabularySize, 0);
  const share = Math.min(1, totalRows / vocabulary);
  return Object.fromEntries(fields.map((field) => [field.name, Math.max(1, Math.floor(field.vocabularySize * share))]));
}
