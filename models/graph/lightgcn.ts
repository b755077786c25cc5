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
      const layers = propagateLayers(embedding, config.layers);
      return layers.length === 1 ? embedding.clone() : tf.addN(layers).div(layers.length);
    }),
    foldInBasis: () => {
      // Layers 0..K−1 of the users: what a new item's layers 1..K are computed from.
      const tensors = config.layers === 0 ? [] : tf.tidy(() => propagateLayers(embedding, config.layers - 1).map((x) => x.slice([0, 0], [graph.numUsers, config.dim])));
      const userLayers = tensors.map((x) => x.dataSync() as Float32Array);
      tf.dispose(tensors);
      return { dim: config.dim, userLayers, userDegrees: graph.degree.slice(0, graph.numUsers) };
    },
    dispose: () => {
      embedding.dispose();
      disposeNormalizedAdjacency(adjacency);
    },
  };

  function propagateLayers(x0: Tensor, count: number): Tensor[] {
    const layers: Tensor[] = [x0];
    let x = x0;
    for (let k = 0; k < count; k++) layers.push((x = propagateNormalized(x, adjacency)));
    return layers;
  }
}
