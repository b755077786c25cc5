import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadJsonFile } from '../../infra/config.js';
import { EventPositivesSchema } from '../../features/interactions/event-positives.js';
import { GraphModelConfigSchema, GraphTrainingSchema, type GraphModelType } from '../../models/graph/graph-config.js';

/**
 * Where a CF model's interactions come from. Paths are relative to the
 * config file; windows are epoch ms, [from, to).
 */
export const CfSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('movielens'), dir: z.string().optional(), minRating: z.number().default(4) }).strict(),
  z.object({ kind: z.literal('jsonl'), file: z.string(), positives: EventPositivesSchema.default({}) }).strict(),
  z.object({ kind: z.literal('interactions'), file: z.string(), minWeight: z.number().finite().default(1) }).strict(),
  z.object({
    kind: z.literal('clickhouse'),
    from: z.number().int().nonnegative().optional(),
    to: z.number().int().nonnegative().optional(),
    positives: EventPositivesSchema.default({}),
  }).strict(),
]).superRefine((s, ctx) => {
  if (s.kind === 'clickhouse' && s.from !== undefined && s.to !== undefined && s.from >= s.to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'the window is empty: from must be before to' });
});

export type CfSource = z.infer<typeof CfSourceSchema>;

/**
 * A collaborative-filtering training config (`configs/models/ml100k-<model>.json`):
 * which data, which graph model, how to train. Paths are relative to the file.
 */
export const CfConfigSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - or _'),
  /** Free text: where the settings come from (paper, validation search). */
  description: z.string().optional(),
  source: CfSourceSchema.default({ kind: 'movielens' }),
  model: GraphModelConfigSchema,
  training: GraphTrainingSchema.default({}),
});

export type CfConfig = z.infer<typeof CfConfigSchema>;

export const CONFIG_DIR = fileURLToPath(new URL('../../configs/models/', import.meta.url));

/** The shipped config of a model type, or a variant of it (e.g. `paper`): configs/models/ml100k-<type>[-<variant>].json. */
export function cfConfigFile(type: GraphModelType, variant?: string): string {
  return path.join(CONFIG_DIR, `ml100k-${type}${variant ? `-${variant}` : ''}.json`);
}

export function loadCfConfig(file: string): CfConfig {
  const config = loadJsonFile(CfConfigSchema, file, 'CF training config');
  const resolve = (p: string) => path.resolve(path.dirname(path.resolve(file)), p);
  const source = config.source;
  if (source.kind === 'movielens' && source.dir) return { ...config, source: { ...source, dir: resolve(source.dir) } };
  if (source.kind === 'jsonl' || source.kind === 'interactions') return { ...config, source: { ...source, file: resolve(source.file) } };
  return config;
}
