import { tf } from '../../infra/tf.js';
import { createActivation, type Activation, type ActivationKind } from './activations.js';
import type { ParamStore, Tensor, Variable } from './params.js';

/**
 * Dense layers with an activation after each hidden layer and a linear last
 * layer. Works on [..., in] tensors (the attention unit feeds [B, L, 4D]).
 */
export class Mlp {
  private readonly layers: { kernel: Variable; bias: Variable; activation?: Activation }[] = [];

  constructor(params: ParamStore, name: string, inputDim: number, units: readonly number[], activation: ActivationKind) {
    let fanIn = inputDim;
    units.forEach((out, i) => {
      const last = i === units.length - 1;
      this.layers.push({
        kernel: params.glorot(`${name}/dense${i}/kernel`, fanIn, out),
        bias: params.constant(`${name}/dense${i}/bias`, [out], 0),
        ...(last ? {} : { activation: createActivation(activation, params, `${name}/act${i}`, out) }),
      });
      fanIn = out;
    });
  }

  apply(x: Tensor, training: boolean): Tensor {
    let h = x;
    for (const { kernel, bias, activation } of this.layers) {
      const shape = h.shape;
      const flat = shape.length === 2 ? h : tf.reshape(h, [-1, shape[shape.length - 1]!]);
      let z = tf.add(tf.matMul(flat as ReturnType<typeof tf.tensor2d>, kernel as ReturnType<typeof tf.tensor2d>), bias);
      if (shape.length !== 2) z = tf.reshape(z, [...shape.slice(0, -1), kernel.shape[1]!]);
      h = activation ? activation.apply(z, training) : z;
    }
    return h;
  }

  /** After a training step: Dice layers fold in that batch's statistics. */
  commit(): void {
    for (const { activation } of this.layers) activation?.commit?.();
  }

  /** Stateful activations, for saving and restoring their statistics. */
  activations(): Activation[] {
    return this.layers.flatMap((l) => (l.activation ? [l.activation] : []));
  }
}
