import os from 'node:os';
import { tf } from '../../infra/tf.js';
import type { Tensor } from '../layers/params.js';
import type { EdgeCsr, WeightedSpmmKernels } from './native-spmm.js';

/**
 * The d = 1 sheaf Laplacian L·y of sheaf-layer.ts as one op in native code
 * (native/weighted-spmm.c): with F the per-edge maps, D_u = Σ_{e: u→v} F_e²,
 * S = (I + D)^{-1/2}, a_e = F_e·F_rev(e) and z = S·y,
 *   L·y = S(D·z − A z),  (A z)_u = Σ_{e: u→v} a_e z_v,
 * and its gradient written out (G = ∂(L·y), h = S·G, q = A h; A is
 * symmetric, a_e = a_rev(e)):
 *   ∂y   = S²D·G − S·q
 *   ∂a_e = −h_u·z_v
 *   ∂S_u = 2 S_u D_u G_u·y_u − G_u·(A z)_u − q_u·y_u
 *   ∂D_u = S_u² G_u·y_u − ½ S_u³ ∂S_u
 *   ∂F_e = 2 F_e ∂D_u + F_rev(e) (∂a_e + ∂a_rev(e))
 * The edge-sized work is one weighted neighbour sum forward and one pass
 * computing q and the per-edge dots backward, LightGCN's propagation twice
 * over. As TensorFlow ops the same layer was ~40 kernels each way over
 * [N, f] tensors (a fresh 23 MB allocation each on the 1M-interaction
 * graph), three [E, f] tensors and a gather-based segment-sum gradient.
 */
export function scalarSheafLaplacian(maps: Tensor, y: Tensor, csr: EdgeCsr, kernels: WeightedSpmmKernels): Tensor {
  const [n, f] = y.shape as [number, number];
  const entries = csr.col.length;
  if (n !== csr.numNodes || maps.size !== entries) throw new Error(`scalarSheafLaplacian: y [${y.shape}] and maps [${maps.shape}] do not fit ${csr.numNodes} nodes × ${entries} edges`);
  const threads = os.availableParallelism();
  const nd = n * f;
  const op = tf.customGrad((mapsIn, yIn) => {
    const yHost = (yIn as Tensor).dataSync() as Float32Array;
    // The kernels read the maps in the CSR's entry order; the tensors hold them by edge id.
    const byEdge = (mapsIn as Tensor).dataSync() as Float32Array;
    const mapsCsr = Float32Array.from(csr.edge, (e) => byEdge[e]!);
    const forward = [new Float32Array(nd), new Float32Array(nd), new Float32Array(nd), new Float32Array(entries), new Float32Array(n), new Float32Array(n)] as const;
    kernels.sheafForward(csr.rowStart, csr.col, csr.reverseEntry, mapsCsr, yHost, f, threads, [...forward]);
    const [out, z, az, a, diag, scale] = forward;
    return {
      value: tf.tensor2d(out, [n, f]),
      gradFunc: (dy: Tensor) => {
        const dY = new Float32Array(nd), dMapsCsr = new Float32Array(entries);
        kernels.sheafBackward(csr.rowStart, csr.col, csr.reverseEntry, [z, az, a, mapsCsr, diag, scale], dy.dataSync() as Float32Array, f, threads,
          [dY, dMapsCsr], [new Float32Array(nd), new Float32Array(entries), new Float32Array(n)]);
        const dMaps = new Float32Array(entries);
        const edge = csr.edge;
        for (let k = 0; k < entries; k++) dMaps[edge[k]!] = dMapsCsr[k]!;
        return [tf.tensor(dMaps, maps.shape), tf.tensor2d(dY, [n, f])];
      },
    };
  });
  return op(maps, y) as Tensor;
}
