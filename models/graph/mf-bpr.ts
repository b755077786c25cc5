import { createRng } from '../../features/math/rng.js';
import type { GraphModelConfig } from './graph-config.js';
import { normalVariable, type GraphModel } from './graph-model.js';
import { HostBackedVariable, registerHostTable } from './host-table.js';

/** Matrix factorisation with BPR (Rendle et al., 2009): the layer-0 embeddings are the representations. */
export function createMfBpr(config: GraphModelConfig, numUsers: number, numItems: number): GraphModel {
  const table = new HostBackedVariable(normalVariable(createRng(config.seed).fork(1), numUsers + numItems, config.dim, config.initStd));
  const model: GraphModel = {
    config, numUsers, numItems,
    get embedding() { return table.current(); },
    get variables() { return [table.current()]; },
    forward: () => table.current(),
    dispose: () => table.dispose(),
  };
  registerHostTable(model, table, { tableOnly: true });
  return model;
}
