import path from 'node:path';
import { z } from 'zod';
import { loadJsonFile } from '../../infra/config.js';
import { CtrModelConfigSchema } from '../../models/ctr/ctr-config.js';
import { OptEmbedConfigSchema } from '../../models/optembed/optembed-config.js';

/**
 * A training config file: where the data comes from, which feature spec, which
 * model, how to train, where to publish. Paths are relative to the config file.
 */
export const SourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('movielens'), dir: z.string().optional() }),
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
]);

export const TrainConfigSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - or _'),
  source: SourceSchema,
  features: z.string(),
  model: CtrModelConfigSchema,
  training: z.object({
    epochs: z.number().int().positive().default(10),
    batchSize: z.number().int().positive().default(256),
    patience: z.number().int().positive().default(2),
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
    source: config.source.kind === 'jsonl' ? { ...config.source, file: resolve(config.source.file) }
      : config.source.kind === 'movielens' && config.source.dir ? { ...config.source, dir: resolve(config.source.dir) } : config.source,
  };
}
