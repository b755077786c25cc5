import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadJsonFile } from '../../infra/config.js';
import { GraphModelConfigSchema, GraphTrainingSchema, type GraphModelType } from '../../models/graph/graph-config.js';

/**
 * A collaborative-filtering training config (`configs/models/ml100k-<model>.json`):
 * which data, which graph model, how to train. Paths are relative to the file.
 */
export const CfConfigSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - or _'),
  /** Free text: where the settings come from (paper, validation search). */
  description: z.string().optional(),
  source: z.object({ kind: z.literal('movielens'), dir: z.string().optional() }).default({ kind: 'movielens' }),
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
  const dir = config.source.dir;
  return dir ? { ...config, source: { ...config.source, dir: path.resolve(path.dirname(path.resolve(file)), dir) } } : config;
}
