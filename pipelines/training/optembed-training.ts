import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadFeatureSpec } from '../../features/spec/feature-spec.js';
import { logger } from '../../infra/logger.js';
import { saveCtrModel } from '../../models/ctr-artifact/model-artifact.js';
import { calibration, type CtrMetrics } from '../../models/metrics/classification.js';
import type { OptEmbedConfig } from '../../models/optembed/optembed-config.js';
import { runOptEmbed, type FieldPruning, type OptEmbedStage } from '../../models/optembed/optembed.js';
import { evaluate } from '../../models/train/evaluate.js';
import type { EpochResult, StepProgress, TrainResult } from '../../models/train/train-ctr.js';
import { trainingReport } from '../reports/training-report.js';
import { loadSplits, trainedUntil } from './load-splits.js';
import { checkModelSpec } from '../../models/create-model.js';
import type { TrainConfig } from './train-config.js';
import { trainingRecord } from './training-record.js';

const log = logger('optembed');

export interface OptEmbedTrainingOptions {
  registry: string;
  seed?: number;
  /** Overrides of the config's `optembed` section (e.g. a smaller search for the main job). */
  optembed?: Partial<Omit<OptEmbedConfig, 'search'>> & { search?: Partial<OptEmbedConfig['search']> };
  onStageStart?: (stage: OptEmbedStage) => void;
  onStage?: (stage: OptEmbedStage, seconds: number) => void;
  onGeneration?: (generation: number, bestAuc: number) => void;
  onStep?: (p: StepProgress) => void;
  onEpoch?: (e: EpochResult) => void;
}

export interface OptEmbedTrainingResult {
  name: string;
  artifactDir: string;
  version: number;
  reportFile: string;
  retrain: TrainResult;
  test: CtrMetrics;
  fields: FieldPruning[];
  parameters: { unpruned: number; pruned: number; dense: number };
  searchValidationAuc: number;
  stageSeconds: Record<OptEmbedStage, number>;
}

/**
 * OptEmbed on a training config: supernet → search → retrain → test → the
 * pruned model published as `<name>-optembed` (row mask inside the artifact).
 */
export async function runOptEmbedTraining(config: TrainConfig, options: OptEmbedTrainingOptions): Promise<OptEmbedTrainingResult> {
  const seed = options.seed ?? config.model.seed;
  const settings = { ...config.optembed, ...options.optembed, search: { ...config.optembed.search, ...options.optembed?.search } };
  const spec = loadFeatureSpec(config.features);
  checkModelSpec(config.model.type, spec);
  const splits = await loadSplits(config.source, spec);
  const [train, validation, test] = [splits.train, splits.validation, splits.test].map((x) => splits.encoder.encode(x)) as [ReturnType<typeof splits.encoder.encode>, ReturnType<typeof splits.encoder.encode>, ReturnType<typeof splits.encoder.encode>];
  options.onStageStart?.('supernet');
  const result = runOptEmbed(splits.encoder, { ...config.model, seed }, train, validation, {
    ...settings,
    training: { ...config.training, onStep: options.onStep, onEpoch: options.onEpoch },
    onStage: (stage, seconds) => {
      log.info({ stage, seconds }, 'OptEmbed stage done');
      options.onStage?.(stage, seconds);
      if (stage !== 'retrain') options.onStageStart?.(stage === 'supernet' ? 'search' : 'retrain');
    },
    onGeneration: options.onGeneration,
  });
  const { model } = result;
  try {
    const { probabilities, ...testMetrics } = evaluate(model, test);
    const name = `${config.name}-optembed`;
    const { dir, manifest } = await saveCtrModel(model, {
      registry: options.registry,
      name,
      metrics: { validation_auc: result.retrain.best.auc, test_auc: testMetrics.auc, test_gauc: testMetrics.gauc, test_logloss: testMetrics.logloss },
      trainedUntil: trainedUntil(splits),
      extra: {
        source: config.source,
        optembed: { settings, fields: result.fields, parameters: result.parameters, thresholds: result.supernet.thresholds, searchValidationAuc: result.search.fitness, stageSeconds: result.stageSeconds },
      },
      training: trainingRecord(config.source, seed, config.training, result.retrain),
    });
    const reportFile = path.join(dir, '..', `report-v${manifest.version}.html`);
    await mkdir(path.dirname(reportFile), { recursive: true });
    await writeFile(reportFile, trainingReport({
      name: `${name} v${manifest.version}`, artifactDir: dir, epochs: result.retrain.epochs, bestEpoch: result.retrain.bestEpoch,
      test: testMetrics, calibration: calibration(test.labels, probabilities),
    }));
    return {
      name, artifactDir: dir, version: manifest.version, reportFile, retrain: result.retrain, test: testMetrics, fields: result.fields,
      parameters: { ...result.parameters, dense: model.parameterCount().dense }, searchValidationAuc: result.search.fitness, stageSeconds: result.stageSeconds,
    };
  } finally {
    model.dispose();
  }
}
