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

/** The variable and its host copy, for a model to read through `current()`. */
export class HostBackedVariable {
  private host: HostTable | undefined;

  constructor(readonly variable: Variable) {}

  /** The variable, refreshed from the host copy when that is ahead. */
  current(): Variable {
    if (this.host?.stale) {
      const { variable, host } = this;
      tf.tidy(() => variable.assign(tf.tensor2d(host.values, variable.shape as [number, number])));
      host.stale = false;
    }
    return this.variable;
  }

  /** The host copy, made from the variable on first use. */
  table(): HostTable {
    this.host ??= { values: (this.variable.dataSync() as Float32Array).slice(), stale: false };
    return this.host;
  }

  /** Refresh the variable and forget the host copy (before the variable is changed on the tape, which would leave the copy behind). */
  drop(): void {
    this.current();
    this.host = undefined;
  }

  dispose(): void {
    this.host = undefined;
    this.variable.dispose();
  }
}

const registry = new WeakMap<GraphModel, HostBackedVariable>();

/** Declares that `model` reads its layer-0 table through `backing`. */
export function registerHostTable(model: GraphModel, backing: HostBackedVariable): void {
  registry.set(model, backing);
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
