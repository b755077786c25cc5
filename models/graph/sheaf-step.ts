import os from 'node:os';
import { tf } from '../../infra/tf.js';
import type { Variable } from '../layers/params.js';
import { mfBprGradient, type Scalar } from './bpr-loss.js';
import type { GraphModel } from './graph-model.js';
import { hostTable } from './host-table.js';
import { addLayer0L2, addRows, BatchRows, scatterRows } from './host-rows.js';
import { weightedSpmmKernels, type EdgeCsr, type WeightedSpmmKernels } from './native-spmm.js';
import type { SheafLayerWeights } from './sheaf-layer.js';

type Adam = ReturnType<typeof tf.train.adam>;

/** What the off-tape step reads of a scalar sheaf (d = 1) built with the native kernels (sheaf-gnn.ts). */
export interface ScalarSheafParts {
  weights: SheafLayerWeights[];
  csr: EdgeCsr;
  stepSize: number;
}

/** One layer's weights read off its variables: the map learner's two halves side by side ([D, 2]), and their transposes for the backward products. */
interface HostLayer {
  proj: Float32Array;
  projT: Float32Array;
  mapBias: number;
  kernel: Float32Array;
  kernelT: Float32Array;
  bias: Float32Array;
}

/** One layer's forward arrays, kept for its backward pass: its output x_{k+1} and the Laplacian's own (z = S·y is written over y = xW + b). */
interface LayerBuffers {
  next: Float32Array;
  z: Float32Array;
  az: Float32Array;
  /** Per CSR entry: the maps F and the weights a = F·F_rev. */
  maps: Float32Array;
  a: Float32Array;
  diag: Float32Array;
  scale: Float32Array;
}

/**
 * Every array a step writes, allocated on the model's first step and reused:
 * fresh pages cost about as much as the arithmetic on them. Each layer's
 * forward arrays are kept for its backward pass while they fit 2 GiB (3
 * layers on the 1M-interaction graph: 0.26 GB); beyond it (2M nodes: 5.1
 * GB) only the layers' outputs are kept and each
 * layer's forward is run again, into one set of arrays, just before its
 * backward pass: one forward more per step for about a third of the memory.
 */
interface Workspace {
  /** Layer k's arrays: its own when all are kept; when recomputing, one shared set with layer k's own output array. */
  layer(k: number): LayerBuffers;
  recompute: boolean;
  p: Float32Array;
  dp: Float32Array;
  grad: Float32Array;
  dy: Float32Array;
  dMaps: Float32Array;
  h: Float32Array;
  da: Float32Array;
  dDiag: Float32Array;
  ones: Float32Array;
  batch: BatchRows;
}

/** Above this, the layers' forward arrays are recomputed in the backward pass instead of kept. */
let keptLayersBytes = 2 ** 31;

/** Sets the budget for kept forward arrays (for tests, and runs that must fit less memory) and returns the previous one; applies to models not yet stepped. */
export function setSheafKeptLayersBytes(bytes: number): number {
  const previous = keptLayersBytes;
  keptLayersBytes = bytes;
  return previous;
}

const EMPTY = new Float32Array(0);
const workspaces = new WeakMap<ScalarSheafParts, Workspace>();

function workspace(parts: ScalarSheafParts, dim: number): Workspace {
  let ws = workspaces.get(parts);
  if (!ws) {
    const n = parts.csr.numNodes, nd = n * dim, entries = parts.csr.col.length, count = parts.weights.length;
    const f = (size: number) => new Float32Array(size);
    const buffers = (): LayerBuffers => ({ next: f(nd), z: f(nd), az: f(nd), maps: f(entries), a: f(entries), diag: f(n), scale: f(n) });
    const recompute = 4 * count * (3 * nd + 2 * entries + 2 * n) > keptLayersBytes;
    let layer: (k: number) => LayerBuffers;
    let h: Float32Array;
    if (recompute) {
      // The last layer's output is read only for the batch's rows, right after it is made: it needs no array of
      // its own, and its array is free for the backward pass's scratch.
      const shared = buffers();
      const outputs = Array.from({ length: count - 1 }, () => f(nd));
      layer = (k) => (k < count - 1 ? { ...shared, next: outputs[k]! } : shared);
      h = shared.next;
    } else {
      const kept = parts.weights.map(buffers);
      layer = (k) => kept[k]!;
      h = f(nd);
    }
    ws = { layer, recompute, p: f(2 * n), dp: f(2 * n), grad: f(nd), dy: f(nd), dMaps: f(entries), h, da: f(entries), dDiag: f(n), ones: f(n).fill(1), batch: new BatchRows() };
    workspaces.set(parts, ws);
  }
  return ws;
}

