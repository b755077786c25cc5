import { cfSplit, type CfSplit } from '../../features/interactions/cf-split.js';
import { logger } from '../../infra/logger.js';
import { buildBipartiteGraph } from '../../models/graph/bipartite-graph.js';
import { createGraphModel } from '../../models/graph/create-graph-model.js';
import { GraphModelConfigSchema, type GraphModelType, type GraphTrainingConfig } from '../../models/graph/graph-config.js';
import { saveGraphEmbeddings } from '../../models/graph/graph-artifact.js';
import { evaluateFullRanking, itemsPerUser, type RankingSummary } from '../../models/graph/full-ranking.js';
import { trainGraphModel, type GraphEpochResult } from '../../models/graph/train-graph.js';
import { CfConfigSchema, cfConfigFile, loadCfConfig, type CfConfig, type CfSource } from './cf-config.js';
import { ValidationError } from '../../infra/errors.js';
import { loadCfData } from './cf-sources.js';

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
  /** Replaces the config's registry name. */
  name?: string;
  /** Replaces the config's source. */
  source?: CfSource;
  /** Overrides a MovieLens source's directory (else the config's, else ML100K_DIR). */
  dataDir?: string;
  /**
   * Train on everything: the epoch count is chosen by early stopping on a
   * validation tail (the last 10% of each user's positives), then the model
   * is retrained on all positives for that many epochs and published, so the
   * served model has seen the newest data. No test metrics.
   */
  production?: boolean;
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
  /** Recall/Precision/NDCG/F1 @10 and @20 on the test split, full ranking over items not in the user's train ∪ validation, of the published model (retrained on train ∪ validation unless training.retrain is false); none in a production run. */
  test?: RankingSummary;
  /** The same for the early-stopped model (trained on train only), when the published one was retrained. */
  earlyStoppedTest?: RankingSummary;
  users: number;
  items: number;
  positives: number;
}

/**
 * Interactions → per-user time split → graph → BPR training with early
 * stopping on validation → retrain on train ∪ validation for that many
 * epochs (training.retrain) → test → artifact. A production run retrains on
 * everything instead and has no test.
 */
export async function runCfTraining(options: CfTrainingOptions): Promise<CfTrainingResult> {
  const config = resolveCfConfig(options);
  const source = config.source;
  const data = await loadCfData(source);
  const known = { userIds: data.userIds, itemIds: data.itemIds };
  const split = cfSplit(data.positives, { ...known, ...(options.production ? { testFraction: 0 } : {}) });
  const numUsers = split.userIds.length;
  const numItems = split.itemIds.length;
  log.info({ source: data.describe, positives: data.positives.length, users: numUsers, items: numItems, train: split.train.users.length, validation: split.validation.users.length, test: split.test.users.length }, 'CF split');
  if (split.validation.users.length === 0) {
    log.warn('no user has enough positives for a validation tail: early stopping follows the training loss');
  }

  const selected = train(config, split, options);
  let published = selected.embeddings;
  let userIds = split.userIds;
  let itemIds = split.itemIds;
  let trainedUntil = split.trainedUntil;
  let test: RankingSummary | undefined;
  let earlyStoppedTest: RankingSummary | undefined;
  if (options.production) {
    // The served model sees every positive, for the epoch count validation chose.
    const all = cfSplit(data.positives, { ...known, testFraction: 0, validationFraction: 0 });
    log.info({ epochs: selected.bestEpoch, positives: all.train.users.length }, 'production: retraining on everything');
    const final = train({ ...config, training: { ...config.training, epochs: selected.bestEpoch, evalEvery: selected.bestEpoch } }, all, options);
    ({ userIds, itemIds, trainedUntil } = all);
    published = final.embeddings;
  } else {
    // Test ranks every item the user did not meet in train or validation.
    const exclude = itemsPerUser(numUsers, split.train, split.validation);
    test = evaluateFullRanking(selected.embeddings, split.test, exclude, [10, 20]);
    log.info({ model: config.model.type, bestEpoch: selected.bestEpoch, test }, 'test metrics (early-stopped)');
    if (config.training.retrain ?? true) {
      // As the published CTR models: the validation tail is the newest data, so the tested and published model is refitted with it.
      earlyStoppedTest = test;
      const merged = cfSplit(data.positives, { ...known, validationFraction: 0 });
      log.info({ epochs: selected.bestEpoch, positives: merged.train.users.length }, 'retraining on train ∪ validation');
      const final = train({ ...config, training: { ...config.training, epochs: selected.bestEpoch, evalEvery: selected.bestEpoch } }, merged, options);
      published = final.embeddings;
      trainedUntil = merged.trainedUntil;
      test = evaluateFullRanking(final.embeddings, merged.test, exclude, [10, 20]);
      log.info({ model: config.model.type, epochs: selected.bestEpoch, test }, 'test metrics (retrained)');
    }
  }

  const { dir, manifest } = await saveGraphEmbeddings({
    registry: options.registry,
    name: config.name,
    config: config.model,
    embeddings: published,
    userIds,
    itemIds,
    metrics: { ...prefixed('validation', selected.best), ...(test ? prefixed('test', test) : {}), ...(earlyStoppedTest ? prefixed('early_stopped_test', earlyStoppedTest) : {}), seconds_per_epoch: selected.secondsPerEpoch },
    trainedUntil,
    extra: { training: config.training, bestEpoch: selected.bestEpoch, epochsRun: selected.epochs.length, source: source.kind, production: options.production ?? false, retrained: earlyStoppedTest !== undefined },
  });
  return {
    config, artifactDir: dir, version: manifest.version, bestEpoch: selected.bestEpoch, epochsRun: selected.epochs.length,
    secondsPerEpoch: selected.secondsPerEpoch, validation: selected.best, ...(test ? { test } : {}), ...(earlyStoppedTest ? { earlyStoppedTest } : {}),
    users: numUsers, items: numItems, positives: data.positives.length,
  };
}

