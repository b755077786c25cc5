// Retrieval models on the MovieLens-100K CF protocol: MF-BPR, LightGCN, the
// sheaf GNN with scalar maps and with d×d maps, each over several seeds;
// mean ± std of the test metrics of the model retrained on train ∪
// validation for the early-stopped epoch count (what train-cf publishes),
// the early-stopped model's NDCG@20 beside it, and seconds per epoch. Settings are the
// config files configs/models/ml100k-<model>[-paper].json: the default
// (tuned on validation NDCG@20 only) and, with --paper, the paper-faithful
// ones. Resumable: each (variant, seed) is saved to results/ml100k-cf/ and
// skipped while its config's settings are unchanged.
//
//   npm run experiment -- ml100k-cf [--seeds 1,2,3] [--variants mf-bpr,lightgcn,...]
//                                   [--paper] [--paper-seeds 1] [--max-epochs N] [--fresh]
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GRAPH_MODEL_TYPES, type GraphModelType } from '../../models/graph/graph-config.js';
import { cfConfigFile, loadCfConfig } from '../../pipelines/training/cf-config.js';
import { resolveCfConfig, runCfTraining } from '../../pipelines/training/cf-training.js';
import { resumable, type CfRunRecord } from '../lib/cf-records.js';

const { values: flags } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3' },
    variants: { type: 'string' },
    paper: { type: 'boolean', default: false },
    'paper-seeds': { type: 'string', default: '1' },
    'max-epochs': { type: 'string' },
    out: { type: 'string', default: 'results/ml100k-cf' },
    registry: { type: 'string', default: 'var/experiments/ml100k-cf-registry' },
    fresh: { type: 'boolean', default: false },
  },
});

interface Variant { key: string; model: GraphModelType; file: string; seeds: number[]; label: string }

const seeds = flags.seeds.split(',').map(Number);
const paperSeeds = flags['paper-seeds'].split(',').map(Number);
const all: Variant[] = GRAPH_MODEL_TYPES.flatMap((model): Variant[] => {
  const tuned: Variant = { key: model, model, file: cfConfigFile(model), seeds, label: 'tuned on validation' };
  const paperFile = cfConfigFile(model, 'paper');
  return flags.paper && existsSync(paperFile) ? [tuned, { key: `${model}-paper`, model, file: paperFile, seeds: paperSeeds, label: 'paper' }] : [tuned];
});
const wanted = flags.variants?.split(',');
const variants = wanted ? all.filter((v) => wanted.includes(v.key)) : all;
if (flags.fresh) rmSync(flags.out, { recursive: true, force: true });
mkdirSync(flags.out, { recursive: true });

