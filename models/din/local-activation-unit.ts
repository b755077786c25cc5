import { tf } from '../../infra/tf.js';
import { gatherUntaped, matMulUntaped, segmentSumUntaped } from '../../features/embedding/index.js';
import { isDifferentiable, type ActivationKind, type DifferentiableActivation } from '../layers/activations.js';
import { activationBackward, backwardDense, Mlp } from '../layers/mlp.js';
import { addPairTerms, pairProducts, pairsInput, pairsInputGrad } from './pairs-input.js';
import type { ParamStore, Tensor } from '../layers/params.js';
import type { BehaviourRun, Embedded } from '../ctr/embedded-batch.js';

type Tensor2D = ReturnType<typeof tf.tensor2d>;

export type AttentionNorm = 'none' | 'softmax' | 'length';

/** Inside the op no tape is recording: TensorFlow's matmul without the tape's bookkeeping (see matMulUntaped). */
const matMul = matMulUntaped;

/**
 * DIN's local activation unit (Zhou et al., KDD 2018, Fig. 2): for the
 * candidate q and each behaviour k, an MLP over [q, k, q − k, q ⊙ k] gives a
 * weight; the user interest is the weighted sum of the behaviours. The paper
 * uses the weights as they are (no softmax) so the pooled vector's size keeps
 * the intensity of interest; softmax and length normalisation are options.
 *
 * When the unit's activations are stateless (PReLU, ReLU, sigmoid) — the
 * paper's configuration — a fast path computes the same function (within
 * float rounding):
 *  - the first layer [q, k, q − k, q⊙k]·[W1; W2; W3; W4] is computed as
 *    [q, k, q⊙k]·[W1 + W3; W2 − W3; W4]: a quarter fewer multiply-adds, and no
 *    tiled query or 4D-wide input (the parameters keep their names and shapes);
 *  - only real behaviours are scored: a padded position weighs 0 and, without
 *    batch statistics, influences nothing, so it is never gathered;
 *  - the whole unit is one tf.customGrad op with a hand-written backward pass
 *    (the tape's generic gradients cost several times more kernels).
 *  - softmax weights are a softmax over each example's real behaviours (the
 *    reference gives padding −10⁹ before its softmax: an exact 0 in float).
 * Dice inside the unit (its statistics span padded positions too) takes the
 * reference path: the paper's formulation on the tape, with the MLP stack one
 * hand-differentiated op (see Mlp).
 *
 * Inference on the fast path needs no gradient machinery (pairsPool) and,
 * when runs of candidates share one history, as a serving request's do,
 * does the history's side once per run (sharedPool).
 */
export interface LocalActivationUnitOptions {
  /** Prefix of the unit's parameter names in the store. */
  name: string;
  /** Width of a query and of a key (the behaviour embedding). */
  dim: number;
  /** Hidden layer widths of the attention MLP (a 1-unit output layer follows). */
  units: readonly number[];
  activation: ActivationKind;
  /** How scores become weights: the paper's raw scores, normalised by length, or softmax. */
  norm: AttentionNorm;
  /**
   * `zeros` starts the MLP's output layer at 0: every score is 0 at first, so
   * softmax attention starts as the history's mean (a DNN's pooling) and
   * departs from it only as far as training finds useful. @default 'glorot'
   */
  outputInit?: 'glorot' | 'zeros';
}

export class LocalActivationUnit {
  private readonly mlp: Mlp;
  private readonly fast: boolean;
  private readonly norm: AttentionNorm;

  constructor(params: ParamStore, { name, dim, units, activation, norm, outputInit = 'glorot' }: LocalActivationUnitOptions) {
    this.norm = norm;
    this.mlp = new Mlp(params, name, 4 * dim, [...units, 1], activation, { outputInit });
    this.fast = this.mlp.dense.every((layer) => !layer.activation || (isDifferentiable(layer.activation) && !layer.activation.usesBatchStatistics));
  }

  /**
   * The user interest [B, D] for candidates `query` [B, D] from the embedded
   * behaviour parts `history` (side by side they are the keys; the first
   * one's mask says which positions are behaviours).
   */
  poolHistory(query: Tensor, embedded: Embedded, history: readonly string[], training: boolean): Tensor {
    const first = history[0]!;
    if (this.fast) {
      if (!training) {
        const shared = embedded.runs(history, first);
        // Worth it only when runs are long: each run is a handful of ops.
        if (shared.runs.length * 8 <= embedded.size) return this.sharedPool(query as Tensor2D, shared.values(), shared.runs);
        const { values, example } = embedded.filled(history, first);
        return this.pairsPool(query as Tensor2D, values, example, this.scales(example, embedded.lengths[first]!));
      }
      const { values, example } = embedded.filled(history, first);
      return this.fastPool(query, values, example, this.scales(example, embedded.lengths[first]!));
    }
    const keys = tf.concat(history.map((name) => embedded.part(name)), 2);
    return this.referencePool(query, keys, embedded.masks[first]!, embedded.lengths[first]!, training);
  }