/** The config a run with these options trains: the file (or object) with the options' overrides and the source's training defaults. */
export function resolveCfConfig(options: Pick<CfTrainingOptions, 'model' | 'seed' | 'epochs' | 'configFile' | 'config' | 'name' | 'source' | 'dataDir'>): CfConfig {
  const base = options.config ?? loadCfConfig(options.configFile ?? cfConfigFile(options.model));
  let source = options.source ?? base.source;
  if (options.dataDir && source.kind === 'movielens') source = { ...source, dir: options.dataDir };
  return {
    ...base,
    name: options.name === undefined ? base.name : parseName(options.name),
    source,
    model: GraphModelConfigSchema.parse({ ...base.model, type: options.model, ...(options.seed !== undefined ? { seed: options.seed } : {}) }),
    training: { ...streamTrainingDefaults(source), ...definedOnly(base.training), ...(options.epochs !== undefined ? { epochs: options.epochs } : {}) } as GraphTrainingConfig,
  };
}

function train(config: CfConfig, split: CfSplit, options: CfTrainingOptions) {
  const graph = buildBipartiteGraph(split.userIds.length, split.itemIds.length, split.train.users, split.train.items);
  const model = createGraphModel(config.model, graph);
  try {
    return trainGraphModel(model, graph, split.validation, {
      ...config.training,
      seed: config.model.seed,
      onEpoch: (e) => options.onEpoch?.(e, config.training.epochs),
    });
  } finally {
    model.dispose();
  }
}

/**
 * The training defaults that depend on where the positives come from (a
 * config's own values win). MovieLens: uniform negatives, every validation
 * check counts (the settings the ML-100K figures were tuned with). Event
 * logs and interaction files: the product chose what to show, mostly
 * popular items, so the positives carry exposure and the newest of them
 * (the validation tail) reward popularity. On the synthetic world, whose
 * true click probabilities are known (bench/experiments/retrieval-truth.ts,
 * default world), early stopping on validation NDCG@20 stopped at epochs
 * 6–22 and no graph model beat popularity; with negatives ∝ (degree + 1)^0.75
 * (exposure taken out of the score as word2vec's unigram^0.75 negatives take
 * out frequency) validation NDCG@20 falls from epoch 4 while recall of the
 * true top 50 rises to epoch ~40, so no epoch is selected before 40. Both
 * together: LightGCN +0.0116 recall over popularity; the negatives alone
 * (stopped at epoch 4) −0.0031, minEpochs alone +0.0007 (not significant).
 */
export function streamTrainingDefaults(source: CfSource): Partial<GraphTrainingConfig> {
  return source.kind === 'movielens' ? {} : { negativeExponent: 0.75, minEpochs: 40 };
}

/** Without keys whose value is undefined, so a spread does not erase a default. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function parseName(name: string): string {
  const parsed = CfConfigSchema.shape.name.safeParse(name);
  if (!parsed.success) throw new ValidationError(`invalid model name ${JSON.stringify(name)}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

function prefixed(prefix: string, m: RankingSummary): Record<string, number> {
  return Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'users').map(([k, v]) => [`${prefix}_${k.replace('@', '_at_')}`, v]));
}
