import { SingleBar, Presets } from 'cli-progress';
import type { GraphModelType } from '../../models/graph/graph-config.js';
import { runCfTraining, type CfTrainingOptions, type CfTrainingResult } from '../../pipelines/training/cf-training.js';

/** Graph-model training with a progress bar (shared by `train-cf` and `start`). */
export async function cfTrainingWithProgress(options: CfTrainingOptions, progress = true): Promise<CfTrainingResult> {
  const bar = new SingleBar({ format: `${options.model} [{bar}] epoch {value}/{total} | loss {loss} | val NDCG@20 {ndcg} | {sec}s/epoch`, hideCursor: true, stream: process.stderr }, Presets.shades_classic);
  let started = false;
  try {
    return await runCfTraining({
      ...options,
      onEpoch: (e, total) => {
        if (!progress) return;
        const values = { loss: e.trainLoss.toFixed(4), ndcg: e.validation ? (e.validation['ndcg@20'] ?? NaN).toFixed(4) : '-', sec: e.seconds.toFixed(2) };
        if (!started) { bar.start(total, 0, values); started = true; }
        bar.update(e.epoch, values);
      },
    });
  } finally {
    if (started) bar.stop();
  }
}

export function printCfResult(result: CfTrainingResult): void {
  const t = result.test;
  const f = (k: string) => (t?.[k] ?? NaN).toFixed(4);
  console.log(`${result.config.name}: ${result.positives} positives, ${result.users} users, ${result.items} items (source ${result.config.source.kind}); best epoch ${result.bestEpoch} of ${result.epochsRun}, ${result.secondsPerEpoch.toFixed(2)} s/epoch`);
  const e = result.earlyStoppedTest;
  if (e) console.log(`test, early-stopped (train only): NDCG@20 ${(e['ndcg@20'] ?? NaN).toFixed(4)}  Recall@20 ${(e['recall@20'] ?? NaN).toFixed(4)}`);
  if (t) console.log(`test${e ? `, retrained on train ∪ validation for ${result.bestEpoch} epochs` : ''} (${t.users} users): Recall@10 ${f('recall@10')}  Recall@20 ${f('recall@20')}  NDCG@10 ${f('ndcg@10')}  NDCG@20 ${f('ndcg@20')}  P@10 ${f('precision@10')}  F1@10 ${f('f1@10')}`);
  else console.log(`production run: retrained on every positive for ${result.bestEpoch} epochs (validation NDCG@20 ${(result.validation['ndcg@20'] ?? NaN).toFixed(4)} chose the count); no test split`);
  console.log(`artifact: ${result.artifactDir}`);
}

export function cfSummary(model: GraphModelType, result: CfTrainingResult): Record<string, unknown> {
  return {
    model, name: result.config.name, version: result.version, artifact: result.artifactDir, source: result.config.source.kind,
    positives: result.positives, users: result.users, items: result.items,
    best_epoch: result.bestEpoch, seconds_per_epoch: result.secondsPerEpoch, validation: result.validation, test: result.test ?? null, early_stopped_test: result.earlyStoppedTest ?? null,
  };
}
