import path from 'node:path';
import { z } from 'zod';
import { loadJsonFile } from '../../infra/config.js';
import { CtrModelConfigSchema } from '../../models/ctr/ctr-config.js';
import { OptEmbedConfigSchema } from '../../models/optembed/optembed-config.js';
import { TableSourceObject, tableSourceProblems } from '../../features/table/table-source.js';

/**
 * A training config file: where the data comes from, which feature spec, which
 * model, how to train, where to publish. Paths are relative to the config file.
 */
export const SourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('movielens'), dir: z.string().optional() }),
  /** The user's own file(s): CSV/TSV, JSON lines, libFM (features/table/). */
  TableSourceObject,
  z.object({ kind: z.literal('jsonl'), file: z.string() }),
  z.object({
    kind: z.literal('synthetic'),
    events: z.number().int().positive().default(200_000),
    users: z.number().int().positive().default(2000),
    items: z.number().int().positive().default(5000),
    seed: z.number().int().default(42),
    abruptDriftAt: z.number().gt(0).lt(1).optional(),
  }),
  z.object({
    kind: z.literal('clickhouse'),
    /** Event-time range of the examples, epoch ms: [from, to). */
    from: z.number().int().nonnegative().optional(),
    to: z.number().int().nonnegative().optional(),
    /** Earlier events that only fill histories. */
    historyFrom: z.number().int().nonnegative().optional(),
  }),
]).superRefine((source, ctx) => {
  if (source.kind === 'table') for (const message of tableSourceProblems(source)) ctx.addIssue({ code: 'custom', message });
});

export const TrainConfigSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - or _'),
  source: SourceSchema,
  features: z.string(),
  model: CtrModelConfigSchema,
  training: z.object({
    epochs: z.number().int().positive().default(10),
    batchSize: z.number().int().positive().default(256),
    patience: z.number().int().positive().default(2),
    /** After early stopping picks the epoch count, retrain on train ∪ validation for that many epochs and publish that model. */
    retrain: z.boolean().default(true),
  }).default({}),
  /** Settings of `recsys optembed` (pruning this model); defaults when absent. */
  optembed: OptEmbedConfigSchema.default({}),
});

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type SourceConfig = z.infer<typeof SourceSchema>;

export function loadTrainConfig(file: string): TrainConfig {
  const config = loadJsonFile(TrainConfigSchema, file, 'training config');
  const base = path.dirname(path.resolve(file));
  const resolve = (p: string) => path.resolve(base, p);
  return {
    ...config,
    features: resolve(config.features),
    source: resolveSourcePaths(config.source, base),
  };
}

/** A source's file paths made absolute against `base` (a config's folder): the training record then names files that still resolve. */
export function resolveSourcePaths(source: SourceConfig, base: string): SourceConfig {
  const resolve = (p: string) => path.resolve(base, p);
  switch (source.kind) {
    case 'jsonl': return { ...source, file: resolve(source.file) };
    case 'movielens': return source.dir ? { ...source, dir: resolve(source.dir) } : source;
    case 'table': {
      const { file, files, ...rest } = source;
      return {
        ...rest,
        ...(file !== undefined ? { file: resolve(file) } : {}),
        ...(files ? { files: { train: resolve(files.train), ...(files.validation ? { validation: resolve(files.validation) } : {}), ...(files.test ? { test: resolve(files.test) } : {}) } } : {}),
      };
    }
    default: return source;
  }
}
