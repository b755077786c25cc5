import { createRng } from '../../features/math/rng.js';
import type { GraphModelConfig } from './graph-config.js';
import { normalVariable, type GraphModel } from './graph-model.js';

/** Matrix factorisation with BPR (Rendle et al., 2009): the layer-0 embeddings are the representations. */
export function createMfBpr(config: GraphModelConfig, numUsers: number, numItems: number): GraphModel {
  const embedding = normalVariable(createRng(config.seed).fork(1), numUsers + numItems, config.dim, config.initStd);
  return {
    config, numUsers, numItems, embedding,
    variables: [embedding],
    forward: () => embedding,
    dispose: () => embedding.dispose(),
  };
}
