import {
  hashedLayout, perFieldLayout, unifiedLayout, rowsForBudget, type EmbeddingLayout,
} from '../../features/embedding/index.js';
import type { FeatureEncoder } from '../../features/spec/feature-encoder.js';
import type { LayoutConfig } from './ctr-config.js';
import { layoutFields, type EmbeddingPlan } from './embedding-inputs.js';

/** A model's embedding tables from its config: per-field, hashed or Unified Embedding, all trained with sparse Adam. */
export function createLayout(config: LayoutConfig, encoder: FeatureEncoder, plans: readonly EmbeddingPlan[], seed: number, learningRate: number): EmbeddingLayout {
  const dynamic = config.kind === 'unified' ? config.dynamic : undefined;
  const fields = layoutFields(encoder, plans, dynamic !== undefined);
  const optimizer = { kind: 'adam' as const, learningRate };
  switch (config.kind) {
    case 'per-field': return perFieldLayout(fields, { dim: config.dim, dims: config.dims, optimizer, seed, ...(config.init ? { init: config.init } : {}) });
    // `rows` is the total budget, split over fields in proportion to their vocabularies.
    case 'hashed': return hashedLayout(fields, { rows: rowsForBudget(fields, config.rows), dim: config.dim, optimizer, seed });
    case 'unified': return unifiedLayout(fields, {
      rows: config.rows, chunkDim: config.chunkDim, chunks: config.chunks, defaultChunks: config.defaultChunks, optimizer, seed,
      ...(dynamic ? { ids: { kind: 'dynamic' as const, expiryUnit: 'steps' as const, ...dynamic } } : {}),
    });
  }
}
