import { ValidationError } from '../../../infra/errors.js';
import { bucketAll, hashString } from '../../hashing.js';
import type { DynamicIdsOptions } from '../ids/dynamic-ids.js';
import { EmbeddingTable } from '../tables/embedding-table.js';
import { EmbeddingLayout } from './embedding-layout.js';
import type { CategoricalField, FieldPlan } from './embedding-layout.js';
import type { TableSettings } from './per-field-layout.js';

export interface UnifiedLayoutOptions extends Omit<TableSettings, 'dim'> {
  /** Rows of the one shared table: the whole budget is rows × chunkDim. */
  rows: number;
  chunkDim: number;
  /** Chunks per field (its output is chunks × chunkDim wide). */
  chunks?: Readonly<Record<string, number>>;
  /** Chunks of a field that `chunks` does not name. @default 1 */
  defaultChunks?: number;
  /**
   * Dynamic rows (Monolith-style): each (field, chunk, value) hashes to a
   * 31-bit id that gets a row of the table on first touch (admission filter,
   * expiry), instead of hashing straight into `rows` buckets. Fields may then
   * have unbounded (hashed) vocabularies. @default fixed buckets
   */
  ids?: DynamicIdsOptions;
}

/** Ids of dynamic rows: a 31-bit hash space. */
const DYNAMIC_ID_SPACE = 2 ** 31 - 1;

/**
 * (c) Unified Embedding (Coleman et al., NeurIPS 2023): every field shares one
 * table. Field f's value is looked up c_f times, chunk j with its own salted
 * hash h_{f,j}, and the chunks are concatenated. Distinct (f, j) salts make two
 * values that collide in one chunk unlikely to collide in another.
 */
export function unifiedLayout(fields: readonly CategoricalField[], { rows, chunkDim, chunks = {}, defaultChunks = 1, optimizer, init, seed = 0, ids }: UnifiedLayoutOptions): EmbeddingLayout {
  const bad = fields
    .filter((field) => chunks[field.name] !== undefined && !(Number.isInteger(chunks[field.name]) && chunks[field.name]! >= 1))
    .map((field) => `chunks['${field.name}'] = ${chunks[field.name]}`);
  if (!(Number.isInteger(defaultChunks) && defaultChunks >= 1)) bad.push(`defaultChunks = ${defaultChunks}`);
  if (bad.length > 0) throw new ValidationError('unified layout: chunks must be positive integers', bad);
  const table = new EmbeddingTable({ name: 'unified', rows, dim: chunkDim, optimizer, init, seed, ...(ids ? { ids } : {}) });
  const space = ids ? DYNAMIC_ID_SPACE : rows;
  const plans = fields.map((field): FieldPlan => {
    const count = chunks[field.name] ?? defaultChunks;
    const salts = Array.from({ length: count }, (_, j) => hashString(`${field.name}/${j}`, seed));
    return {
      name: field.name,
      table: 0,
      chunks: count,
      rowsOf: (values, chunk, out, stride, offset) => bucketAll(values, salts[chunk]!, space, out, stride, offset),
    };
  });
  return new EmbeddingLayout('unified', [table], plans);
}
