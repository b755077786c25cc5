import { z } from 'zod';
import { tf } from '../../infra/tf.js';
import type { EmbeddingLayout } from '../../features/embedding/index.js';
import { ValidationError } from '../../infra/errors.js';
import type { EmbeddingMasking } from './embedding-masking.js';

type Tensor2D = ReturnType<typeof tf.tensor2d>;

export const RowMaskJsonSchema = z.object({
  kind: z.literal('row-mask'),
  /** Per layout field: its table's row count and a bitset (LSB first, base64) of the rows it keeps. */
  fields: z.record(z.string(), z.object({ rows: z.number().int().positive(), kept: z.number().int().nonnegative(), bits: z.string() })),
});
export type RowMaskJson = z.infer<typeof RowMaskJsonSchema>;

/**
 * Which rows of its table each layout field keeps (OptEmbed's row pruning): a
 * pruned row embeds as zeros for that field. In a Unified Embedding table one
 * row may be kept by one field and pruned by another.
 */
export class RowMask implements EmbeddingMasking {
  constructor(readonly keep: ReadonlyMap<string, Uint8Array>) {}

  static fromJSON(json: unknown): RowMask {
    const parsed = RowMaskJsonSchema.parse(json);
    const keep = new Map<string, Uint8Array>();
    for (const [field, { rows, kept, bits }] of Object.entries(parsed.fields)) {
      const packed = Buffer.from(bits, 'base64');
      if (packed.length !== Math.ceil(rows / 8)) throw new ValidationError(`row mask of ${field}: ${packed.length} bytes for ${rows} rows`);
      const flags = Uint8Array.from({ length: rows }, (_, r) => (packed[r >> 3]! >> (r & 7)) & 1);
      if (flags.reduce((a, b) => a + b, 0) !== kept) throw new ValidationError(`row mask of ${field}: the bitset keeps a different number of rows than recorded (${kept})`);
      keep.set(field, flags);
    }
    return new RowMask(keep);
  }

  toJSON(): RowMaskJson {
    const fields: RowMaskJson['fields'] = {};
    for (const [field, flags] of this.keep) {
      const packed = new Uint8Array(Math.ceil(flags.length / 8));
      flags.forEach((f, r) => { if (f) packed[r >> 3]! |= 1 << (r & 7); });
      fields[field] = { rows: flags.length, kept: flags.reduce((a, b) => a + b, 0), bits: Buffer.from(packed).toString('base64') };
    }
    return { kind: 'row-mask', fields };
  }

  /** Checks that the mask fits a layout: every field named, with its table's row count. */
  check(layout: EmbeddingLayout): void {
    const issues: string[] = [];
    for (const plan of layout.plans) {
      const flags = this.keep.get(plan.name);
      const rows = layout.tables[plan.table]!.rows;
      if (!flags) issues.push(`field '${plan.name}' has no row mask`);
      else if (flags.length !== rows) issues.push(`field '${plan.name}': mask over ${flags.length} rows, its table has ${rows}`);
    }
    if (issues.length > 0) throw new ValidationError('row mask does not fit the embedding layout', issues);
  }

  maskRows(field: string, rows: Tensor2D, tableRows: Int32Array): Tensor2D {
    const flags = this.keep.get(field);
    if (!flags) return rows;
    const mask = Float32Array.from(tableRows, (r) => flags[r]!);
    return tf.mul(rows, tf.tensor2d(mask, [mask.length, 1]));
  }

  maskOutput(_field: string, output: Tensor2D): Tensor2D {
    return output;
  }

  penalty(): undefined {
    return undefined;
  }

  beforeStep(): void {}

  /** Per table, whether some field keeps each row. */
  keptRows(layout: EmbeddingLayout): Uint8Array[] {
    return layout.tables.map((table, t) => {
      const any = new Uint8Array(table.rows);
      for (const plan of layout.plans) {
        if (plan.table !== t) continue;
        const flags = this.keep.get(plan.name);
        if (!flags) any.fill(1);
        else flags.forEach((f, r) => { if (f) any[r] = 1; });
      }
      return any;
    });
  }

  /** Embedding parameters left: rows some field keeps × their table's width. */
  embeddingParameters(layout: EmbeddingLayout): number {
    return this.keptRows(layout).reduce((sum, any, t) => sum + any.reduce((a, b) => a + b, 0) * layout.tables[t]!.dim, 0);
  }

  /** Zeroes the rows no field keeps, so a saved table holds exactly what the model uses. */
  zeroPrunedRows(layout: EmbeddingLayout): void {
    this.keptRows(layout).forEach((any, t) => {
      const { weights, dim } = layout.tables[t]!;
      any.forEach((f, r) => { if (!f) weights.fill(0, r * dim, (r + 1) * dim); });
    });
  }
}
