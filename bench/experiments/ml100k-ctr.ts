// The CTR results table on MovieLens-100K (the project's protocol, see
// features/datasets/movielens-ctr.ts): LR, DNN and DIN variants, several
// seeds, mean ± std (sample std) of test AUC, GAUC and logloss, of the
// early-stopped model and of the one retrained on train ∪ validation for the
// early-stopped epoch count (what `recsys train` publishes). Early stopping
// and every choice below look at the validation split only.
//
//   npm run experiment -- ml100k-ctr [--models lr,dnn,din,...] [--seeds 1,2,3] [--fresh]
//
// Resumable: each (model, seed) is saved to results/ml100k-ctr/ when done and
// skipped next time unless its configuration changed (or --fresh).
import { parseArgs } from 'node:util';
import { loadMovieLensCtr } from '../../features/datasets/movielens-ctr.js';
import { FeatureEncoder } from '../../features/spec/feature-encoder.js';
import type { CtrModelConfigInput } from '../../models/ctr/ctr-config.js';
import { loadTrainConfig } from '../../pipelines/training/train-config.js';
import { runCtrTrial, type TrialResult } from '../lib/ctr-trial.js';
import { meanStd, pm, ResultsStore } from '../lib/results-store.js';

/** The configurations of the table; the `ml100k-*` config files are the published defaults. */
const fromFile = (name: string) => {
  const c = loadTrainConfig(new URL(`../../configs/models/${name}.json`, import.meta.url).pathname);
  return { model: c.model as CtrModelConfigInput, training: c.training };
};
const din = fromFile('ml100k-din');
// ml100k-din.json holds the attention chosen on validation (softmax started as the mean, sigmoid MLP); every DIN
// row states its attention over it. The earlier rows' unit (PReLU, glorot start) is restated so that their saved
// results' configs stay as they were (a config without attentionOutputInit has the glorot start).
const { attentionOutputInit: _, ...withoutStart } = din.model;
const earlierUnit: CtrModelConfigInput = { ...withoutStart, attentionActivation: 'prelu' };
const meanStart = { attentionNorm: 'softmax', attentionOutputInit: 'zeros' } as const;
const dinRow = (label: string, model: CtrModelConfigInput) => ({ label, model, training: din.training });
const VARIANTS: Record<string, { label: string; model: CtrModelConfigInput; training: { epochs: number; batchSize: number; patience: number } }> = {
  lr: { label: 'LR', ...fromFile('ml100k-lr') },
  dnn: { label: 'DNN (mean-pooled history, Dice)', ...fromFile('ml100k-dnn') },
  din: dinRow('DIN (paper: Dice, unnormalised attention)', { ...earlierUnit, attentionNorm: 'none' }),
  'din-prelu': dinRow('DIN, PReLU', { ...earlierUnit, activation: 'prelu', attentionNorm: 'none' }),
  'din-softmax': dinRow('DIN, softmax-normalised attention', { ...earlierUnit, attentionNorm: 'softmax' }),
  'din-length': dinRow('DIN, length-normalised attention', { ...earlierUnit, attentionNorm: 'length' }),
  'din-softmax-mean-init': dinRow('DIN, softmax attention started as the mean (output layer at 0)', { ...din.model, ...meanStart, attentionActivation: 'prelu' }),
  'din-softmax-mean-init-40-20': dinRow('DIN, softmax attention started as the mean, attention MLP 40-20', { ...din.model, ...meanStart, attentionActivation: 'prelu', attentionUnits: [40, 20] }),
  'din-softmax-mean-init-sigmoid': dinRow('DIN, softmax attention started as the mean, sigmoid attention MLP (the original code\'s)', { ...din.model, ...meanStart, attentionActivation: 'sigmoid' }),
  'din-mba-0.035': dinRow('DIN (ml100k-din.json), mini-batch aware λ 0.035', { ...din.model, mbaLambda: 0.035 }),
  'din-mba-0.07': dinRow('DIN (ml100k-din.json), mini-batch aware λ 0.07', { ...din.model, mbaLambda: 0.07 }),
};

