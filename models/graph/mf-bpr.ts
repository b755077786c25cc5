import { tf } from '../../infra/tf.js';
import { createRng } from '../../features/math/rng.js';
import type { Variable } from '../layers/params.js';
import type { GraphModelConfig } from './graph-config.js';
import { normalVariable, type GraphModel } from './graph-model.js';

/**
 * A host copy of MF-BPR's table that the off-tape training step updates in
 * place. While `stale`, the variable lags behind it; reading the model's
 * `embedding`, `variables` or `forward()` refreshes it first. Copying the
 * whole table into TensorFlow after every step cost more than a lazy-Adam
 * step at batch 1024 on the 1M-interaction graph.
 */
export interface HostTable {
  values: Float32Array;
  stale: boolean;
}

interface MfBprInternals { variable: Variable; host?: HostTable }
const internals = new WeakMap<GraphModel, MfBprInternals>();

/** MF-BPR's host table, copied from the variable on first use. */
export function hostTable(model: GraphModel): HostTable {
  const own = internals.get(model);
  if (!own) throw new Error(`${model.config.type}: only mf-bpr keeps a host table`);
  own.host ??= { values: (own.variable.dataSync() as Float32Array).slice(), stale: false };
  return own.host;
}

/** Refresh the variable and forget the host table (before the variable is changed on the tape, which would leave the copy behind). */
export function dropHostTable(model: GraphModel): void {
  const own = internals.get(model);
  if (!own) return;
  sync(own);
  delete own.host;
}

function sync(own: MfBprInternals): Variable {
  const { variable, host } = own;
  if (host?.stale) {
    tf.tidy(() => variable.assign(tf.tensor2d(host.values, variable.shape as [number, number])));
    host.stale = false;
  }
  return variable;
}

/** Matrix factorisation with BPR (Rendle et al., 2009): the layer-0 embeddings are the representations. */
export function createMfBpr(config: GraphModelConfig, numUsers: number, numItems: number): GraphModel {
  const own: MfBprInternals = { variable: normalVariable(createRng(config.seed).fork(1), numUsers + numItems, config.dim, config.initStd) };
  const model: GraphModel = {
    config, numUsers, numItems,
    get embedding() { return sync(own); },
    get variables() { return [sync(own)]; },
    forward: () => sync(own),
    dispose: () => {
      delete own.host;
      own.variable.dispose();
    },
  };
  internals.set(model, own);
  return model;
}
