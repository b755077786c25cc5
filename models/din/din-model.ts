import { tf } from '../../infra/tf.js';
import { CtrModel } from '../ctr/ctr-model.js';
import type { Embedded } from '../ctr/embedded-batch.js';
import { maskedMean } from '../ctr/pooling.js';
import { Mlp } from '../layers/mlp.js';
import type { Tensor } from '../layers/params.js';
import { ValidationError } from '../../infra/errors.js';
import { LocalActivationUnit } from './local-activation-unit.js';

/**
 * Deep Interest Network (Zhou et al., KDD 2018). The candidate item is
 * concat(item-id, category) embeddings; each behaviour is the same for a
 * history item; the local activation unit pools the behaviours with weights
 * that depend on the candidate; the pooled interest, the candidate and the
 * other features (lists mean-pooled) go through an MLP with Dice.
 *
 * The spec must have sequences `of` the item-id field (and optionally of the
 * category field): those are the behaviours.
 */
export class DinModel extends CtrModel {
  private readonly itemParts: { candidate: string; history: string }[];
  private readonly otherParts: string[];
  private readonly attention: LocalActivationUnit;
  private readonly mlp: Mlp;

  constructor(...args: ConstructorParameters<typeof CtrModel>) {
    super(...args);
    // Item-side fields that have a behaviour sequence: item id, category.
    this.itemParts = this.plans
      .filter((p) => p.parts.length > 1 && p.parts[0]!.kind === 'single')
      .map((p) => ({ candidate: p.parts[0]!.name, history: p.parts[1]!.name }));
    if (this.itemParts.length === 0) throw new ValidationError('DIN needs at least one behaviour sequence field (kind "sequence", of an item-side field)');
    const used = new Set(this.itemParts.flatMap((p) => [p.candidate, p.history]));
    this.otherParts = this.partNames().filter((n) => !used.has(n));
    const itemDim = this.itemParts.reduce((sum, p) => sum + this.partDim(p.candidate), 0);
    const otherDim = this.otherParts.reduce((sum, n) => sum + this.partDim(n), 0);
    const c = this.config;
    this.attention = new LocalActivationUnit(this.params, { name: 'attention', dim: itemDim, units: c.attentionUnits, activation: c.attentionActivation, norm: c.attentionNorm, outputInit: c.attentionOutputInit });
    this.mlp = new Mlp(this.params, 'mlp', otherDim + 2 * itemDim, [...c.mlpUnits, 1], c.activation);
  }

  protected logits(embedded: Embedded, training: boolean): Tensor {
    const query = tf.concat(this.itemParts.map((p) => embedded.single(p.candidate)), 1);
    const interest = this.attention.poolHistory(query, embedded, this.itemParts.map((p) => p.history), training);
    const others = this.otherParts.map((name) =>
      embedded.masks[name] ? maskedMean(embedded.part(name), embedded.masks[name]!, embedded.lengths[name]!) : embedded.single(name));
    return tf.squeeze(this.mlp.apply(tf.concat([...others, query, interest], 1), training), [1]);
  }

  protected override commitStatistics(): void {
    this.attention.commit();
    this.mlp.commit();
  }

  protected override statefulLayers(): Mlp[] {
    return [this.attention.layers, this.mlp];
  }
}