  /** query [B, D], keys [B, L, D], mask [B, L] (1 = behaviour, 0 = padding), lengths [B, 1] → [B, D]. */
  pool(query: Tensor, keys: Tensor, mask: Tensor, lengths: Tensor, training: boolean): Tensor {
    if (!this.fast) return this.referencePool(query, keys, mask, lengths, training);
    const [B, L, D] = keys.shape as [number, number, number];
    const m = mask.dataSync();
    const positions: number[] = [];
    for (let i = 0; i < m.length; i++) if (m[i] !== 0) positions.push(i);
    const example = Int32Array.from(positions, (i) => Math.floor(i / L));
    // On the tape: this entry point takes keys that may need a gradient.
    const behaviours = tf.gather(tf.reshape(keys, [B * L, D]), tf.tensor1d(positions, 'int32'));
    const scales = this.scales(example, lengths);
    return training ? this.fastPool(query, behaviours, example, scales) : this.pairsPool(query as Tensor2D, behaviours as Tensor2D, example, scales);
  }

  /** The unit as the paper writes it, differentiated by the tape: what `pool` computes, by the generic path. */
  referencePool(query: Tensor, keys: Tensor, mask: Tensor, lengths: Tensor, training: boolean): Tensor {
    const [, L] = keys.shape as [number, number, number];
    const q = tf.tile(tf.expandDims(query, 1), [1, L, 1]);
    const input = tf.concat([q, keys, tf.sub(q, keys), tf.mul(q, keys)], 2);
    const scores = tf.squeeze(this.mlp.apply(input, training), [2]);
    let weights: Tensor;
    if (this.norm === 'softmax') {
      // Padding gets −∞ before the softmax so it takes no share.
      weights = tf.mul(tf.softmax(tf.add(scores, tf.mul(tf.sub(1, mask), -1e9))), mask);
    } else {
      weights = tf.mul(scores, mask);
      if (this.norm === 'length') weights = tf.div(weights, lengths);
    }
    return tf.sum(tf.mul(tf.expandDims(weights, 2), keys), 1);
  }

  weights(query: Tensor, keys: Tensor, mask: Tensor): Tensor {
    const [, L] = keys.shape as [number, number, number];
    const q = tf.tile(tf.expandDims(query, 1), [1, L, 1]);
    return tf.mul(tf.squeeze(this.mlp.apply(tf.concat([q, keys, tf.sub(q, keys), tf.mul(q, keys)], 2), false), [2]), mask);
  }

  commit(): void {
    this.mlp.commit();
  }

  get layers(): Mlp {
    return this.mlp;
  }

  /** 'length' normalisation: each behaviour's weight is divided by its example's length. */
  private scales(example: Int32Array, lengths: Tensor): Float32Array | null {
    if (this.norm !== 'length') return null;
    const n = lengths.dataSync();
    return Float32Array.from(example, (b) => 1 / n[b]!);
  }

  /**
   * Inference, no tape: the first layer split as [q, k, q⊙k]·[Wq; Wk; Wqk] =
   * q·Wq + k·Wk + (q⊙k)·Wqk, so q·Wq (with the bias) is computed once per
   * candidate and k·Wk once per behaviour; only the product term and the
   * upper layers run per (candidate, behaviour) pair.
   */
  private splitFirstLayer(query: Tensor2D, behaviours: Tensor2D): { candidateTerm: Tensor; behaviourTerm: Tensor; product: Tensor } {
    const first = this.mlp.dense[0]!;
    const [w1, w2, w3, w4] = tf.split(first.kernel, 4, 0);
    return {
      candidateTerm: tf.add(matMul(query, tf.add(w1!, w3!)), first.bias),
      behaviourTerm: matMul(behaviours, tf.sub(w2!, w3!)),
      product: w4!,
    };
  }

  /** First-layer pre-activations [pairs, units] → attention weights [pairs, 1]. */
  private upperLayers(z: Tensor): Tensor {
    let h = z;
    this.mlp.dense.forEach((layer, i) => {
      if (i > 0) h = tf.add(matMul(h, layer.kernel), layer.bias);
      if (layer.activation) h = layer.activation.apply(h, false);
    });
    return h;
  }

