import { defaultMovieLensDir, loadMovieLens } from '../../features/datasets/movielens.js';
import { movieLensCf } from '../../features/datasets/movielens-cf.js';
import { logger } from '../../infra/logger.js';
import { buildBipartiteGraph } from '../../models/graph/bipartite-graph.js';
import { createGraphModel } from '../../models/graph/create-graph-model.js';
import { GraphModelConfigSchema, type GraphModelType, type GraphTrainingConfig } from '../../models/graph/graph-config.js';
import { saveGraphEmbeddings } from '../../models/graph/graph-artifact.js';
import { evaluateFullRanking, itemsPerUser, type RankingSummary } from '../../models/graph/full-ranking.js';
import { trainGraphModel, type GraphEpochResult } from '../../models/graph/train-graph.js';
import { cfConfigFile, loadCfConfig, type CfConfig } from './cf-config.js';

const log = logger('cf-training');

export interface CfTrainingOptions {
  model: GraphModelType;
  /** Overrides the config's model seed. */
  seed?: number;
  /** Overrides the config's maximum epochs. */
  epochs?: number;
  registry: string;
  /** A config file instead of configs/models/ml100k-<model>.json. */
  configFile?: string;
  /** A config object instead of any file (experiments). */
  config?: CfConfig;
  /** Overrides the dataset directory (else the config's, else ML100K_DIR). */
  dataDir?: string;
  onEpoch?: (e: GraphEpochResult, maxEpochs: number) => void;
}

export interface CfTrainingResult {
  config: CfConfig;
  artifactDir: string;
  version: number;
  bestEpoch: number;
  epochsRun: number;
  secondsPerEpoch: number;
  validation: RankingSummary;
  /** Recall/Precision/NDCG/F1 @10 and @20 on the test split, full ranking over items not in the user's train ∪ validation. */
  test: RankingSummary;
}

/** MovieLens-100K CF protocol → graph → BPR training with early stopping on validation → test → artifact. */
export async function runCfTraining(options: CfTrainingOptions): Promise<CfTrainingResult> {
  const base = options.config ?? loadCfConfig(options.configFile ?? cfConfigFile(options.model));
  const config: CfConfig = {
    ...base,
    model: GraphModelConfigSchema.parse({ ...base.model, type: options.model, ...(options.seed !== undefined ? { seed: options.seed } : {}) }),
    training: { ...base.training, ...(options.epochs !== undefined ? { epochs: options.epochs } : {}) } as GraphTrainingConfig,
  };
  const ml = await loadMovieLens(options.dataDir ?? config.source.dir ?? defaultMovieLensDir());
  const split = movieLensCf(ml);
  const numUsers = split.userIds.length;
  const numItems = split.itemIds.length;
  log.info({ users: numUsers, items: numItems, train: split.train.users.length, validation: split.validation.users.length, test: split.test.users.length }, 'CF split');

  const graph = buildBipartiteGraph(numUsers, numItems, split.train.users, split.train.items);
  const model = createGraphModel(config.model, graph);
  let result;
  try {
    result = trainGraphModel(model, graph, split.validation, {
      ...config.training,
      seed: config.model.seed,
      onEpoch: (e) => options.onEpoch?.(e, config.training.epochs),
    });
  } finally {
    model.dispose();
  }
  // Test ranks every item the user did not meet in train or validation.
  const test = evaluateFullRanking(result.embeddings, split.test, itemsPerUser(numUsers, split.train, split.validation), [10, 20]);
  log.info({ model: config.model.type, bestEpoch: result.bestEpoch, test }, 'test metrics');

  const { dir, manifest } = await saveGraphEmbeddings({
    registry: options.registry,
    name: config.name,
    config: config.model,
    embeddings: result.embeddings,
    userIds: split.userIds,
    itemIds: split.itemIds,
    metrics: { ...prefixed('validation', result.best), ...prefixed('test', test), seconds_per_epoch: result.secondsPerEpoch },
    trainedUntil: split.trainedUntil,
    extra: { training: config.training, bestEpoch: result.bestEpoch, epochsRun: result.epochs.length, protocol: 'ml100k-cf' },
  });
  return {
    config, artifactDir: dir, version: manifest.version, bestEpoch: result.bestEpoch, epochsRun: result.epochs.length,
    secondsPerEpoch: result.secondsPerEpoch, validation: result.best, test,
  };
}

function prefixed(prefix: string, m: RankingSummary): Record<string, number> {
  return Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'users').map(([k, v]) => [`${prefix}_${k.replace('@', '_at_')}`, v]));
}
