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
  const { epochs = 10, patience = 2, onEpoch } = options;
  const run = new EpochRunner(model, train, options);
  const history: EpochResult[] = [];
  let best: { epoch: number; metrics: CtrMetrics; snapshot: Snapshot } | undefined;

  for (let epoch = 1; epoch <= epochs; epoch++) {
    const started = performance.now();
    const trainLoss = run.epoch(epoch);
    const { probabilities: _p, ...metrics } = evaluate(model, validation);
    const result = { epoch, trainLoss, validation: metrics, seconds: (performance.now() - started) / 1000 };
    history.push(result);
    onEpoch?.(result);
    if (!best || metrics.auc > best.metrics.auc) {
      best = { epoch, metrics, snapshot: snapshot(model) };
    } else if (epoch - best.epoch >= patience) break;
  }
  restore(model, best!.snapshot);
  return { epochs: history, bestEpoch: best!.epoch, best: best!.metrics, examplesPerSecond: run.examplesPerSecond };
}

/**
 * Exactly `epochs` epochs, no validation and no early stopping: the retrain
 * on train ∪ validation once early stopping on the validation tail has
 * chosen the epoch count (the served model must have seen the newest data).
 */
export function trainFixedEpochs(model: CtrModel, train: EncodedBatch, epochs: number, options: Omit<TrainOptions, 'epochs' | 'patience' | 'onEpoch'> = {}): { epochs: { epoch: number; trainLoss: number; seconds: number }[]; examplesPerSecond: number } {
  const run = new EpochRunner(model, train, options);
  const history: { epoch: number; trainLoss: number; seconds: number }[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const started = performance.now();
    const trainLoss = run.epoch(epoch);
    history.push({ epoch, trainLoss, seconds: (performance.now() - started) / 1000 });
  }
  return { epochs: history, examplesPerSecond: run.examplesPerSecond };
}

/** Shuffled mini-batch epochs over one training set, with the progress counts both trainers report. */
class EpochRunner {
  private readonly rng: ReturnType<typeof createRng>;
  private readonly batchSize: number;
  private examples = 0;
  private seconds = 0;

  constructor(private readonly model: CtrModel, private readonly train: EncodedBatch, private readonly options: Pick<TrainOptions, 'batchSize' | 'seed' | 'onStep'>) {
    this.rng = createRng(options.seed ?? 1).fork(11);
    this.batchSize = options.batchSize ?? 1024;
  }

  get examplesPerSecond(): number {
    return this.examples / this.seconds;
  }

  /** One epoch; returns its mean training loss. */
  epoch(epoch: number): number {
    const { train, batchSize } = this;
    const started = performance.now();
    const stepsPerEpoch = Math.ceil(train.size / batchSize);
    const order = shuffled(train.size, this.rng.next);
    let lossSum = 0;
    for (let step = 0; step < stepsPerEpoch; step++) {
      const batch = sliceBatch(train, order, step * batchSize, Math.min(train.size, (step + 1) * batchSize));
      const loss = this.model.trainStep(batch);
      lossSum += loss * batch.size;
      this.examples += batch.size;
      const elapsed = this.seconds + (performance.now() - started) / 1000;
      this.options.onStep?.({ epoch, step: step + 1, stepsPerEpoch, loss, examplesPerSecond: this.examples / elapsed });
    }
    this.seconds += (performance.now() - started) / 1000;
    return lossSum / train.size;
  }
}

function snapshot(model: CtrModel): Snapshot {
  return { tables: model.layout.tables.map((t) => t.weights.slice()), dense: model.denseState() };
}

function restore(model: CtrModel, s: Snapshot): void {
  model.layout.tables.forEach((t, i) => t.weights.set(s.tables[i]!));
  model.loadDenseState(s.dense);
}
