import { tf } from '../../infra/tf.js';
import type { Variable } from '../layers/params.js';
import type { GraphModel } from './graph-model.js';

/**
 * A host copy of a graph model's layer-0 table that an off-tape training
 * step (MF-BPR's lazy Adam, LightGCN's native step) updates in place. While
 * `stale`, the variable lags behind it; reading the model's `embedding`,
 * `variables` or `forward()` refreshes it first. Copying the whole table
 * into TensorFlow after every step cost more than a lazy-Adam step at batch
 * 1024 on the 1M-interaction graph.
 */
export interface HostTable {
  values: Float32Array;
  stale: boolean;
}

/**
 * The variable and its host copy, for a model to read through `current()`.
 * While the host copy leads (from its creation, and each time a step marks
 * it stale) the variable is disposed, not kept as a second, outdated copy of
 * the table (0.5 GB at 2M nodes × 64); `current()` makes it again, under the
 * same name, from the host values. So a variable taken from `current()` is
 * valid until the next off-tape step: read the model's `embedding` or
 * `variables` afresh rather than holding them across steps.
 */
export class HostBackedVariable {
  private host: HostTable | undefined;
  private variable: Variable | undefined;
  private readonly name: string;
  private readonly shape: [number, number];
  private readonly trainable: boolean;

  constructor(variable: Variable) {
    this.variable = variable;
    this.name = variable.name;
    this.shape = variable.shape as [number, number];
    this.trainable = variable.trainable;
  }

  /** The variable, refreshed from the host copy when that is ahead (made again if it was released). */
  current(): Variable {
    const host = this.host;
    if (!this.variable) {
      // Released only while a host copy exists; the tensor reads the host values, which stay put until the next step releases the variable again.
      this.variable = tf.tidy(() => tf.variable(tf.tensor2d(host!.values, this.shape), this.trainable, this.name));
      host!.stale = false;
    } else if (host?.stale) {
      const variable = this.variable;
      tf.tidy(() => variable.assign(tf.tensor2d(host.values, this.shape)));
      host.stale = false;
    }
    return this.variable;
  }

  /** The host copy, made from the variable on first use (which then releases the variable). */
  table(): HostTable {
    if (!this.host) {
      const values = (this.current().dataSync() as Float32Array).slice();
      let stale = false;
      const release = () => this.release();
      this.host = {
        values,
        get stale() { return stale; },
        set stale(value: boolean) { stale = value; if (value) release(); },
      };
      release();
    }
    return this.host;
  }

  /** Refresh the variable and forget the host copy (before the variable is changed on the tape, which would leave the copy behind). */
  drop(): void {
    if (this.host) this.current();
    this.host = undefined;
  }

  /** The leading copy's values (the host copy's own array when there is one: read, don't keep). */
  peek(): Float32Array {
    return this.host ? this.host.values : (this.variable!.dataSync() as Float32Array);
  }

  /** Replaces the table's values, in whichever copy leads. */
  restore(values: Float32Array): void {
    if (this.host) {
      this.host.values.set(values);
      this.host.stale = true;
    } else {
      const variable = this.variable!;
      tf.tidy(() => variable.assign(tf.tensor2d(values.slice(), this.shape)));
    }
  }

  dispose(): void {
    this.host = undefined;
    this.release();
  }

  private release(): void {
    this.variable?.dispose();
    this.variable = undefined;
  }
}

const registry = new WeakMap<GraphModel, HostBackedVariable>();
/** Models whose layer-0 table is all their weights (MF-BPR, LightGCN): the table alone determines their representations. */
const tableOnly = new WeakSet<GraphModel>();

/**
 * Declares that `model` reads its layer-0 table through `backing`;
 * `tableOnly`: the table is all of the model's weights (no layer variables).
 */
export function registerHostTable(model: GraphModel, backing: HostBackedVariable, { tableOnly: only = false }: { tableOnly?: boolean } = {}): void {
  registry.set(model, backing);
  if (only) tableOnly.add(model);
}

/** The model's host table, copied from its variable on first use; throws for a model without one. */
export function hostTable(model: GraphModel): HostTable {
  const backing = registry.get(model);
  if (!backing) throw new Error(`${model.config.type}: this model keeps no host table`);
  return backing.table();
}

/** Refresh the model's variable and forget its host table; nothing for a model without one. */
export function dropHostTable(model: GraphModel): void {
  registry.get(model)?.drop();
}

/** Whether the model keeps its layer-0 table through a HostBackedVariable and has no other weights (registered with `tableOnly`: MF-BPR, LightGCN). */
export function isTableOnly(model: GraphModel): boolean {
  return registry.has(model) && tableOnly.has(model);
}

/**
 * A copy of the layer-0 table of a model that keeps it through a
 * HostBackedVariable, whichever copy leads; undefined for other models.
 * `into`, when given and of the right length, is reused.
 */
export function snapshotTable(model: GraphModel, into?: Float32Array): Float32Array | undefined {
  if (!registry.has(model)) return undefined;
  const values = registry.get(model)!.peek();
  return into && into.length === values.length ? (into.set(values), into) : values.slice();
}

/** Puts a snapshotTable copy back as the model's layer-0 table. */
export function restoreTable(model: GraphModel, values: Float32Array): void {
  const backing = registry.get(model);
  if (!backing) throw new Error(`${model.config.type}: this model keeps no host table`);
  backing.restore(values);
}
