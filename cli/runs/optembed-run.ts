import type { TrainConfig } from '../../pipelines/training/train-config.js';
import { runOptEmbedTraining, type OptEmbedTrainingOptions, type OptEmbedTrainingResult } from '../../pipelines/training/optembed-training.js';
import { formatTable } from '../output/format-table.js';
import { trainingProgress } from '../output/training-progress.js';

/** OptEmbed with a progress bar per training stage and a line per search generation (shared by `optembed` and `start`). */
export async function optembedWithProgress(config: TrainConfig, registry: string, seed?: number, overrides?: OptEmbedTrainingOptions['optembed']): Promise<OptEmbedTrainingResult> {
  let progress: ReturnType<typeof trainingProgress> | undefined;
  const generations = overrides?.search?.generations ?? config.optembed.search.generations;
  try {
    return await runOptEmbedTraining(config, {
      registry, seed, optembed: overrides,
      onStageStart: (stage) => {
        progress?.stop();
        progress = stage === 'search' ? undefined : trainingProgress(`${config.name} ${stage}`, config.training.epochs);
        if (stage === 'search') process.stderr.write(`${config.name}: evolutionary search, ${generations} generations\n`);
      },
      onStage: (stage, seconds) => process.stderr.write(`${config.name}: ${stage} done in ${seconds.toFixed(1)} s\n`),
      onGeneration: (g, best) => process.stderr.write(`search generation ${g}/${generations}: best validation AUC ${best.toFixed(4)}\n`),
      onStep: (p) => progress?.onStep(p),
      onEpoch: (e) => progress?.onEpoch(e),
    });
  } finally {
    progress?.stop();
  }
}

export function printOptEmbedResult(r: OptEmbedTrainingResult): void {
  console.log(formatTable(['field', 'size kept', 'rows kept', 'sparsity'], r.fields.map((f) => [f.field, `${f.units}/${f.maxUnits}`, `${f.keptRows}/${f.rows}`, `${(100 * f.sparsity).toFixed(1)}%`])));
  console.log(formatTable(['model', 'embedding parameters', 'of unpruned', 'test AUC', 'GAUC', 'logloss'], [
    [r.name, r.parameters.pruned, `${((100 * r.parameters.pruned) / r.parameters.unpruned).toFixed(1)}% of ${r.parameters.unpruned}`, r.test.auc, r.test.gauc, r.test.logloss],
  ]));
  console.log(`stages: supernet ${r.stageSeconds.supernet.toFixed(1)} s, search ${r.stageSeconds.search.toFixed(1)} s, retrain ${r.stageSeconds.retrain.toFixed(1)} s`);
  console.log(`artifact: ${r.artifactDir}`);
  console.log(`report:   ${r.reportFile}`);
}

export function optembedSummary(r: OptEmbedTrainingResult): Record<string, unknown> {
  return { model: r.name, version: r.version, artifact: r.artifactDir, test: r.test, parameters: r.parameters, fields: r.fields, stageSeconds: r.stageSeconds, searchValidationAuc: r.searchValidationAuc };
}
