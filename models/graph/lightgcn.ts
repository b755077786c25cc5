import { tf } from '../../infra/tf.js';
import { createRng } from '../../features/math/rng.js';
import type { Tensor } from '../layers/params.js';
import type { BipartiteGraph } from './bipartite-graph.js';
import type { GraphModelConfig } from './graph-config.js';
import { normalVariable, type GraphModel } from './graph-model.js';
import { disposeNormalizedAdjacency, normalizedAdjacency, propagateNormalized } from './sparse-propagate.js';

/**
 * LightGCN (He et al., SIGIR 2020): e⁽ᵏ⁺¹⁾ = D^{-1/2} A D^{-1/2} e⁽ᵏ⁾ with no
 * weights or non-linearity; the representation is the mean of layers 0..K.
 */
export function createLightGcn(config: GraphModelConfig, graph: BipartiteGraph): GraphModel {
  const embedding = normalVariable(createRng(config.seed).fork(1), graph.numNodes, config.dim, config.initStd);
  const adjacency = normalizedAdjacency(graph);
  return {
    config, numUsers: graph.numUsers, numItems: graph.numItems, embedding,
    variables: [embedding],
    forward: () => tf.tidy(() => {
      const layers: Tensor[] = [embedding];
      let x: Tensor = embedding;
      for (let k = 0; k < config.layers; k++) layers.push((x = propagateNormalized(x, adjacency)));
      return layers.length === 1 ? x.clone() : tf.addN(layers).div(layers.length);
    }),
    dispose: () => {
      embedding.dispose();
      disposeNormalizedAdjacency(adjacency);
    },
  };
}