  /**
   * The first layer over (candidate, behaviour) pairs as one matMul: the
   * input [qb, kb, qb⊙kb] [N, 3D] and the kernel [W1 + W3; W2 − W3; W4]
   * ([W1; W2; W3; W4] on [q, k, q − k, q⊙k]), then the bias. Not a ones
   * column carrying the bias: at 3D + 1 = 97 wide the weight gradient's matMul
   * took 4.4 ms against 2.8 at 96 (26,624 pairs × 80 units), more than the
   * bias add and its column sum cost.
   */
  private pairsFirstLayer(qb: Tensor, kb: Tensor): { x: Tensor; fused: Tensor } {
    const [w1, w2, w3, w4] = tf.split(this.mlp.dense[0]!.kernel, 4, 0);
    return { x: pairsInput(qb, kb), fused: tf.concat([tf.add(w1!, w3!), tf.sub(w2!, w3!), w4!], 0) };
  }

  /**
   * Inference on behaviours only (what fastPool computes, without its
   * gradient machinery). Per pair, the fused first layer beats the split one
   * (splitFirstLayer): gathering the candidate term and adding it, at the
   * layer's width, cost more than widening the matMul's input.
   */
  private pairsPool(query: Tensor2D, behaviours: Tensor2D, example: Int32Array, scales: Float32Array | null): Tensor {
    const exampleOf = tf.tensor1d(example, 'int32');
    const { x, fused } = this.pairsFirstLayer(gatherUntaped(query, exampleOf), behaviours);
    const h = this.upperLayers(tf.add(matMul(x, fused), this.mlp.dense[0]!.bias));
    const weights = this.norm === 'softmax' ? segmentSoftmax(h, example, exampleOf, query.shape[0]) : scales ? tf.mul(h, tf.tensor2d(scales, [example.length, 1])) : h;
    return segmentSumUntaped(tf.mul(weights, behaviours), exampleOf, query.shape[0]);
  }

  /**
   * Inference for runs of candidates that share one history (a serving
   * request): the pairs of a run are a [size × count] block built by
   * broadcasting rather than gathering, and the pooling is one matMul.
   */
  private sharedPool(query: Tensor2D, behaviours: Tensor2D, runs: readonly BehaviourRun[]): Tensor {
    const D = query.shape[1];
    const { candidateTerm, behaviourTerm, product } = this.splitFirstLayer(query, behaviours);
    const pooled = runs.map((run) => {
      if (run.count === 0) return tf.zeros([run.size, D]);
      const q = rowsOf(query, run.start, run.size);
      const k = rowsOf(behaviours, run.offset, run.count);
      const z = addPairTerms(matMul(pairProducts(q, k), product), rowsOf(candidateTerm, run.start, run.size), rowsOf(behaviourTerm, run.offset, run.count));
      let weights = tf.reshape(this.upperLayers(z), [run.size, run.count]);
      if (this.norm === 'length') weights = tf.div(weights, run.count);
      if (this.norm === 'softmax') weights = tf.softmax(weights);
      return matMul(weights, k);
    });
    return pooled.length === 1 ? pooled[0]! : tf.concat(pooled, 0);
  }

