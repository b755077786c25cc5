import { tf } from '../../infra/tf.js';
import type { LayoutConfig } from '../ctr/ctr-config.js';
import { CtrModel } from '../ctr/ctr-model.js';
import type { Embedded } from '../ctr/embedded-batch.js';
import { maskedMean } from '../ctr/pooling.js';
import type { Variable, Tensor } from '../layers/params.js';

/**
 * Logistic regression on the same inputs: a weight per feature value (a
 * one-dimensional embedding), lists contributing their mean weight.
 */
export class LrModel extends CtrModel {
  private readonly bias: Variable;

  constructor(...args: ConstructorParameters<typeof CtrModel>) {
    super(...args);
    this.bias = this.params.constant('bias', [1], 0);
  }

  protected override sharesSequenceEmbeddings(): boolean {
    return false;
  }

  protected override embeddingLayoutConfig(): LayoutConfig {
    const e = this.config.embedding;
    return e.kind === 'unified' ? { ...e, chunkDim: 1, chunks: {} } : { ...e, dim: 1 };
  }

  protected logits(embedded: Embedded): Tensor {
    const terms = this.partNames().map((name) =>
      embedded.masks[name] ? maskedMean(embedded.part(name), embedded.masks[name]!, embedded.lengths[name]!) : embedded.single(name));
    return tf.add(tf.sum(tf.concat(terms, 1), 1), this.bias);
  }
}