/**
 * The scalar sheaf's final representations (forward()'s rows) computed on the
 * host from the layer-0 table: what validation and the artifact read
 * (exportEmbeddings), without TensorFlow holding every layer at once.
 * `scratch`: into the step's gradient array, valid until the next step.
 */
export function scalarSheafRepresentations(parts: ScalarSheafParts, table: Float32Array, scratch = false): Float32Array {
  const kernels = weightedSpmmKernels()!;
  const dim = table.length / parts.csr.numNodes;
  const ws = workspace(parts, dim);
  // The step's gradient array is free between steps.
  const acc = scratch ? ws.grad : new Float32Array(table.length);
  acc.set(table);
  let x = table;
  parts.weights.forEach((w, k) => {
    x = layerForward(kernels, parts, ws, ws.layer(k), readLayer(w, dim), x, dim);
    for (let i = 0; i < acc.length; i++) acc[i]! += x[i]!;
  });
  const scale = 1 / (parts.weights.length + 1);
  for (let i = 0; i < acc.length; i++) acc[i]! *= scale;
  return acc;
}

/** x_{k+1} = x − α·L(x)·(xW + b) with F = tanh(x_u·w_s + x_v·w_d + b_F), into b (b.next is the result). */
function layerForward(kernels: WeightedSpmmKernels, parts: ScalarSheafParts, ws: Workspace, b: LayerBuffers, w: HostLayer, x: Float32Array, dim: number): Float32Array {
  const threads = os.availableParallelism();
  const { csr, stepSize } = parts;
  kernels.dense(x, w.proj, EMPTY, ws.p, dim, false, threads);
  kernels.sheafMaps(csr.rowStart, csr.col, csr.reverseEntry, ws.p, w.mapBias, b.maps, threads);
  kernels.dense(x, w.kernel, w.bias, b.z, dim, false, threads);
  kernels.sheafForward(csr.rowStart, csr.col, csr.reverseEntry, b.maps, b.z, dim, threads, [b.next, b.z, b.az, b.a, b.diag, b.scale], x, stepSize);
  return b.next;
}

function readLayer(w: SheafLayerWeights, dim: number): HostLayer {
  const fromSrc = w.learnSrc.dataSync() as Float32Array;
  const fromDst = w.learnDst.dataSync() as Float32Array;
  const proj = new Float32Array(2 * dim);
  for (let i = 0; i < dim; i++) {
    proj[2 * i] = fromSrc[i]!;
    proj[2 * i + 1] = fromDst[i]!;
  }
  const kernel = w.kernel.dataSync() as Float32Array;
  return {
    proj, projT: transpose(proj, dim, 2), mapBias: w.learnBias ? w.learnBias.dataSync()[0]! : 0,
    kernel, kernelT: transpose(kernel, dim, dim), bias: w.bias.dataSync() as Float32Array,
  };
}

/** [rows, cols] row-major → [cols, rows]. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c]!;
  return t;
}

const registry = new WeakMap<GraphModel, ScalarSheafParts>();

/** Declares `model` a scalar sheaf that `sheafStep` can train (sheaf-gnn.ts, when the native kernels compiled). */
export function registerScalarSheaf(model: GraphModel, parts: ScalarSheafParts): void {
  registry.set(model, parts);
}

/** Whether `sheafStep` can train this model: a scalar sheaf built with the native kernels. */
export function canStepSheafNatively(model: GraphModel): boolean {
  return registry.has(model);
}

/** Adam's moments per variable and its β powers, per optimizer (one training run). */
interface AdamState {
  moments: Map<Variable | 'table', { m: Float32Array; v: Float32Array }>;
  beta1Power: number;
  beta2Power: number;
}
const adamStates = new WeakMap<Adam, AdamState>();