  /**
   * The fast path on behaviours only: query [B, D], behaviours [N, D]
   * (example-major), example [N] (each behaviour's row of query), optional
   * per-behaviour weight scales → interest [B, D]. One custom-gradient op over
   * query, behaviours and the unit's parameters.
   */
  private fastPool(query: Tensor, behaviours: Tensor, example: Int32Array, scales: Float32Array | null): Tensor {
    const B = query.shape[0]!;
    const N = example.length;
    const layers = this.mlp.dense;
    const activations = layers.map((layer) => layer.activation as DifferentiableActivation | undefined);
    // The op's inputs after query and behaviours: per layer its kernel, bias and activation variables.
    const params: Tensor[] = layers.flatMap((layer, i) => [layer.kernel, layer.bias, ...(activations[i]?.variables ?? [])]);
    const exampleOf = tf.tensor1d(example, 'int32');
    const scale = scales && tf.tensor2d(scales, [N, 1]);

    const op = tf.customGrad((...args) => {
      const save = args.pop() as (tensors: Tensor[]) => void;
      const [q, kb] = args as [Tensor, Tensor];
      // The gradient may read only what is saved: the step's tidy disposes the rest before it runs.
      const kept: Tensor[] = [];
      const keep = (t: Tensor): number => kept.push(t) - 1;
      const iExample = keep(exampleOf);
      const iScale = scale ? keep(scale) : -1;

      const qb = gatherUntaped(q, exampleOf); // [N, D]: each behaviour's candidate
      const { x, fused } = this.pairsFirstLayer(qb, kb); // x [N, 3D]
      const iQb = keep(qb);
      const iKb = keep(kb);
      const iFused = keep(fused);
      const iInputs: number[] = [];
      const iTraces: number[][] = [];
      let h = x;
      layers.forEach((layer, i) => {
        iInputs.push(keep(h));
        const z = tf.add(matMul(h, i === 0 ? fused : layer.kernel), layer.bias);
        const activation = activations[i];
        if (activation) {
          const { y, saved } = activation.forwardSaving(z);
          iTraces.push(saved.map(keep));
          h = y;
        } else {
          iTraces.push([]);
          h = z;
        }
      });
      const softmax = this.norm === 'softmax';
      const weights = softmax ? segmentSoftmax(h, example, exampleOf, B) : scale ? tf.mul(h, scale) : h; // [N, 1]
      const iWeights = keep(weights);
      save(kept);

      return {
        value: segmentSumUntaped(tf.mul(weights, kb), exampleOf, B),
        gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
          const get = (i: number): Tensor => saved[i]!;
          const exampleS = get(iExample);
          const kbS = get(iKb);
          // interest_b = Σ_{i in b} w_i·k_i: dk_i = w_i·dy_b, dw_i = k_i·dy_b.
          const dyb = gatherUntaped(Array.isArray(dy) ? dy[0]! : dy, exampleS); // [N, D]
          const dKbPooling = tf.mul(get(iWeights), dyb);
          let dh = tf.sum(tf.mul(kbS, dyb), 1, true);
          if (iScale >= 0) dh = tf.mul(dh, get(iScale));
          if (softmax) {
            // w = softmax(s) within each example: ds_i = w_i·(dw_i − Σ_{j in its example} w_j·dw_j).
            const w = get(iWeights);
            dh = tf.mul(w, tf.sub(dh, gatherUntaped(segmentSumUntaped(tf.mul(w, dh), exampleS, B), exampleS)));
          }
          if (layers.length === 0) throw new Error('the attention MLP has no layers');
          const upper = backwardDense(layers, activations, (i) => iTraces[i]!.map(get), (i) => get(iInputs[i]!), dh, 1);
          const { dz, grads: own } = activationBackward(activations[0], upper.dh, iTraces[0]!.map(get));
          const input = get(iInputs[0]!);
          // Back to [W1; W2; W3; W4] from the fused [3D, units] kernel's gradient.
          const [dq, dk, dqk] = tf.split(matMul(input, dz, true, false), 3, 0);
          const grads = [tf.concat([dq!, dk!, tf.sub(dq!, dk!), dqk!], 0), tf.sum(dz, 0), ...own, ...upper.grads];
          const { dq: dQb, dk: dKb } = pairsInputGrad(matMul(dz, get(iFused), false, true), get(iQb), kbS, dKbPooling);
          return [segmentSumUntaped(dQb, exampleS, B), dKb, ...grads];
        },
      };
    });
    return op(query, behaviours, ...params);
  }
}

/**
 * Softmax of scores [N, 1] within each example's behaviours (`example`, the
 * example of each row, in order), shifted by each example's own maximum as
 * tf.softmax shifts each row: TensorFlow.js has no segment maximum, so it is
 * taken here from the scores' values.
 */
function segmentSoftmax(scores: Tensor, example: Int32Array, exampleOf: Tensor, examples: number): Tensor {
  const s = scores.dataSync();
  const max = new Float32Array(examples).fill(-Infinity);
  for (let i = 0; i < example.length; i++) if (s[i]! > max[example[i]!]!) max[example[i]!] = s[i]!;
  const e = tf.exp(tf.sub(scores, tf.tensor2d(Float32Array.from(example, (b) => max[b]!), [example.length, 1])));
  return tf.div(e, gatherUntaped(segmentSumUntaped(e, exampleOf, examples), exampleOf));
}

/** Rows [start, start + count) of a 2-D tensor; the tensor itself when that is all of it (one request's run: no op to dispatch). */
function rowsOf(x: Tensor, start: number, count: number): Tensor {
  return start === 0 && count === x.shape[0] ? x : tf.slice(x, [start, 0], [count, x.shape[1]!]);
}
