import { tf } from '../../infra/tf.js';
import type { Tensor } from '../layers/params.js';
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
