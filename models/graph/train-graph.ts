import { tf } from '../../infra/tf.js';
import { createRng } from '../../features/math/rng.js';
import type { CfInteractions } from '../../features/datasets/movielens-cf.js';
import { gatherRows, type Tensor2D } from '../../features/embedding/index.js';
import type { BipartiteGraph } from './bipartite-graph.js';
import { bprLoss, embeddingL2, mfBprGradient, type Scalar } from './bpr-loss.js';

export { mfBprGradient } from './bpr-loss.js';
import type { GraphTrainingConfig } from './graph-config.js';
import { exportEmbeddings, type GraphEmbeddings } from './graph-embeddings.js';
import type { GraphModel } from './graph-model.js';
import { dropHostTable, hostTable, isTableOnly, restoreTable, snapshotTable } from './host-table.js';
import { canStepLightGcnNatively, forgetLightGcnState, lightGcnStep } from './lightgcn-step.js';
import { canStepSheafNatively, forgetSheafState, sheafStep } from './sheaf-step.js';
import { evaluateFullRanking, type RankingSummary } from './full-ranking.js';
import { sampleEpochTriples } from './negative-sampling.js';
import { samplePopularityTriples } from './popularity-negatives.js';

export interface GraphEpochResult {
  epoch: number;
  /** Mean BPR + L2 loss over the epoch's steps. */
  trainLoss: number;
  /** Present on epochs where validation ran. */
  validation?: RankingSummary;
  /** Training time of this epoch (validation excluded). */
  seconds: number;
}

export interface GraphTrainResult {
  epochs: GraphEpochResult[];
  bestEpoch: number;
  best: RankingSummary;
  /** The best epoch's final representations (what is evaluated and exported). */
  embeddings: GraphEmbeddings;
  secondsPerEpoch: number;
}

export interface GraphTrainOptions extends Partial<GraphTrainingConfig> {
  /** @default 1 */
  seed?: number;
  onEpoch?: (e: GraphEpochResult) => void;
}

/**
 * BPR training with Adam, one pass over the training edges per epoch with
 * fresh negatives (uniform, or ∝ item degree^negativeExponent), early
 * stopping on validation NDCG@K (never the test split): the embeddings of
 * the best validation check from `minEpochs` on are kept and returned.
 * Validation ranks all items except the user's training items. For a model
 * whose only weights are its layer-0 table (MF-BPR, LightGCN: host-table.ts)
 * the best check's table is kept, not its export, and the export (with the
 * fold-in basis, which validation does not need) is made once at the end
 * from that table, which the model then holds: on a 2M-node LightGCN a kept
 * export was 1.25 GB and each check's another, against 0.5 GB for the table.
 * Other models keep a copy of the best check's export.
 */
