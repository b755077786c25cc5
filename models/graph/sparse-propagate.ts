import { tf } from '../../infra/tf.js';
import { runNativeOp } from '../../features/embedding/index.js';
import type { Tensor } from '../layers/params.js';
import { groupEdgesByNode, type BipartiteGraph } from './bipartite-graph.js';
import type { Tensor1D } from './edge-messages.js';

/** Constant tensors describing a weighted sparse matrix in COO form over `numNodes` rows. */
export interface SparseAdjacency {
  src: Tensor1D;
  dst: Tensor1D;
  /** [E, 1] edge weights. */
  weights: Tensor;
  numNodes: number;
}

export function sparseAdjacency(src: Int32Array, dst: Int32Array, weights: Float32Array, numNodes: number): SparseAdjacency {
  return {
    src: tf.tensor1d(src, 'int32'),
    dst: tf.tensor1d(dst, 'int32'),
    weights: tf.tensor2d(weights, [weights.length, 1]),
    numNodes,
  };
}

export function disposeAdjacency(a: SparseAdjacency): void {
  tf.dispose([a.src, a.dst, a.weights]);
}

/** out[dst] += w·x[src]: gather + unsortedSegmentSum, never a dense N×N matrix. */
function spmm(x: Tensor, from: Tensor1D, to: Tensor1D, weights: Tensor, numNodes: number): Tensor {
  return tf.tidy(() => tf.unsortedSegmentSum(tf.gather(x, from).mul(weights), to, numNodes));
}

/**
 * A·X for a symmetric A (edge list holding both directions with equal
 * weights). The gradient is Aᵀ·G = A·G with the roles of src and dst swapped,
 * written as a custom gradient so the tape keeps no [E, D] message tensor per
 * layer: memory stays O(N·D) per layer, which is what lets LightGCN run on a
 * graph of a million interactions.
 */
export function propagateSymmetric(x: Tensor, a: SparseAdjacency): Tensor {
  const op = tf.customGrad((input) => {
    const inputTensor = input as Tensor;
    return {
      value: spmm(inputTensor, a.src, a.dst, a.weights, a.numNodes),
      gradFunc: (dy: Tensor) => spmm(dy, a.dst, a.src, a.weights, a.numNodes),
    };
  });
  return op(x) as Tensor;
}

/**
 * LightGCN's D^{-1/2}·Adj·D^{-1/2} in CSR form: per node (row) its neighbours,
 * rows in order, plus the D^{-1/2} scale. Built for `propagateNormalized`.
 */
export interface NormalizedAdjacency {
  /** [2M] int32: the neighbours of row 0, then of row 1, … */
  neighbours: Tensor1D;
  /** [2M] int32, sorted: the row of each entry of `neighbours`. */
  rows: Tensor1D;
  /** int32 scalar: the number of rows (nodes). */
  numRows: Tensor;
  /** [N, 1] 1/√deg (0 for an isolated node). */
  scale: Tensor;
  numNodes: number;
}

export function normalizedAdjacency(graph: BipartiteGraph): NormalizedAdjacency {
  const { numNodes, src, dst, degree } = graph;
  const { edgeOf } = groupEdgesByNode(dst, numNodes);
  const neighbours = Int32Array.from(edgeOf, (e) => src[e]!);
  const rows = Int32Array.from(edgeOf, (e) => dst[e]!);
  return {
    neighbours: tf.tensor1d(neighbours, 'int32'),
    rows: tf.tensor1d(rows, 'int32'),
    numRows: tf.scalar(numNodes, 'int32'),
    scale: tf.tensor2d(Float32Array.from(degree, (d) => (d > 0 ? 1 / Math.sqrt(d) : 0)), [numNodes, 1]),
    numNodes,
  };
}

export function disposeNormalizedAdjacency(a: NormalizedAdjacency): void {
  tf.dispose([a.neighbours, a.rows, a.numRows, a.scale]);
}

/** Adj·X as one fused TensorFlow kernel (SparseSegmentSum): gathers and sums neighbour rows without an [E, D] intermediate. */
function neighbourSum(x: Tensor, a: NormalizedAdjacency): Tensor {
  return runNativeOp('SparseSegmentSumWithNumSegments',
    (t) => [t.type('T', 'float32'), t.type('Tidx', 'int32'), t.type('Tnumsegments', 'int32'), t.type('Tsegmentids', 'int32')],
    [x, a.neighbours, a.rows, a.numRows])
    ?? tf.unsortedSegmentSum(tf.gather(x, a.neighbours), a.rows, a.numNodes);
}

/**
 * D^{-1/2}·Adj·D^{-1/2}·X, the same product as `propagateSymmetric` with
 * `symmetricNormWeights`, as scale, fused neighbour sum, scale. The
 * gather + unsortedSegmentSum form writes and reads an [E, D] tensor per
 * layer (512 MB at 2M directed edges × 64) and tfjs-node's gather reads every
 * index back into JS to check it; the fused kernel measured ~5× faster on the
 * 1M-interaction graph. The matrix is symmetric, so the gradient is the same
 * product applied to the incoming gradient.
 */
export function propagateNormalized(x: Tensor, a: NormalizedAdjacency): Tensor {
  const product = (v: Tensor): Tensor => tf.tidy(() => neighbourSum(v.mul(a.scale), a).mul(a.scale));
  const op = tf.customGrad((input) => ({ value: product(input as Tensor), gradFunc: (dy: Tensor) => product(dy) }));
  return op(x) as Tensor;
}
