import { tf } from '../../infra/tf.js';
import type { ParamStore, Tensor, Variable } from './params.js';

export type ActivationKind = 'dice' | 'prelu' | 'relu' | 'sigmoid';

export interface Activation {
  apply(x: Tensor, training: boolean): Tensor;
  /** Folds the last training batch's statistics into non-trainable state (Dice). */
  commit?(): void;
}

/**
 * Dice (Zhou et al., KDD 2018, eq. 9): p(s) = sigmoid((s − E[s]) / √(Var[s] + ε)),
 * f(s) = p(s)·s + (1 − p(s))·α·s, with α learned per unit. Training uses the
 * batch's statistics; inference the moving averages, as batch norm does.
 */
export class Dice implements Activation {
  private readonly alpha: Variable;
  private movingMean: Tensor;
  private movingVar: Tensor;

  constructor(params: ParamStore, name: string, units: number, private readonly momentum = 0.99, private readonly epsilon = 1e-8) {
    this.alpha = params.constant(`${name}/alpha`, [units], 0);
    this.movingMean = tf.keep(tf.zeros([units]));
    this.movingVar = tf.keep(tf.ones([units]));
  }

  private pending: [Tensor, Tensor] | undefined;

  apply(x: Tensor, training: boolean): Tensor {
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    let mean = this.movingMean;
    let variance = this.movingVar;
    if (training) {
      ({ mean, variance } = tf.moments(x, axes));
      tf.dispose(this.pending);
      this.pending = [tf.keep(mean.clone()), tf.keep(variance.clone())];
    }
    const p = tf.sigmoid(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.epsilon))));
    return tf.add(tf.mul(p, x), tf.mul(tf.mul(tf.sub(1, p), this.alpha), x));
  }

  commit(): void {
    if (!this.pending) return;
    const [mean, variance] = this.pending;
    const next = tf.tidy(() => [
      tf.add(tf.mul(this.movingMean, this.momentum), tf.mul(mean, 1 - this.momentum)),
      tf.add(tf.mul(this.movingVar, this.momentum), tf.mul(variance, 1 - this.momentum)),
    ]);
    tf.dispose([this.movingMean, this.movingVar, mean, variance]);
    this.pending = undefined;
    this.movingMean = tf.keep(next[0]!);
    this.movingVar = tf.keep(next[1]!);
  }

  statistics(): { mean: Float32Array; variance: Float32Array } {
    return { mean: this.movingMean.dataSync() as Float32Array, variance: this.movingVar.dataSync() as Float32Array };
  }

  setStatistics(mean: Float32Array, variance: Float32Array): void {
    tf.dispose([this.movingMean, this.movingVar]);
    this.movingMean = tf.keep(tf.tensor1d(mean));
    this.movingVar = tf.keep(tf.tensor1d(variance));
  }
}

/** PReLU: max(0, s) + α·min(0, s), α learned per unit (initialised at 0.25 as in He et al.). */
export class PRelu implements Activation {
  private readonly alpha: Variable;
  constructor(params: ParamStore, name: string, units: number) {
    this.alpha = params.constant(`${name}/alpha`, [units], 0.25);
  }
  apply(x: Tensor): Tensor {
    return tf.add(tf.relu(x), tf.mul(this.alpha, tf.neg(tf.relu(tf.neg(x)))));
  }
}

export function createActivation(kind: ActivationKind, params: ParamStore, name: string, units: number): Activation {
  switch (kind) {
    case 'dice': return new Dice(params, name, units);
    case 'prelu': return new PRelu(params, name, units);
    case 'relu': return { apply: (x) => tf.relu(x) };
    case 'sigmoid': return { apply: (x) => tf.sigmoid(x) };
  }
}