export function trainGraphModel(model: GraphModel, graph: BipartiteGraph, validation: CfInteractions, options: GraphTrainOptions = {}): GraphTrainResult {
  const { epochs = 200, batchSize = 1024, learningRate = 1e-3, layerLearningRate, decay = 1e-4, patience = 5, evalEvery = 1, k = 20, minEpochs = 1, negativeExponent = 0, seed = 1, onEpoch } = options;
  // The last epoch always counts, so a run shorter than minEpochs (a production refit) still returns a model.
  const counts = (epoch: number) => epoch >= Math.min(minEpochs, epochs);
  const rng = createRng(seed).fork(7);
  const optimizer = createOptimizers(learningRate, layerLearningRate);
  const exclude = graph.userItems;
  const hasValidation = validation.users.length > 0;
  const history: GraphEpochResult[] = [];
  let best: { epoch: number; metrics: RankingSummary; embeddings?: GraphEmbeddings; table?: Float32Array } | undefined;
  // Reused across improving checks: one copy of the table, not one per check.
  let bestTable: Float32Array | undefined;
  let bestEmbeddings: GraphEmbeddings | undefined;
  const keepsTable = isTableOnly(model);
  let trainSeconds = 0;
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const started = performance.now();
      const triples = negativeExponent > 0 ? samplePopularityTriples(graph, rng, negativeExponent) : sampleEpochTriples(graph, rng);
      const losses: Scalar[] = [];
      for (let start = 0; start < triples.users.length; start += batchSize) {
        const end = Math.min(triples.users.length, start + batchSize);
        losses.push(trainStep(model, optimizer, triples.users.subarray(start, end), triples.positives.subarray(start, end), triples.negatives.subarray(start, end), decay));
      }
      const trainLoss = tf.tidy(() => tf.addN(losses).div(losses.length).dataSync()[0]!);
      tf.dispose(losses);
      const seconds = (performance.now() - started) / 1000;
      trainSeconds += seconds;
      const result: GraphEpochResult = { epoch, trainLoss, seconds };
      const check = (epoch % evalEvery === 0 || epoch === epochs) && counts(epoch);
      if (check) {
        // Read once here: it may live in the model's training scratch (kept ones are copied below).
        const embeddings = exportEmbeddings(model, { basis: !keepsTable, scratch: true });
        const metrics = hasValidation ? evaluateFullRanking(embeddings, validation, exclude, [k]) : { [`ndcg@${k}`]: -trainLoss };
        result.validation = metrics;
        if (!best || metrics[`ndcg@${k}`]! > best.metrics[`ndcg@${k}`]!) {
          best = keepsTable ? { epoch, metrics, table: (bestTable = snapshotTable(model, bestTable)) } : { epoch, metrics, embeddings: (bestEmbeddings = keepEmbeddings(embeddings, bestEmbeddings)) };
        }
      }
      history.push(result);
      onEpoch?.(result);
      if (check && best && (epoch - best.epoch) / evalEvery >= patience) break;
    }
  } finally {
    // The off-tape steps' Adam moments (two tables' worth) go before the final export.
    mfStates.delete(optimizer.embedding);
    forgetLightGcnState(optimizer.embedding);
    forgetSheafState(optimizer.embedding, optimizer.layers);
    optimizer.embedding.dispose();
    optimizer.layers?.dispose();
  }
  if (best!.table) restoreTable(model, best!.table);
  const embeddings = best!.embeddings ?? exportEmbeddings(model);
  return { epochs: history, bestEpoch: best!.epoch, best: best!.metrics, embeddings, secondsPerEpoch: trainSeconds / history.length };
}

/** A copy of `e`'s rows, into `into`'s arrays when it has them (one kept copy however many checks improve); the basis is referenced. */
function keepEmbeddings(e: GraphEmbeddings, into: GraphEmbeddings | undefined): GraphEmbeddings {
  const copy = (from: Float32Array, to: Float32Array | undefined) => (to && to.length === from.length ? (to.set(from), to) : from.slice());
  return { dim: e.dim, users: copy(e.users, into?.users), items: copy(e.items, into?.items), ...(e.basis ? { basis: e.basis } : {}) };
}

type Adam = ReturnType<typeof tf.train.adam>;
/** One Adam for everything, or a second one for the propagation weights. */
export interface GraphOptimizers { embedding: Adam; layers?: Adam }

export function createOptimizers(learningRate: number, layerLearningRate?: number): GraphOptimizers {
  return { embedding: tf.train.adam(learningRate), ...(layerLearningRate !== undefined ? { layers: tf.train.adam(layerLearningRate) } : {}) };
}

/**
 * The batch's BPR + L2 loss as a function for the optimizer's tape: the
 * node indices are users, then positives, then negatives (items offset by
 * numUsers), one list so that each table is gathered once and the backward
 * pass scatters one [N, D] gradient per table instead of one per role; for
 * MF-BPR, whose representations are its table, one gather serves BPR and L2.
 */
export function batchLoss(model: GraphModel, nodeIds: Int32Array, batch: number, decay: number): () => Scalar {
  return () => {
    const out = model.forward() as Tensor2D;
    // gatherRows sums the gradient rows in JS: tf.gather's gradient (two transposes and a segment sum into [N, D]) took ~4x longer.
    const rows = gatherRows(out, nodeIds);
    const e0 = out === model.embedding ? rows : gatherRows(model.embedding as Tensor2D, nodeIds);
    const [zu, zp, zn] = tf.split(rows, 3);
    return bprLoss(zu!, zp!, zn!).add(embeddingL2([e0], batch, decay)) as Scalar;
  };
}

/** Users, positives and negatives as one node-index list (items follow the users in the node space). */
export function batchNodeIds(numUsers: number, users: Int32Array, positives: Int32Array, negatives: Int32Array): Int32Array {
  const b = users.length;
  const ids = new Int32Array(3 * b);
  ids.set(users);
  for (let k = 0; k < b; k++) {
    ids[b + k] = positives[k]! + numUsers;
    ids[2 * b + k] = negatives[k]! + numUsers;
  }
  return ids;
}

