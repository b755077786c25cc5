import { tf } from '../../infra/tf.js';
import type { Rng } from '../../features/math/rng.js';

export type Tensor = ReturnType<typeof tf.tensor>;
export type Variable = ReturnType<typeof tf.variable>;

/**
 * A model's dense parameters by name. Names are unique per model (they key
 * the optimizer's slots and the saved weights), so layers get a prefix.
 */
export class ParamStore {
  readonly variables = new Map<string, Variable>();
  /** Layers' non-trainable state (Dice's moving statistics), released with the variables. */
  private readonly releases: (() => void)[] = [];
  private static instances = 0;
  private readonly scope = `m${ParamStore.instances++}`;

  constructor(private readonly rng: Rng) {}

  /** Glorot-uniform kernel, deterministic from the model's seed. */
  glorot(name: string, fanIn: number, fanOut: number): Variable {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const values = new Float32Array(fanIn * fanOut);
    for (let i = 0; i < values.length; i++) values[i] = (2 * this.rng.next() - 1) * limit;
    return this.add(name, tf.tensor2d(values, [fanIn, fanOut]));
  }

  constant(name: string, shape: number[], value: number): Variable {
    return this.add(name, tf.fill(shape, value));
  }

  private add(name: string, initial: Tensor): Variable {
    if (this.variables.has(name)) throw new Error(`duplicate parameter ${name}`);
    // TF.js variable names are global: scope them so two models can coexist.
    const variable = tf.variable(initial, true, `${this.scope}/${name}`);
    initial.dispose();
    this.variables.set(name, variable);
    return variable;
  }

  count(): number {
    let n = 0;
    for (const v of this.variables.values()) n += v.size;
    return n;
  }

  /** Registers a layer's release of tensors it keeps outside the variables; run by dispose(). */
  onDispose(release: () => void): void {
    this.releases.push(release);
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
    for (const release of this.releases.splice(0)) release();
  }
}
