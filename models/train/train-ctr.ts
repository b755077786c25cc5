import type { EncodedBatch } from '../../features/spec/feature-encoder.js';
import { createRng } from '../../features/math/rng.js';
import type { CtrModel, DenseState } from '../ctr/ctr-model.js';
import type { CtrMetrics } from '../metrics/classification.js';
import { shuffled, sliceBatch } from './batches.js';
import { evaluate } from './evaluate.js';

export interface TrainOptions {
  /** @default 10 */
  epochs?: number;
  /** @default 1024 */
  batchSize?: number;
  /** Epochs without a better validation AUC before stopping. @default 2 */
  patience?: number;
  /** @default 1 */
  seed?: number;
  onStep?: (progress: StepProgress) => void;
  onEpoch?: (epoch: EpochResult) => void;
}

export interface StepProgress {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
  examplesPerSecond: number;
}

export interface EpochResult {
  epoch: number;
  trainLoss: number;
  validation: CtrMetrics;
  seconds: number;
}

export interface TrainResult {
  epochs: EpochResult[];
  bestEpoch: number;
  best: CtrMetrics;
  examplesPerSecond: number;
}

type Snapshot = { tables: Float32Array[]; dense: DenseState };

/**
 * Mini-batch training with early stopping on the validation split (never the
 * test split): after each epoch the validation AUC is measured; the weights of
 * the best epoch are restored at the end.
 */
export function trainCtr(model: CtrModel, train: EncodedBatch, validation: EncodedBatch, options: TrainOptions = {}): TrainResult {
  const { epochs = 10, batchSize = 1024, patience = 2, seed = 1, onStep, onEpoch } = options;
  const rng = createRng(seed).fork(11);
  const stepsPerEpoch = Math.ceil(train.size / batchSize);
  const history: EpochResult[] = [];
  let best: { epoch: number; metrics: CtrMetrics; snapshot: Snapshot } | undefined;
  let examples = 0;
  let trainSeconds = 0;

  for (let epoch = 1; epoch <= epochs; epoch++) {
    const started = performance.now();
    const order = shuffled(train.size, rng.next);
    let lossSum = 0;
    for (let step = 0; step < stepsPerEpoch; step++) {
      const batch = sliceBatch(train, order, step * batchSize, Math.min(train.size, (step + 1) * batchSize));
      const loss = model.trainStep(batch);
      lossSum += loss * batch.size;
      examples += batch.size;
      const elapsed = (trainSeconds + (performance.now() - started) / 1000);
      onStep?.({ epoch, step: step + 1, stepsPerEpoch, loss, examplesPerSecond: examples / elapsed });
    }
    trainSeconds += (performance.now() - started) / 1000;
    const { probabilities: _p, ...metrics } = evaluate(model, validation);
    const result = { epoch, trainLoss: lossSum / train.size, validation: metrics, seconds: (performance.now() - started) / 1000 };
    history.push(result);
    onEpoch?.(result);
    if (!best || metrics.auc > best.metrics.auc) {
      best = { epoch, metrics, snapshot: snapshot(model) };
    } else if (epoch - best.epoch >= patience) break;
  }
  restore(model, best!.snapshot);
  return { epochs: history, bestEpoch: best!.epoch, best: best!.metrics, examplesPerSecond: examples / trainSeconds };
}

function snapshot(model: CtrModel): Snapshot {
  return { tables: model.layout.tables.map((t) => t.weights.slice()), dense: model.denseState() };
}

function restore(model: CtrModel, s: Snapshot): void {
  model.layout.tables.forEach((t, i) => t.weights.set(s.tables[i]!));
  model.loadDenseState(s.dense);
}