/** One Adam step on a batch of BPR triples; returns the loss tensor (read once per epoch, not per step). */
export function trainStep(model: GraphModel, optimizer: GraphOptimizers, users: Int32Array, positives: Int32Array, negatives: Int32Array, decay: number): Scalar {
  const ids = batchNodeIds(model.numUsers, users, positives, negatives);
  if (model.config.type === 'mf-bpr' && !optimizer.layers) return mfBprStep(model, optimizer.embedding, ids, users.length, decay);
  if (canStepLightGcnNatively(model)) return lightGcnStep(model, optimizer.embedding, ids, users.length, decay);
  if (canStepSheafNatively(model)) return sheafStep(model, optimizer, ids, users.length, decay);
  dropHostTable(model);
  return tf.tidy(() => {
    const loss = batchLoss(model, ids, users.length, decay);
    if (!optimizer.layers) return optimizer.embedding.minimize(loss, true, model.variables)!;
    const { value, grads } = tf.variableGrads(loss, model.variables);
    const named = Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
    optimizer.embedding.applyGradients(named.filter((g) => g.name === model.embedding.name));
    optimizer.layers.applyGradients(named.filter((g) => g.name !== model.embedding.name));
    return value;
  });
}

/**
 * MF-BPR's Adam moments, gradient scratch and per-row "last step" stamps as
 * typed arrays, per optimizer (one training run); the table itself is the
 * model's host table.
 */
interface MfState { m: Float32Array; v: Float32Array; grad: Float32Array; stamp: Int32Array; steps: number; beta1Power: number; beta2Power: number }
const mfStates = new WeakMap<Adam, MfState>();

/**
 * MF-BPR's step without the tape, with a lazy Adam: the gradient by
 * mfBprGradient, then Adam's update on the batch's distinct rows only, with
 * tf.train.adam's arithmetic and settings (m, v, bias corrections with the
 * global step's β^t, ε). Rows outside the batch keep their values and
 * moments until they next appear: TF-Addons' LazyAdam and PyTorch's
 * SparseAdam (which differs only in adding ε/√(1 − β₂^t) where this adds
 * ε), where the dense Adam would move every row with its old moments each
 * step. The dense update touched all N·D entries per step: ~50 ms a step on
 * the 1M-interaction graph whatever the batch, most of the step at batch
 * 1024. On ML-100K (shipped config, seed 1) test NDCG@20 went from 0.1457
 * (dense) to 0.1440. The table stays on the host (`hostTable`) and reaches
 * the variable when the model is next read.
 */
function mfBprStep(model: GraphModel, optimizer: Adam, ids: Int32Array, batch: number, decay: number): Scalar {
  const dim = model.config.dim;
  const host = hostTable(model);
  const table = host.values;
  let st = mfStates.get(optimizer);
  if (!st) {
    st = { m: new Float32Array(table.length), v: new Float32Array(table.length), grad: new Float32Array(table.length), stamp: new Int32Array(table.length / dim), steps: 0, beta1Power: 1, beta2Power: 1 };
    mfStates.set(optimizer, st);
  } else if (st.m.length !== table.length) {
    throw new Error(`this optimizer's MF-BPR state holds ${st.m.length / dim} rows, the model ${table.length / dim}: use one optimizer per model`);
  }
  const { loss } = mfBprGradient(table, dim, ids, batch, decay, st.grad);
  const { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps } = optimizer as unknown as { learningRate: number; beta1: number; beta2: number; epsilon: number };
  st.beta1Power *= b1;
  st.beta2Power *= b2;
  const step = ++st.steps;
  // lr·m̂/(√v̂ + ε) with m̂ = m/(1 − β₁^t), v̂ = v/(1 − β₂^t); the constants are hoisted out of the loop (~15% of it).
  const a1 = 1 - b1, a2 = 1 - b2, rate = lr / (1 - st.beta1Power), vScale = 1 / (1 - st.beta2Power);
  const { m, v, grad: g, stamp } = st;
  for (let k = 0; k < ids.length; k++) {
    const row = ids[k]!;
    // A row repeated in the batch is updated once, with its summed gradient.
    if (stamp[row] === step) continue;
    stamp[row] = step;
    for (let o = row * dim, end = o + dim; o < end; o++) {
      const gk = g[o]!;
      const mk = m[o]! * b1 + gk * a1;
      const vk = v[o]! * b2 + gk * gk * a2;
      m[o] = mk;
      v[o] = vk;
      table[o] = table[o]! - (rate * mk) / (Math.sqrt(vk * vScale) + eps);
      g[o] = 0;
    }
  }
  host.stale = true;
  return tf.scalar(loss) as Scalar;
}
