import { z } from 'zod';
import { TABLE_FORMATS } from './read-table.js';

/**
 * A `table` source: the user's own file(s), described once. Feature spec
 * fields read a column `c` as `context.c`; the id columns as `user_id` and
 * `item_id`. The file(s) need no event ids or timestamps.
 */
export const LabelMapSchema = z.union([
  /** 0/1 (also false/true, no/yes). */
  z.literal('binary'),
  /** 1 positive, −1 negative (libSVM's convention); 0 is refused. */
  z.literal('signed'),
  /** value ≥ threshold is positive (e.g. a rating ≥ 4). */
  z.object({ threshold: z.number() }).strict(),
]);
export type LabelMap = z.infer<typeof LabelMapSchema>;

export const SPLIT_KINDS = ['random', 'time', 'per-user-time'] as const;

export const TableSplitSchema = z.object({
  /** random: rows shuffled by `seed`; time: by the time column; per-user-time: each user's rows by time. */
  kind: z.enum(SPLIT_KINDS),
  /** train, validation, test; they must sum to 1. */
  fractions: z.tuple([z.number().gt(0), z.number().min(0), z.number().min(0)]).default([0.8, 0.1, 0.1])
    .refine((f) => Math.abs(f[0] + f[1] + f[2] - 1) < 1e-9, 'train, validation and test fractions must sum to 1'),
  seed: z.number().int().default(1),
}).strict();
export type TableSplit = z.infer<typeof TableSplitSchema>;

export const TableSourceObject = z.object({
  kind: z.literal('table'),
  /** One file split by `split`, or… */
  file: z.string().optional(),
  /** …the user's own split. */
  files: z.object({ train: z.string(), validation: z.string().optional(), test: z.string().optional() }).strict().optional(),
  /** Default: from the extension. */
  format: z.enum(TABLE_FORMATS).optional(),
  label: z.object({ column: z.string().min(1), map: LabelMapSchema.default('binary') }).strict(),
  /** Columns that hold the user and item ids (feature sources user_id, item_id; GAUC groups by user). */
  user: z.string().optional(),
  item: z.string().optional(),
  /** Event time (epoch ms or s, or ISO 8601): enables time splits and histories from earlier rows. */
  time: z.string().optional(),
  /** Multi-valued columns → separator, e.g. {"genres": "|"}. */
  separators: z.record(z.string(), z.string().min(1)).default({}),
  /** A column holding the behaviour sequence itself (item ids, most recent first). */
  sequence: z.object({ column: z.string(), separator: z.string().min(1).default('|') }).strict().optional(),
  /** Without `files`. Default: time when a time column is named, else random. */
  split: TableSplitSchema.optional(),
}).strict();
export type TableSource = z.infer<typeof TableSourceObject>;

/** What a table source's fields say together that each alone cannot (SourceSchema runs it too). */
export function tableSourceProblems(s: TableSource): string[] {
  const out: string[] = [];
  if ((s.file === undefined) === (s.files === undefined)) out.push('name either "file" (split by "split") or "files": {train, validation?, test?}');
  if (s.files && s.split) out.push('"split" goes with "file"; "files" are split already');
  if (s.split && s.split.kind !== 'random' && !s.time) out.push(`a ${s.split.kind} split needs the time column ("time")`);
  if (s.split?.kind === 'per-user-time' && !s.user) out.push('a per-user-time split needs the user column ("user")');
  return out;
}

export const TableSourceSchema = TableSourceObject.superRefine((s, ctx) => {
  for (const message of tableSourceProblems(s)) ctx.addIssue({ code: 'custom', message });
});

/** The split a single-file source uses (its default spelled out): what every run prints and records. */
export function effectiveSplit(source: TableSource): TableSplit | null {
  if (source.files) return null;
  return source.split ?? { kind: source.time ? 'time' : 'random', fractions: [0.8, 0.1, 0.1], seed: 1 };
}

export function describeSplit(source: TableSource): string {
  const split = effectiveSplit(source);
  if (!split) {
    const f = source.files!;
    return `given files: train ${f.train}${f.validation ? `, validation ${f.validation}` : ' (validation: the train file\'s last 10%)'}${f.test ? `, test ${f.test}` : ', no test file'}`;
  }
  const [a, b, c] = split.fractions;
  const how = split.kind === 'random' ? `rows shuffled with seed ${split.seed}` : split.kind === 'time' ? `rows ordered by ${source.time}` : `each user's rows ordered by ${source.time}`;
  return `${split.kind} split of ${source.file}: ${how}, ${Math.round(a * 100)}% train / ${Math.round(b * 100)}% validation / ${Math.round(c * 100)}% test${source.split ? '' : ' (the default; set "split" to change it)'}`;
}
