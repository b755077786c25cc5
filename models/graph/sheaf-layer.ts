import { tf } from '../../infra/tf.js';
import type { Tensor } from '../layers/params.js';
import { edgeMessages, gatherEdges, type Tensor1D } from './edge-messages.js';
import type { EdgeCsr, WeightedSpmmKernels } from './native-spmm.js';
import { scalarSheafLaplacian } from './scalar-sheaf-laplacian.js';

/**
 * One sheaf diffusion layer (Sheaf4Rec; Hansen & Gebhart; Bodnar et al.'s
 * neural sheaf diffusion) as pure functions of tensors, so a finite-difference
 * check can reach every input.
 *
 * Node features x are [N, d·f]: a stalk of dimension d with f channels. Each
 * directed edge u → v carries the restriction map F_{u◁e} (d×d; a scalar when
 * d = 1) predicted from the two endpoints' features: tanh(W_s·[x_u ‖ x_v]).
 * The reverse edge carries F_{v◁e}. The sheaf Laplacian is δᵀδ with
 * (δx)_e = F_{u◁e} x_u − F_{v◁e} x_v, normalised as S L S with
 * S_u = (I + diag(Σ_e F_{u◁e}ᵀF_{u◁e}))^{-1/2}: for d = 1 exactly the official
 * Sheaf4Rec (D + I)^{-1/2}; for d > 1 the diagonal of each block stands in for
 * NSD's block inverse square root (TF.js has no differentiable eigen-solver)
 * and, being a congruence, keeps L symmetric positive semi-definite.
 * The layer is x ← x − α·L·(xW + b), W acting on channels.
 */
export interface SheafLayerWeights {
  /** [d·f, d²]: the learner's half applied to the edge's source features. */
  learnSrc: Tensor;
  /** [d·f, d²]: the half applied to the target's features. */
  learnDst: Tensor;
  /** [d²]: the learner's bias (absent in the official Sheaf4Rec code). */
  learnBias?: Tensor;
  /** [f, f] channel mixing. */
  kernel: Tensor;
  /** [f] */
  bias: Tensor;
}

export interface SheafStructure {
  /** Directed edges, [2M] int32; edge e + M is the reverse of edge e. */
  src: Tensor1D;
  dst: Tensor1D;
  numNodes: number;
  /** Undirected edges M. */
  numEdges: number;
  stalkDim: number;
  /**
   * d = 1 only: the edges as CSR rows and the native kernels, when they
   * compiled (native-spmm.ts): L·y is then one host op
   * (scalar-sheaf-laplacian.ts); without them TensorFlow ops compute the
   * same product, several times slower.
   */
  native?: { csr: EdgeCsr; kernels: WeightedSpmmKernels };
}

/** [2M, d, d] restriction maps (F_{src◁e} for each directed edge e); [2M, 1] when d = 1. */
export function restrictionMaps(x: Tensor, w: Pick<SheafLayerWeights, 'learnSrc' | 'learnDst' | 'learnBias'>, s: SheafStructure): Tensor {
  return tf.tidy(() => {
    // W_s·[x_u ‖ x_v] = x_u·W₁ + x_v·W₂: project the N nodes once (both halves in one product), then gather per edge.
    const d2 = s.stalkDim * s.stalkDim;
    const projected = dense(x, tf.concat([w.learnSrc, w.learnDst], 1));
    const fromSrc = gatherEdges(projected.slice([0, 0], [-1, d2]), s.src, s.numNodes);
    const fromDst = gatherEdges(projected.slice([0, d2], [-1, d2]), s.dst, s.numNodes);
    const logits = fromSrc.add(fromDst);
    const maps = tf.tanh(w.learnBias ? logits.add(w.learnBias) : logits);
    const d = s.stalkDim;
    return d === 1 ? maps : maps.reshape([-1, d, d]);
  });
}

/** The maps of each edge's reverse: F_{dst◁e} for every directed edge e. */
function reverseMaps(maps: Tensor, numEdges: number): Tensor {
  return tf.concat([maps.slice(numEdges), maps.slice(0, numEdges)], 0);
}

/**
 * L·y for y of shape [N, d, f] ([N, f] when d = 1), without building L as a
 * matrix. δᵀδ expands to a block-diagonal part D_u = Σ_{e: u→v} F_{u◁e}ᵀF_{u◁e}
 * and one off-diagonal block A_e = F_{u◁e}ᵀF_{v◁e} per directed edge, so
 * L·y = S(D·z − Σ_e A_e z_v) with z = S·y: a single gather and segment sum of
 * [E, d·f] rows per layer (the edge-sized work of one LightGCN layer); the
 * maps only meet the features through the small per-edge blocks.
 */
export function applySheafLaplacian(maps: Tensor, y: Tensor, s: SheafStructure): Tensor {
  if (s.stalkDim === 1 && s.native) return scalarSheafLaplacian(maps, y, s.native.csr, s.native.kernels);
  return tf.tidy(() => {
    const reverse = reverseMaps(maps, s.numEdges);
    if (s.stalkDim === 1) {
      const diag = tf.unsortedSegmentSum(maps.square(), s.src, s.numNodes);
      const norm = tf.rsqrt(diag.add(1));
      const z = y.mul(norm);
      const neighbours = edgeMessages(z, maps.mul(reverse), s.src, s.dst, s.numNodes);
      return diag.mul(z).sub(neighbours).mul(norm);
    }
    const blocks = tf.unsortedSegmentSum(tf.matMul(maps, maps, true, false), s.src, s.numNodes);
    // Normalise by the diagonal of each node's block: (FᵀF)_jj = Σ_i F_ij², [N, d].
    const diag = tf.unsortedSegmentSum(maps.square().sum(1), s.src, s.numNodes);
    const norm = tf.rsqrt(diag.add(1)).expandDims(2);
    const z = y.mul(norm);
    const neighbours = edgeMessages(z, tf.matMul(maps, reverse, true, false), s.src, s.dst, s.numNodes);
    return tf.matMul(blocks, z).sub(neighbours).mul(norm);
  });
}

/** x·w for 2-D operands (tf.matMul's gradient is the two products a custom one would compute). */
function dense(x: Tensor, w: Tensor): Tensor {
  return tf.matMul(x as ReturnType<typeof tf.tensor2d>, w as ReturnType<typeof tf.tensor2d>);
}

/** x ← x − α·L(x)·(xW + b); x is [N, d·f], the result too. */
export function sheafLayer(x: Tensor, w: SheafLayerWeights, s: SheafStructure, stepSize: number): Tensor {
  return tf.tidy(() => {
    const d = s.stalkDim;
    const [n, width] = x.shape as [number, number];
    const f = width / d;
    const maps = restrictionMaps(x, w, s);
    const y = dense(x.reshape([n * d, f]), w.kernel).add(w.bias);
    const ly = applySheafLaplacian(maps, d === 1 ? y : y.reshape([n, d, f]), s);
    return x.sub(ly.reshape([n, width]).mul(stepSize));
  });
}
