import path from 'node:path';
import { syntheticCtrSplits } from '../../features/datasets/ctr-sources.js';
import type { CtrSplits } from '../../features/datasets/movielens-ctr.js';
import { createRng } from '../../features/math/rng.js';
import { loadFeatureSpec } from '../../features/spec/feature-spec.js';
import { createCtrModel } from '../../models/create-model.js';
import type { CtrModelConfig } from '../../models/ctr/ctr-config.js';
import type { CtrModel } from '../../models/ctr/ctr-model.js';
import { saveCtrModel } from '../../models/ctr-artifact/model-artifact.js';
import { GraphModelConfigSchema } from '../../models/graph/graph-config.js';
import { saveGraphEmbeddings } from '../../models/graph/graph-artifact.js';
import { trainCtr } from '../../models/train/train-ctr.js';

/**
 * Small artifacts for serving tests: a DIN trained for one epoch on a tiny
 * synthetic stream (items i0..i{items-1}, users u0..), and graph embeddings
 * over the same ids (numeric, served with prefixes i/u).
 */
export const TINY = { events: 2500, users: 80, items: 150, seed: 5 } as const;

let splits: CtrSplits | undefined;
export function tinySplits(): CtrSplits {
  splits ??= syntheticCtrSplits(loadFeatureSpec(path.resolve('configs/features/synthetic.json')), TINY);
  return splits;
}

export function trainTinyCtr(config: Partial<CtrModelConfig> = {}): CtrModel {
  const s = tinySplits();
  const model = createCtrModel(s.encoder, { type: 'din', seed: 1, mlpUnits: [16, 8], attentionUnits: [8], embedding: { kind: 'per-field', dim: 8 }, ...config });
  trainCtr(model, s.encoder.encode(s.train), s.encoder.encode(s.validation), { epochs: 1, batchSize: 256, seed: 1 });
  return model;
}

/** Trains and publishes a tiny DIN; returns the version folder. */
export async function publishTinyDin(registry: string, name = 'syn-din', config: Partial<CtrModelConfig> = {}): Promise<string> {
  const model = trainTinyCtr(config);
  try {
    const { dir } = await saveCtrModel(model, { registry, name, metrics: { auc: 0.6 } });
    return dir;
  } finally {
    model.dispose();
  }
}

/** Random (seeded) user and item embeddings over u0.., i0.., published as a graph artifact. */
export async function publishRandomGraph(registry: string, name = 'syn-graph', { users = TINY.users as number, items = TINY.items as number, dim = 8, seed = 1 } = {}): Promise<string> {
  const rng = createRng(seed);
  const gaussian = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const { dir } = await saveGraphEmbeddings({
    registry, name,
    config: GraphModelConfigSchema.parse({ type: 'mf-bpr', dim }),
    embeddings: { dim, users: gaussian(users * dim), items: gaussian(items * dim) },
    userIds: Array.from({ length: users }, (_, i) => String(i)),
    itemIds: Array.from({ length: items }, (_, i) => String(i)),
  });
  return dir;
}
