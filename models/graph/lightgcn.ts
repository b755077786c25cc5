import os from 'node:os';
import { tf } from '../../infra/tf.js';
import { createRng } from '../../features/math/rng.js';
import type { Tensor } from '../layers/params.js';
import { groupEdgesByNode, type BipartiteGraph } from './bipartite-graph.js';
import type { GraphModelConfig } from './graph-config.js';
import { normalVariable, type GraphModel } from './graph-model.js';
import type { PropagationBasis } from './fold-in.js';
import { HostBackedVariable, registerHostTable } from './host-table.js';
import { weightedSpmmKernels } from './native-spmm.js';
import { disposeNormalizedAdjacency, normalizedAdjacency, propagateNormalized, type NormalizedAdjacency } from './sparse-propagate.js';

/** D^{-1/2}·Adj·D^{-1/2} as CSR rows with their weights, for the native step (lightgcn-step.ts). */
export interface WeightedCsr {
  rowStart: Int32Array;
  col: Int32Array;
  weight: Float32Array;
}

interface NativeParts { csr(): WeightedCsr; scratch(): [Float32Array, Float32Array] }
const natives = new WeakMap<GraphModel, NativeParts>();

/** The model's normalised adjacency as weighted CSR, built on first use; undefined for a model that is not LightGCN. */
export function lightGcnCsr(model: GraphModel): WeightedCsr | undefined {
  return natives.get(model)?.csr();
}

/** Two [N, D] arrays the native step and the host export propagate into, allocated once per model. */
export function lightGcnScratch(model: GraphModel): [Float32Array, Float32Array] | undefined {
  return natives.get(model)?.scratch();
}

/**
 * LightGCN (He et al., SIGIR 2020): e⁽ᵏ⁺¹⁾ = D^{-1/2} A D^{-1/2} e⁽ᵏ⁾ with no
 * weights or non-linearity; the representation is the mean of layers 0..K.
 * The layer-0 table may be trained off the tape (lightgcn-step.ts): it is
 * read through a host copy like MF-BPR's.
 */
export function createLightGcn(config: GraphModelConfig, graph: BipartiteGraph): GraphModel {
  const table = new HostBackedVariable(normalVariable(createRng(config.seed).fork(1), graph.numNodes, config.dim, config.initStd));
  // TensorFlow's copy of the graph, made when the tape path or forward() first needs it (the native step never does).
  let adjacency: NormalizedAdjacency | undefined;
  let csr: WeightedCsr | undefined;
  let scratch: [Float32Array, Float32Array] | undefined;
  const size = graph.numNodes * config.dim;
  const model: GraphModel = {
    config, numUsers: graph.numUsers, numItems: graph.numItems,
    get embedding() { return table.current(); },
    get variables() { return [table.current()]; },
    forward: () => tf.tidy(() => {
      const layers = propagateLayers(table.current(), config.layers);
      return layers.length === 1 ? layers[0]!.clone() : tf.addN(layers).div(layers.length);
    }),
    foldInBasis: () => {
      // Layers 0..K−1 of the users: what a new item's layers 1..K are computed from.
      const tensors = config.layers === 0 ? [] : tf.tidy(() => propagateLayers(table.current(), config.layers - 1).map((x) => x.slice([0, 0], [graph.numUsers, config.dim])));
      const userLayers = tensors.map((x) => x.dataSync() as Float32Array);
      tf.dispose(tensors);
      return { dim: config.dim, userLayers, userDegrees: graph.degree.slice(0, graph.numUsers) };
    },
    ...(weightedSpmmKernels() ? { exportHost } : {}),
    dispose: () => {
      table.dispose();
      if (adjacency) disposeNormalizedAdjacency(adjacency);
      adjacency = undefined;
      csr = undefined;
      scratch = undefined;
    },
  };
  registerHostTable(model, table, { tableOnly: true });
  natives.set(model, { csr: () => (csr ??= weightedCsr(graph)), scratch: () => (scratch ??= [new Float32Array(size), new Float32Array(size)]) });
  return model;

  /** forward() and foldInBasis() (unless `withBasis` is false) with the native CSR product, into the step's scratch: one fresh [N, D] array (the result). */
  function exportHost(withBasis = true): { representations: Float32Array; basis?: PropagationBasis } {
    const kernels = weightedSpmmKernels()!;
    const { rowStart, col, weight } = (csr ??= weightedCsr(graph));
    const x0 = table.table().values;
    const acc = x0.slice();
    const buffers = config.layers > 0 ? natives.get(model)!.scratch() : [];
    const userLayers: Float32Array[] = [];
    let from = x0;
    for (let k = 0; k < config.layers; k++) {
      if (withBasis) userLayers.push(from.slice(0, graph.numUsers * config.dim));
      const to = buffers[k % 2]!;
      kernels.propagate(rowStart, col, weight, from, to, acc, config.dim, os.availableParallelism());
      from = to;
    }
    const scale = 1 / (config.layers + 1);
    for (let i = 0; i < acc.length; i++) acc[i]! *= scale;
    return { representations: acc, ...(withBasis ? { basis: { dim: config.dim, userLayers, userDegrees: graph.degree.slice(0, graph.numUsers) } } : {}) };
  }

  function propagateLayers(x0: Tensor, count: number): Tensor[] {
    const layers: Tensor[] = [x0];
    let x = x0;
    // Kept: the first call may come inside a caller's tidy, which would free the graph with its scope.
    adjacency ??= keepAdjacency(normalizedAdjacency(graph));
    for (let k = 0; k < count; k++) layers.push((x = propagateNormalized(x, adjacency)));
    return layers;
  }
}

function keepAdjacency(a: NormalizedAdjacency): NormalizedAdjacency {
  for (const t of [a.neighbours, a.rows, a.numRows, a.scale]) tf.keep(t);
  return a;
}

/** Rows by target node, columns the sources, weight 1/√(deg(row)·deg(col)): the matrix is symmetric, so this is also its transpose. */
function weightedCsr(graph: BipartiteGraph): WeightedCsr {
  const { numNodes, src, dst, degree } = graph;
  const { rowStart, edgeOf } = groupEdgesByNode(dst, numNodes);
  const col = Int32Array.from(edgeOf, (e) => src[e]!);
  const weight = Float32Array.from(edgeOf, (e) => 1 / Math.sqrt(degree[src[e]!]! * degree[dst[e]!]!));
  return { rowStart, col, weight };
}
