import { ValidationError } from '../../infra/errors.js';
import { formatIssues } from '../../infra/config.js';
import type { BipartiteGraph } from './bipartite-graph.js';
import { GraphModelConfigSchema, type GraphModelOptions } from './graph-config.js';
import type { GraphModel } from './graph-model.js';
import { createLightGcn } from './lightgcn.js';
import { createMfBpr } from './mf-bpr.js';
import { createSheafGnn } from './sheaf-gnn.js';

/** Validates the options once and builds the model on the training graph. */
export function createGraphModel(options: GraphModelOptions, graph: BipartiteGraph): GraphModel {
  const parsed = GraphModelConfigSchema.safeParse(options);
  if (!parsed.success) throw new ValidationError('invalid graph model config', formatIssues(parsed.error));
  const config = parsed.data;
  switch (config.type) {
    case 'mf-bpr': return createMfBpr(config, graph.numUsers, graph.numItems);
    case 'lightgcn': return createLightGcn(config, graph);
    case 'sheaf-scalar':
    case 'sheaf-matrix': return createSheafGnn(config, graph);
  }
}
