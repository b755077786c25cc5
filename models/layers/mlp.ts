import { tf } from '../../infra/tf.js';
import { matMulUntaped } from '../../features/embedding/index.js';
import { createActivation, isDifferentiable, type Activation, type ActivationKind, type DifferentiableActivation } from './activations.js';
import type { ParamStore, Tensor, Variable } from './params.js';

type Tensor2D = ReturnType<typeof tf.tensor2d>;

export interface DenseLayer {
  readonly kernel: Variable;
  readonly bias: Variable;
  /** Absent on the last (linear) layer. */
  readonly activation?: Activation;
}

/**
 * Dense layers with an activation after each hidden layer and a linear last
 * layer. Works on [..., in] tensors (the attention unit feeds [B, L, 4D]).
 *
 * In training, when every activation can be differentiated by hand (all of
 * ours can), the stack runs as one tf.customGrad op with a hand-written
 * backward pass: the same function, a fraction of the tape's kernels (Dice
 * alone costs the tape some forty small ops per layer).
 */
export class Mlp {
  private readonly layers: DenseLayer[] = [];
  private readonly differentiable: boolean;

  /** `outputInit: 'zeros'` starts the last layer's kernel at 0 (the stack's output is then its bias, 0, for every input). */
  constructor(params: ParamStore, name: string, inputDim: number, units: readonly number[], activation: ActivationKind, { outputInit = 'glorot' }: { outputInit?: 'glorot' | 'zeros' } = {}) {
    let fanIn = inputDim;
    units.forEach((out, i) => {
      const last = i === units.length - 1;
      this.layers.push({
        kernel: last && outputInit === 'zeros' ? params.constant(`${name}/dense${i}/kernel`, [fanIn, out], 0) : params.glorot(`${name}/dense${i}/kernel`, fanIn, out),
        bias: params.constant(`${name}/dense${i}/bias`, [out], 0),
        ...(last ? {} : { activation: createActivation(activation, params, `${name}/act${i}`, out) }),
      });
      fanIn = out;
    });
    this.differentiable = this.layers.every((layer) => !layer.activation || isDifferentiable(layer.activation));
  }

  apply(x: Tensor, training: boolean): Tensor {
    if (training && this.differentiable) return this.applyByHand(x);
    return this.applyOnTape(x, training);
  }

  /** The stack op by op, differentiated by the tape (the reference for `apply`'s hand-written gradient). */
  applyOnTape(x: Tensor, training: boolean): Tensor {
    let h = x;
    for (const { kernel, bias, activation } of this.layers) {
      const shape = h.shape;
      const flat = shape.length === 2 ? h : tf.reshape(h, [-1, shape[shape.length - 1]!]);
      let z = tf.add(tf.matMul(flat as Tensor2D, kernel as Tensor2D), bias);
      if (shape.length !== 2) z = tf.reshape(z, [...shape.slice(0, -1), kernel.shape[1]!]);
      h = activation ? activation.apply(z, training) : z;
    }
    return h;
  }

  /** After a training step: Dice layers fold in that batch's statistics. */
  commit(): void {
    for (const { activation } of this.layers) activation?.commit?.();
  }

  /** The layers' parameters, for a caller that differentiates the stack by hand. */
  get dense(): readonly DenseLayer[] {
    return this.layers;
  }

  /** Stateful activations, for saving and restoring their statistics. */
  activations(): Activation[] {
    return this.layers.flatMap((l) => (l.activation ? [l.activation] : []));
  }

  /** Training-mode forward as one custom-gradient op over the input and every parameter. */
  private applyByHand(x: Tensor): Tensor {
    const shape = x.shape;
    const layers = this.layers;
    const activations = layers.map((layer) => layer.activation as DifferentiableActivation | undefined);
    const params: Tensor[] = layers.flatMap((layer, i) => [layer.kernel, layer.bias, ...(activations[i]?.variables ?? [])]);
    const op = tf.customGrad((...args) => {
      const save = args.pop() as (tensors: Tensor[]) => void;
      const input = args[0] as Tensor;
      // The gradient may read only what is saved: the step's tidy disposes the rest before it runs.
      const kept: Tensor[] = [];
      const keep = (t: Tensor): number => kept.push(t) - 1;
      const iInputs: number[] = [];
      const iTraces: number[][] = [];
      let h = shape.length === 2 ? input : tf.reshape(input, [-1, shape[shape.length - 1]!]);
      layers.forEach((layer, i) => {
        iInputs.push(keep(h));
        const z = tf.add(matMulUntaped(h, layer.kernel), layer.bias);
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
      save(kept);
      return {
        value: shape.length === 2 ? h : tf.reshape(h, [...shape.slice(0, -1), h.shape[1]!]),
        gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
          const get = (i: number): Tensor => saved[i]!;
          const upstream = Array.isArray(dy) ? dy[0]! : dy;
          const dh = upstream.shape.length === 2 ? upstream : tf.reshape(upstream, [-1, upstream.shape[upstream.shape.length - 1]!]);
          const back = backwardDense(layers, activations, (i) => iTraces[i]!.map(get), (i) => get(iInputs[i]!), dh, 0);
          return [shape.length === 2 ? back.dh : tf.reshape(back.dh, shape), ...back.grads];
        },
      };
    });
    return op(x, ...params);
  }
}

/**
 * Backward through dense layers from the top down to `lowest` (inclusive), inside a
 * custom-gradient op: per layer, the activation's backward, then the kernel and bias
 * gradients. Returns them in layer order ([kernel, bias, ...activation] per layer)
 * and the gradient w.r.t. layer `lowest`'s input.
 */
export function backwardDense(
  layers: readonly { kernel: Tensor }[],
  activations: readonly (DifferentiableActivation | undefined)[],
  trace: (layer: number) => Tensor[],
  input: (layer: number) => Tensor,
  dy: Tensor,
  lowest: number,
): { grads: Tensor[]; dh: Tensor } {
  const grads: Tensor[] = [];
  let dh = dy;
  for (let i = layers.length - 1; i >= lowest; i--) {
    const { dz, grads: own } = activationBackward(activations[i], dh, trace(i));
    grads.unshift(matMulUntaped(input(i), dz, true, false), tf.sum(dz, 0), ...own);
    dh = matMulUntaped(dz, layers[i]!.kernel, false, true);
  }
  return { grads, dh };
}

/** Through one layer's activation (none: identity): the pre-activation gradient and the activation's own parameter gradients. */
export function activationBackward(activation: DifferentiableActivation | undefined, dh: Tensor, trace: Tensor[]): { dz: Tensor; grads: Tensor[] } {
  if (!activation) return { dz: dh, grads: [] };
  const back = activation.backward(dh, trace);
  return { dz: back.dz, grads: back.grads };
}
