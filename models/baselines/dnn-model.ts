import { tf } from '../../infra/tf.js';
import { CtrModel } from '../ctr/ctr-model.js';
import type { Embedded } from '../ctr/embedded-batch.js';
import { maskedMean } from '../ctr/pooling.js';
import { Mlp } from '../layers/mlp.js';
import type { Tensor } from '../layers/params.js';

/** Embedding & MLP: every input embedded, lists (history included) mean-pooled, concatenated, an MLP. */
export class DnnModel extends CtrModel {
  private readonly mlp: Mlp;

  constructor(...args: ConstructorParameters<typeof CtrModel>) {
    super(...args);
    const width = this.partNames().reduce((sum, part) => sum + this.partDim(part), 0);
    this.mlp = new Mlp(this.params, 'mlp', width, [...this.config.mlpUnits, 1], this.config.activation);
  }

  protected logits(embedded: Embedded, training: boolean): Tensor {
    const features = this.partNames().map((name) =>
      embedded.masks[name] ? maskedMean(embedded.part(name), embedded.masks[name]!, embedded.lengths[name]!) : embedded.single(name));
    return tf.squeeze(this.mlp.apply(tf.concat(features, 1), training), [1]);
  }

  protected override commitStatistics(): void {
    this.mlp.commit();
  }

  protected override statefulLayers(): Mlp[] {
    return [this.mlp];
  }
}
