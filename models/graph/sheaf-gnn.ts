import { tf } from '../../infra/tf.js';
import { createRng } from '../../features/math/rng.js';
import type { Tensor, Variable } from '../layers/params.js';
import type { BipartiteGraph } from './bipartite-graph.js';
import type { GraphModelConfig } from './graph-config.js';
import { normalVariable, uniformVariable, type GraphModel } from './graph-model.js';
import { HostBackedVariable, registerHostTable } from './host-table.js';
import { sheafLayer, type SheafLayerWeights, type SheafStructure } from './sheaf-layer.js';
import type { Tensor1D } from './edge-messages.js';
import { registerScalarSheaf, releaseSheafWorkspace, scalarSheafRepresentations, type ScalarSheafParts } from './sheaf-step.js';
import { edgeCsr, weightedSpmmKernels } from './native-spmm.js';

/**
 * Sheaf4Rec (Purificato et al.): layer-0 embeddings diffused through
 * `layers` sheaf layers, each with its own restriction-map learner and
 * channel kernel; the representation is the mean of layers 0..L, as in the
 * official code. `sheaf-scalar` has one scalar map per edge end (d = 1, 64
 * channels); `sheaf-matrix` has d×d maps on stalks of dimension d with dim/d
 * channels.
 */
export function createSheafGnn(config: GraphModelConfig, graph: BipartiteGraph): GraphModel {
  const d = config.type === 'sheaf-matrix' ? config.stalkDim : 1;
  const f = config.dim / d;
  const rng = createRng(config.seed);
  // Read through a host copy when the off-tape step (sheaf-step.ts) trains it, like LightGCN's.
  const table = new HostBackedVariable(normalVariable(rng.fork(1), graph.numNodes, config.dim, config.initStd));
  const weights: SheafLayerWeights[] = [];
  const layerVariables: Variable[] = [];
  for (let k = 0; k < config.layers; k++) {
    const r = rng.fork(100 + k);
    const w = {
      // The learner sees [x_u ‖ x_v] (2·dim inputs), split into its two halves.
      learnSrc: uniformVariable(r, [config.dim, d * d], 2 * config.dim),
      learnDst: uniformVariable(r, [config.dim, d * d], 2 * config.dim),
      kernel: config.kernelInit === 'identity' ? tf.variable(tf.eye(f)) : uniformVariable(r, [f, f], f),
      bias: config.kernelInit === 'identity' ? tf.variable(tf.zeros([f])) : uniformVariable(r, [f], f),
      // b·I flattened: every map starts near tanh(b) times the identity.
      ...(config.mapBias > 0 ? { learnBias: tf.variable(tf.eye(d).reshape([d * d]).mul(config.mapBias)) } : {}),
    };
    weights.push(w);
    layerVariables.push(w.learnSrc, w.learnDst, w.kernel, w.bias, ...(w.learnBias ? [w.learnBias] : []));
  }
  const kernels = d === 1 ? weightedSpmmKernels() : null;
  const m = graph.numEdges;
  // TensorFlow's copy of the edge list (2 × 80 MB on 10M interactions), made when the taped path first reads it; kept,
  // as the first read may come inside a caller's tidy.
  let edges: { src: Tensor1D; dst: Tensor1D } | undefined;
  const edgeTensors = () => (edges ??= { src: tf.keep(tf.tensor1d(graph.src, 'int32')), dst: tf.keep(tf.tensor1d(graph.dst, 'int32')) });
  const structure: SheafStructure = {
    get src() { return edgeTensors().src; },
    get dst() { return edgeTensors().dst; },
    numNodes: graph.numNodes,
    numEdges: m,
    stalkDim: d,
    ...(kernels ? { native: { csr: edgeCsr(graph.src, graph.dst, graph.numNodes, (e) => (e < m ? e + m : e - m)), kernels } } : {}),
  };
  const parts: ScalarSheafParts | undefined = structure.native && { weights, csr: structure.native.csr, stepSize: config.stepSize };
  const model: GraphModel = {
    config, numUsers: graph.numUsers, numItems: graph.numItems,
    get embedding() { return table.current(); },
    get variables() { return [table.current(), ...layerVariables]; },
    forward: () => tf.tidy(() => {
      const embedding = table.current();
      const layers: Tensor[] = [embedding];
      let x: Tensor = embedding;
      for (const w of weights) layers.push((x = sheafLayer(x, w, structure, config.stepSize)));
      return layers.length === 1 ? x.clone() : tf.addN(layers).div(layers.length);
    }),
    ...(parts ? { exportHost: (_basis?: boolean, scratch?: boolean) => ({ representations: scalarSheafRepresentations(parts, table.table().values, scratch) }) } : {}),
    dispose: () => {
      table.dispose();
      if (parts) releaseSheafWorkspace(parts);
      tf.dispose([...layerVariables, ...(edges ? [edges.src, edges.dst] : [])]);
      edges = undefined;
    },
  };
  registerHostTable(model, table);
  if (parts) registerScalarSheaf(model, parts);
  return model;
}
