import type { EncodedBatch } from '../../features/spec/feature-encoder.js';
import type { CtrModel } from '../ctr/ctr-model.js';
import { ctrMetrics, type CtrMetrics } from '../metrics/classification.js';
import { range, sliceBatch } from './batches.js';

/** Probabilities for every row of an encoded dataset, in batches. */
export function predictAll(model: CtrModel, data: EncodedBatch, batchSize = 2048): Float32Array {
  const out = new Float32Array(data.size);
  const order = range(data.size);
  for (let from = 0; from < data.size; from += batchSize) {
    const to = Math.min(data.size, from + batchSize);
    out.set(model.predict(sliceBatch(data, order, from, to)), from);
  }
  return out;
}

export function evaluate(model: CtrModel, data: EncodedBatch, batchSize = 2048): CtrMetrics & { probabilities: Float32Array } {
  const probabilities = predictAll(model, data, batchSize);
  return { ...ctrMetrics(data.userIds, data.labels, probabilities), probabilities };
}