const records = new Map<string, CfRunRecord[]>();
for (const v of variants) {
  for (const seed of v.seeds) {
    const file = path.join(flags.out, `${v.key}-seed${seed}.json`);
    let record: CfRunRecord;
    const saved = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as CfRunRecord : undefined;
    const run = { model: v.model, seed, config: loadCfConfig(v.file), ...(flags['max-epochs'] ? { epochs: Number(flags['max-epochs']) } : {}) };
    if (saved && resumable(saved, resolveCfConfig(run))) {
      record = saved;
      console.log(`${v.key} seed ${seed}: resumed from ${file}`);
    } else {
      if (saved) console.log(`${v.key} seed ${seed}: ${file} was made ${saved.earlyStoppedTest ? 'with other settings' : 'before the retrain'}: running it again`);
      const started = performance.now();
      const result = await runCfTraining({
        ...run, registry: flags.registry,
        onEpoch: (e, total) => {
          if (e.validation) console.error(`  ${v.key} seed ${seed} epoch ${e.epoch}/${total} loss ${e.trainLoss.toFixed(4)} val NDCG@20 ${e.validation['ndcg@20']!.toFixed(4)} (${e.seconds.toFixed(2)} s)`);
        },
      });
      if (!result.test) throw new Error('an evaluation run returned no test metrics');
      const test = result.test;
      record = {
        variant: v.key, model: v.model, seed, config: result.config, bestEpoch: result.bestEpoch, epochsRun: result.epochsRun,
        secondsPerEpoch: result.secondsPerEpoch, validation: result.validation, test, artifactDir: result.artifactDir,
        ...(result.earlyStoppedTest ? { earlyStoppedTest: result.earlyStoppedTest } : {}),
      };
      writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
      console.log(`${v.key} seed ${seed}: test NDCG@20 ${test['ndcg@20']!.toFixed(4)} (early-stopped ${result.earlyStoppedTest?.['ndcg@20']?.toFixed(4) ?? '–'}), best epoch ${result.bestEpoch}/${result.epochsRun}, ${result.secondsPerEpoch.toFixed(2)} s/epoch, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    records.set(v.key, [...(records.get(v.key) ?? []), record]);
  }
}

const COLUMNS = [['recall@10', 'Recall@10'], ['recall@20', 'Recall@20'], ['ndcg@10', 'NDCG@10'], ['ndcg@20', 'NDCG@20'], ['precision@10', 'P@10'], ['f1@10', 'F1@10']] as const;
const stats = (xs: number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
};
const summary: Record<string, unknown> = {};
console.log(`\n| model | config | seeds | ${COLUMNS.map(([, h]) => h).join(' | ')} | early-stopped NDCG@20 | s/epoch | best epoch |`);
console.log(`|---|---|---|${COLUMNS.map(() => '---|').join('')}---|---|---|`);
for (const v of variants) {
  const runs = records.get(v.key) ?? [];
  if (runs.length === 0) continue;
  const row: Record<string, { mean: number; std: number }> = {};
  for (const [key] of COLUMNS) row[key] = stats(runs.map((r) => r.test[key]!));
  row.seconds_per_epoch = stats(runs.map((r) => r.secondsPerEpoch));
  row.validation_ndcg_at_20 = stats(runs.map((r) => r.validation['ndcg@20']!));
  const early = runs.filter((r) => r.earlyStoppedTest).map((r) => r.earlyStoppedTest!['ndcg@20']!);
  if (early.length === runs.length) row.early_stopped_ndcg_at_20 = stats(early);
  const cfg = runs[0]!.config as {
    model: { layers: number; stalkDim: number; mapBias?: number; kernelInit?: string };
    training: { epochs: number; learningRate: number; layerLearningRate?: number; batchSize: number; decay: number };
  };
  const parts = [
    v.model === 'mf-bpr' ? '' : `${cfg.model.layers} layers`,
    v.model === 'sheaf-matrix' ? `d=${cfg.model.stalkDim} × ${64 / cfg.model.stalkDim} channels` : '',
    cfg.model.mapBias ? `map bias ${cfg.model.mapBias}` : '',
    cfg.model.kernelInit === 'identity' ? 'W₀ = I' : '',
    `lr ${cfg.training.learningRate}`,
    cfg.training.layerLearningRate !== undefined ? `layer lr ${cfg.training.layerLearningRate}` : '',
    `batch ${cfg.training.batchSize}`,
    `L2 ${cfg.training.decay}`,
    `≤ ${cfg.training.epochs} epochs`,
  ];
  const configText = `${v.label}: ${parts.filter(Boolean).join(', ')}`;
  const fmt = (s: { mean: number; std: number }, digits = 4) => `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`;
  console.log(`| ${v.key} | ${configText} | ${runs.map((r) => r.seed).join(',')} | ${COLUMNS.map(([k]) => fmt(row[k]!)).join(' | ')} | ${row.early_stopped_ndcg_at_20 ? fmt(row.early_stopped_ndcg_at_20) : '– (not retrained)'} | ${fmt(row.seconds_per_epoch!, 2)} | ${runs.map((r) => r.bestEpoch).join(', ')} |`);
  summary[v.key] = { seeds: runs.map((r) => r.seed), config: configText, ...row, best_epochs: runs.map((r) => r.bestEpoch) };
}
console.log(JSON.stringify({ experiment: 'ml100k-cf', results: summary }));
