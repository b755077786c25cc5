import type { CtrModelConfigInput } from '../../models/ctr/ctr-config.js';
import type { CtrMetrics } from '../../models/metrics/classification.js';
import { runOptEmbed, type FieldPruning, type OptEmbedOptions, type OptEmbedResult } from '../../models/optembed/optembed.js';
import { evaluate } from '../../models/train/evaluate.js';
import { OptEmbedConfigSchema } from '../../models/optembed/optembed-config.js';
import { trialMemory, type TrainingSettings, type TrialMemory, type TrialSplits } from './ctr-trial.js';

export interface OptEmbedTrialResult {
  test: CtrMetrics;
  validation: CtrMetrics;
  supernetValidation: CtrMetrics;
  searchValidationAuc: number;
  parameters: { dense: number; embedding: number };
  unprunedParameters: number;
  fields: FieldPruning[];
  thresholds: Record<string, number>;
  stageSeconds: { supernet: number; search: number; retrain: number };
  seconds: number;
  /** The retrained, pruned model's memory. */
  memory?: TrialMemory;
}

/** The experiment's OptEmbed settings: the config file defaults (the main job uses a smaller search). */
export const OPTEMBED_DEFAULTS: Omit<OptEmbedOptions, 'training'> = OptEmbedConfigSchema.parse({});

/** OptEmbed's three stages on one configuration and seed, measured on test. */
export function runOptEmbedTrial(
  label: string, splits: TrialSplits, model: CtrModelConfigInput, training: TrainingSettings, seed: number, options = OPTEMBED_DEFAULTS,
  /** Sees the whole result (row mask included) before the model is disposed. */
  inspect?: (result: OptEmbedResult) => void,
): OptEmbedTrialResult {
  const started = performance.now();
  const result = runOptEmbed(splits.encoder, { ...model, seed }, splits.train, splits.validation, {
    ...options,
    training: {
      ...training,
      onEpoch: (e) => console.log(`  ${label} seed ${seed} epoch ${e.epoch}: train ${e.trainLoss.toFixed(4)} validation AUC ${e.validation.auc.toFixed(4)} (${e.seconds.toFixed(1)} s)`),
    },
    onStage: (stage, seconds) => console.log(`  ${label} seed ${seed}: ${stage} done in ${seconds.toFixed(0)} s`),
    onGeneration: (g, best) => console.log(`  ${label} seed ${seed}: search generation ${g}, best validation AUC ${best.toFixed(4)}`),
  });
  try {
    inspect?.(result);
    const { probabilities: _p, ...test } = evaluate(result.model, splits.test);
    return {
      test, validation: result.retrain.best, supernetValidation: result.supernet.train.best, searchValidationAuc: result.search.fitness,
      parameters: result.model.parameterCount(), unprunedParameters: result.parameters.unpruned,
      fields: result.fields, thresholds: result.supernet.thresholds, stageSeconds: result.stageSeconds,
      seconds: (performance.now() - started) / 1000,
      memory: trialMemory(result.model),
    };
  } finally {
    result.model.dispose();
  }
}