const { values: flags } = parseArgs({
  options: {
    models: { type: 'string', default: Object.keys(VARIANTS).join(',') },
    seeds: { type: 'string', default: '1,2,3' },
    fresh: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log(`usage: npm run experiment -- ml100k-ctr [--models ${Object.keys(VARIANTS).join(',')}] [--seeds 1,2,3] [--fresh]`);
  process.exit(0);
}
const names = flags.models.split(',').map((s) => s.trim()).filter(Boolean);
for (const n of names) if (!VARIANTS[n]) throw new Error(`unknown model ${n}; known: ${Object.keys(VARIANTS).join(', ')}`);
const seeds = flags.seeds.split(',').map(Number);

type RunResult = TrialResult;

const store = new ResultsStore<RunResult>('ml100k-ctr');
const splits = await loadMovieLensCtr();
const [train, validation, test] = [splits.train, splits.validation, splits.test].map((x) => splits.encoder.encode(x)) as [ReturnType<typeof splits.encoder.encode>, ReturnType<typeof splits.encoder.encode>, ReturnType<typeof splits.encoder.encode>];
console.log(`MovieLens-100K CTR protocol: ${train.size} train, ${validation.size} validation, ${test.size} test examples`);
// The published models are retrained on train ∪ validation for the early-stopped epoch count: measured beside the early-stopped ones.
const retrainEncoder = FeatureEncoder.fit(splits.spec, [...splits.train, ...splits.validation]);
const retrain = { encoder: retrainEncoder, trainValidation: retrainEncoder.encode([...splits.train, ...splits.validation]), test: retrainEncoder.encode(splits.test) };

const results: Record<string, RunResult[]> = {};
for (const name of names) {
  const variant = VARIANTS[name]!;
  for (const seed of seeds) {
    const config = { model: { ...variant.model, seed }, training: variant.training, retrain: true };
    let result = flags.fresh ? undefined : store.get(name, seed, config);
    if (result) {
      console.log(`${name} seed ${seed}: saved (test AUC ${result.test.auc.toFixed(4)})`);
    } else {
      result = runCtrTrial(name, { encoder: splits.encoder, train, validation, test }, config.model, variant.training, seed, retrain);
      store.put(name, seed, config, result);
      console.log(`${name} seed ${seed}: test AUC ${result.test.auc.toFixed(4)} GAUC ${result.test.gauc.toFixed(4)} logloss ${result.test.logloss.toFixed(4)}; retrained on train ∪ validation: AUC ${result.retrainedTest!.auc.toFixed(4)} GAUC ${result.retrainedTest!.gauc.toFixed(4)}`);
    }
    (results[name] ??= []).push(result);
  }
}

console.log(`\n| model | test AUC | test GAUC | test logloss | retrained: test AUC | retrained: test GAUC | validation AUC | best epoch | s/epoch |`);
console.log(`|---|---|---|---|---|---|---|---|---|`);
for (const name of names) {
  const rs = results[name]!;
  const re = rs.map((r) => r.retrainedTest!);
  console.log(`| ${VARIANTS[name]!.label} | ${pm(rs.map((r) => r.test.auc))} | ${pm(rs.map((r) => r.test.gauc))} | ${pm(rs.map((r) => r.test.logloss))} | ${pm(re.map((r) => r.auc))} | ${pm(re.map((r) => r.gauc))} | ${pm(rs.map((r) => r.validation.auc))} | ${rs.map((r) => r.bestEpoch).join(', ')} | ${meanStd(rs.map((r) => r.secondsPerEpoch)).mean.toFixed(1)} |`);
}
console.log(`(${seeds.length} seeds: ${seeds.join(', ')}; mean ± sample std; results in ${store.dir})`);
const summary = Object.fromEntries(names.map((n) => [n, {
  auc: meanStd(results[n]!.map((r) => r.test.auc)), gauc: meanStd(results[n]!.map((r) => r.test.gauc)),
  logloss: meanStd(results[n]!.map((r) => r.test.logloss)), validationAuc: meanStd(results[n]!.map((r) => r.validation.auc)),
  secondsPerEpoch: meanStd(results[n]!.map((r) => r.secondsPerEpoch)).mean,
  retrained: { auc: meanStd(results[n]!.map((r) => r.retrainedTest!.auc)), gauc: meanStd(results[n]!.map((r) => r.retrainedTest!.gauc)), logloss: meanStd(results[n]!.map((r) => r.retrainedTest!.logloss)) },
}]));
console.log(JSON.stringify({ experiment: 'ml100k-ctr', seeds, results: summary }));