/**
 * The scalar sheaf's BPR step off TensorFlow's tape, exact: the same loss,
 * gradients and Adam updates as the taped step (`trainStep` through
 * `batchLoss`), with every [N, D] and per-edge array on the host and the
 * edge-sized work in native code (native/weighted-spmm.c). Forward, per
 * layer: the map learner's projection p = x·[w_s w_d], F_e = tanh(p_u,s +
 * p_v,d + b_F), y = xW + b, the Laplacian (sheafForward), x − α·L·y. The
 * representation is the mean of layers 0..L and BPR reads only the batch's
 * rows of it. Backward, layer by layer from the last, with G = ∂x_{k+1}:
 *   [∂y, ∂F] = −α·sheafBackward(G),  ∂logit_e = ∂F_e·(1 − F_e²),
 *   ∂W += xᵀ∂y, ∂b += Σ∂y, ∂[w_s w_d] += xᵀ∂p (∂p_u,s = Σ_{e: u→·} ∂logit_e, ∂p_v,d = Σ_{e: ·→v}),
 *   G ← G + ∂y·Wᵀ + ∂p·[w_s w_d]ᵀ + the batch's rows of the mean's gradient,
 * then the layer-0 rows' L2 and dense Adam on the table (every row, as the
 * taped step) and Adam on each layer weight, with the layers' optimizer when
 * there is one. On the tape each layer was ~20 TensorFlow kernels each way
 * over [N, D] and [edges] tensors, kept alive for the backward pass.
 */
export function sheafStep(model: GraphModel, optimizers: { embedding: Adam; layers?: Adam }, ids: Int32Array, batch: number, decay: number): Scalar {
  const kernels = weightedSpmmKernels();
  const parts = registry.get(model);
  if (!kernels || !parts) throw new Error(`${model.config.type}: the native sheaf step needs a scalar sheaf built with the native kernels (canStepSheafNatively)`);
  const threads = os.availableParallelism();
  const { dim } = model.config;
  const { csr, stepSize, weights } = parts;
  const n = csr.numNodes;
  const host = hostTable(model);
  const table = host.values;
  const layers = weights.map((w) => readLayer(w, dim));
  const ws = workspace(parts, dim);
  const scale = 1 / (layers.length + 1);

  // Forward into the workspace; the batch's rows of the mean of layers.
  const { rows, grad: g, positions } = ws.batch.take(ids.length, dim, ws.dy);
  addRows(rows, table, ids, dim);
  const inputs: Float32Array[] = [];
  let x = table;
  layers.forEach((w, k) => {
    inputs.push(x);
    x = layerForward(kernels, parts, ws, ws.layer(k), w, x, dim);
    addRows(rows, x, ids, dim);
  });
  for (let i = 0; i < rows.length; i++) rows[i]! *= scale;
  const { loss: bpr } = mfBprGradient(rows, dim, positions, batch, 0, g);
  for (let i = 0; i < g.length; i++) g[i]! *= scale;

  // Backward.
  const { grad, dy, dMaps, dp } = ws;
  grad.fill(0);
  scatterRows(grad, g, ids, dim);
  const layerGrads = layers.map(() => ({ proj: new Float32Array(2 * dim), mapBias: 0, kernel: new Float32Array(dim * dim), bias: new Float32Array(dim) }));
  for (let k = layers.length - 1; k >= 0; k--) {
    const w = layers[k]!, b = ws.layer(k), xk = inputs[k]!, lg = layerGrads[k]!;
    // The shared arrays hold the last layer's forward; any other is made again.
    if (ws.recompute && k < layers.length - 1) layerForward(kernels, parts, ws, b, w, xk, dim);
    kernels.sheafBackward(csr.rowStart, csr.col, csr.reverseEntry, [b.z, b.az, b.a, b.maps, b.diag, b.scale], grad, dim, threads, [dy, dMaps], [ws.h, ws.da, ws.dDiag]);
    // Both are L·y's gradients; the layer's output is x − α·L·y, so its are −α times them: the factor goes on the small operands.
    kernels.sheafMapsBackward(csr.rowStart, csr.col, csr.reverseEntry, b.maps, dMaps, -stepSize, dp, threads);
    for (let u = 0; u < n; u++) lg.mapBias += dp[2 * u]!;
    kernels.denseWeightGrad(xk, dy, lg.kernel, dim, threads);
    kernels.denseWeightGrad(ws.ones, dy, lg.bias, 1, threads);
    for (const arr of [lg.kernel, lg.bias]) for (let i = 0; i < arr.length; i++) arr[i]! *= -stepSize;
    kernels.denseWeightGrad(xk, dp, lg.proj, dim, threads);
    kernels.dense(dy, w.kernelT.map((v) => -stepSize * v), EMPTY, grad, dim, true, threads);
    kernels.dense(dp, w.projT, EMPTY, grad, 2, true, threads);
    scatterRows(grad, g, ids, dim);
  }

  const l2 = addLayer0L2(table, grad, ids, dim, decay, batch);

  // Each optimizer's β powers advance once per step, however many variables it updates (one applyGradients call).
  const tableOpt = optimizers.embedding, layerOpt = optimizers.layers ?? optimizers.embedding;
  for (const opt of new Set([tableOpt, layerOpt])) {
    const st = adamState(opt);
    st.beta1Power *= hyper(opt).beta1;
    st.beta2Power *= hyper(opt).beta2;
  }
  adamUpdate(kernels, tableOpt, 'table', table, grad);
  weights.forEach((w, k) => {
    const lg = layerGrads[k]!, hl = layers[k]!;
    const split = (proj: Float32Array, half: number) => Float32Array.from({ length: dim }, (_, i) => proj[2 * i + half]!);
    const updates: [Variable, Float32Array, Float32Array][] = [
      [w.learnSrc as Variable, split(hl.proj, 0), split(lg.proj, 0)],
      [w.learnDst as Variable, split(hl.proj, 1), split(lg.proj, 1)],
      [w.kernel as Variable, hl.kernel.slice(), lg.kernel],
      [w.bias as Variable, hl.bias.slice(), lg.bias],
      ...(w.learnBias ? [[w.learnBias as Variable, Float32Array.of(hl.mapBias), Float32Array.of(lg.mapBias)] as [Variable, Float32Array, Float32Array]] : []),
    ];
    for (const [variable, values, g2] of updates) {
      adamUpdate(kernels, layerOpt, variable, values, g2);
      tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
    }
  });
  host.stale = true;
  return tf.scalar(bpr + l2) as Scalar;
}

/** Drops the optimizers' moments (the end of a training run: the table's are two [N, D] arrays). */
export function forgetSheafState(...optimizers: (Adam | undefined)[]): void {
  for (const optimizer of optimizers) if (optimizer) adamStates.delete(optimizer);
}

/** Frees the model's step workspace (its dispose: several [N, D] arrays). */
export function releaseSheafWorkspace(parts: ScalarSheafParts): void {
  workspaces.delete(parts);
}

function adamState(optimizer: Adam): AdamState {
  let st = adamStates.get(optimizer);
  if (!st) adamStates.set(optimizer, (st = { moments: new Map(), beta1Power: 1, beta2Power: 1 }));
  return st;
}

function hyper(optimizer: Adam): { learningRate: number; beta1: number; beta2: number; epsilon: number } {
  return optimizer as unknown as { learningRate: number; beta1: number; beta2: number; epsilon: number };
}

/** TF.js Adam's update of `values` in place, with the optimizer's β powers as they stand this step. */
function adamUpdate(kernels: WeightedSpmmKernels, optimizer: Adam, key: Variable | 'table', values: Float32Array, grad: Float32Array): void {
  const st = adamState(optimizer);
  const { learningRate, beta1, beta2, epsilon } = hyper(optimizer);
  let mv = st.moments.get(key);
  if (!mv) st.moments.set(key, (mv = { m: new Float32Array(values.length), v: new Float32Array(values.length) }));
  if (mv.m.length !== values.length) throw new Error(`this optimizer's sheaf state holds ${mv.m.length} values for a variable of ${values.length}: use one optimizer per model`);
  kernels.adam(values, grad, mv.m, mv.v, Float32Array.of(learningRate, beta1, beta2, epsilon, st.beta1Power, st.beta2Power), values.length > 1 << 16 ? os.availableParallelism() : 1);
}
