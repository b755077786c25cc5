// DIN where attention matters (issue 22, part 3): the interest world
// (features/datasets/interest-world.ts) gives users several distinct
// interests, histories of 50–200 impressions and clicks, and a click
// probability set by the candidate's closeness to the CLOSEST interest, which
// the mean of the history blurs. On it: LR, DNN (mean-pooled history) and DIN
// (paper: unnormalised attention; softmax- and length-normalised), several
// seeds, test AUC and GAUC mean ± std, AUC by history-length bucket (where the
// gap comes from), beside the Bayes AUC (true probabilities) and the
// mean-pooled oracle's AUC. Early stopping looks at the validation split only.
//
//   npm run experiment -- interest-ctr [--models lr,dnn,din,din-softmax,din-length] [--seeds 1,2,3] [--users 300] [--items 1000] [--world-seed 7] [--fresh]
//
// Resumable: each (model, seed) is saved to results/interest-ctr/ and skipped
// next time unless its configuration (world included) changed, or --fresh.
// The world's events are written to results/interest-ctr/events.jsonl, the
// source of configs/models/interest-*.json (`recsys train` on them).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { examplesFromEvents, splitByTime } from '../../features/datasets/ctr-sources.js';
import { interestBayesReport, interestEvents, interestImpressions, resolveInterestWorldOptions, type InterestImpression } from '../../features/datasets/interest-world.js';
import { auc } from '../../features/math/auc.js';
import { loadFeatureSpec } from '../../features/spec/feature-spec.js';
import { createCtrModel } from '../../models/create-model.js';
import type { CtrModelConfigInput } from '../../models/ctr/ctr-config.js';
import type { CtrMetrics } from '../../models/metrics/classification.js';
import { evaluate } from '../../models/train/evaluate.js';
import { trainCtr } from '../../models/train/train-ctr.js';
import { loadTrainConfig } from '../../pipelines/training/train-config.js';
import { flagReader, meanOf, round } from '../lib/harness.js';
import { meanStd, pm, ResultsStore } from '../lib/results-store.js';

const fromFile = (name: string) => {
  const c = loadTrainConfig(new URL(`../../configs/models/${name}.json`, import.meta.url).pathname);
  return { model: c.model as CtrModelConfigInput, training: c.training };
};
type Variant = { label: string; model: CtrModelConfigInput; training: { epochs: number; batchSize: number; patience: number } };
const din = fromFile('interest-din');
const VARIANTS: Record<string, Variant> = {
  lr: { label: 'LR', ...fromFile('interest-lr') },
  dnn: { label: 'DNN (mean-pooled history, Dice)', ...fromFile('interest-dnn') },
  din: { label: 'DIN (paper: Dice, unnormalised attention)', ...din },
  'din-softmax': { label: 'DIN, softmax-normalised attention', model: { ...din.model, attentionNorm: 'softmax' }, training: din.training },
  'din-length': { label: 'DIN, length-normalised attention', model: { ...din.model, attentionNorm: 'length' }, training: din.training },
};

const { values: flags } = parseArgs({
  options: {
    models: { type: 'string', default: Object.keys(VARIANTS).join(',') },
    seeds: { type: 'string', default: '1,2,3' },
    users: { type: 'string', default: String(resolveInterestWorldOptions().users) },
    items: { type: 'string', default: String(resolveInterestWorldOptions().items) },
    'world-seed': { type: 'string', default: String(resolveInterestWorldOptions().seed) },
    fresh: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log(`usage: npm run experiment -- interest-ctr [--models ${Object.keys(VARIANTS).join(',')}] [--seeds 1,2,3] [--users N] [--items N] [--world-seed N] [--fresh]`);
  process.exit(0);
}
const read = flagReader(flags);
const names = flags.models.split(',').map((s) => s.trim()).filter(Boolean);
for (const n of names) if (!VARIANTS[n]) throw new Error(`unknown model ${n}; known: ${Object.keys(VARIANTS).join(', ')}`);
const seeds = flags.seeds.split(',').map((s) => {
  const seed = Number(s);
  if (!Number.isInteger(seed)) throw new Error(`--seeds must be integers, got ${s}`);
  return seed;
});
const world = resolveInterestWorldOptions({ users: read.int('users', 1), items: read.int('items', 1), seed: read.int('world-seed', 0) });

/** History-length buckets (behaviours: impressions plus clicks, at most the spec's 200). */
const BUCKETS = [{ label: '<50', lo: 0, hi: 50 }, { label: '50–100', lo: 50, hi: 100 }, { label: '100–200', lo: 100, hi: Infinity }];
const bucketOf = (length: number) => BUCKETS.findIndex((b) => length >= b.lo && length < b.hi);

interface RunResult {
  test: CtrMetrics;
  validation: CtrMetrics;
  bestEpoch: number;
  epochs: number;
  secondsPerEpoch: number;
  /** Test AUC per history-length bucket (BUCKETS order). */
  bucketAuc: number[];
}

const started = performance.now();
// Training is synchronous, so a timer would never fire: the 1-minute load is read at each epoch's end instead.
const loadSamples: number[] = [loadavg()[0]!];
const spec = loadFeatureSpec(new URL('../../configs/features/interest.json', import.meta.url).pathname);
const impressions = interestImpressions(world);
const store = new ResultsStore<RunResult>('interest-ctr');
// The configs' JSONL source: the same events the table is built from.
const eventsFile = path.join(store.dir, 'events.jsonl');
mkdirSync(store.dir, { recursive: true });
writeFileSync(eventsFile, `${[...interestEvents(world, impressions)].map((e) => JSON.stringify(e)).join('\n')}\n`);
const splits = splitByTime(spec, examplesFromEvents(spec, interestEvents(world, impressions)));
const [train, validation, test] = [splits.train, splits.validation, splits.test].map((x) => splits.encoder.encode(x)) as [ReturnType<typeof splits.encoder.encode>, ReturnType<typeof splits.encoder.encode>, ReturnType<typeof splits.encoder.encode>];

// The truth of the test examples: impressions by event id (clicks are not examples).
const truth = new Map<string, InterestImpression>(impressions.map((x) => [x.event.event_id, x]));
const testTruth = splits.test.map((e) => truth.get(e.event.event_id)!);
const bayes = interestBayesReport(testTruth);
const testBucket = splits.test.map((e) => bucketOf(e.history.length));
const testLabels = Array.from(test.labels);
const byBucket = (scores: ArrayLike<number>): number[] => BUCKETS.map((_, b) => {
  const rows = testBucket.flatMap((x, i) => (x === b ? [i] : []));
  return rows.length === 0 ? NaN : auc(rows.map((i) => testLabels[i]!), rows.map((i) => scores[i]!));
});
const bucketCounts = BUCKETS.map((_, b) => testBucket.filter((x) => x === b).length);
const bayesByBucket = byBucket(testTruth.map((x) => x.probability));
const blurredByBucket = byBucket(testTruth.map((x) => x.blurred));
const meanHistory = splits.test.reduce((a, e) => a + e.history.length, 0) / splits.test.length;
console.log(`interest world: ${world.users} users, ${world.items} items, ${world.categories} categories, ${impressions.length} impressions; ${train.size} train, ${validation.size} validation, ${test.size} test examples`);
console.log(`test: click rate ${bayes.clickRate.toFixed(3)}, mean history ${meanHistory.toFixed(0)} behaviours; Bayes AUC ${bayes.bayesAuc.toFixed(4)}, mean-pooled oracle AUC ${bayes.blurredAuc.toFixed(4)}`);


const results: Record<string, RunResult[]> = {};
for (const name of names) {
  const variant = VARIANTS[name]!;
  for (const seed of seeds) {
    const config = { world, model: { ...variant.model, seed }, training: variant.training };
    let result = flags.fresh ? undefined : store.get(name, seed, config);
    if (result) console.log(`${name} seed ${seed}: saved (test AUC ${result.test.auc.toFixed(4)})`);
    else {
      const m = createCtrModel(splits.encoder, config.model);
      try {
        if (m.config.mbaLambda > 0) m.fitRowCounts([train]);
        const t = trainCtr(m, train, validation, {
          ...variant.training, seed,
          onEpoch: (e) => loadSamples.push(loadavg()[0]!) && console.log(`  ${name} seed ${seed} epoch ${e.epoch}: train ${e.trainLoss.toFixed(4)} validation AUC ${e.validation.auc.toFixed(4)} (${e.seconds.toFixed(1)} s)`),
        });
        const { probabilities, ...metrics } = evaluate(m, test);
        result = {
          test: metrics, validation: t.best, bestEpoch: t.bestEpoch, epochs: t.epochs.length,
          secondsPerEpoch: t.epochs.reduce((a, e) => a + e.seconds, 0) / t.epochs.length, bucketAuc: byBucket(probabilities),
        };
      } finally {
        m.dispose();
      }
      store.put(name, seed, config, result);
      console.log(`${name} seed ${seed}: test AUC ${result.test.auc.toFixed(4)} GAUC ${result.test.gauc.toFixed(4)}; by history length ${BUCKETS.map((b, i) => `${b.label} ${result!.bucketAuc[i]!.toFixed(4)}`).join(', ')}`);
    }
    (results[name] ??= []).push(result);
  }
}

const f4 = (x: number) => (Number.isNaN(x) ? '—' : x.toFixed(4));
console.log(`\n| model | test AUC | test GAUC | test logloss | validation AUC | best epoch | s/epoch |`);
console.log(`|---|---|---|---|---|---|---|`);
for (const name of names) {
  const rs = results[name]!;
  console.log(`| ${VARIANTS[name]!.label} | ${pm(rs.map((r) => r.test.auc))} | ${pm(rs.map((r) => r.test.gauc))} | ${pm(rs.map((r) => r.test.logloss))} | ${pm(rs.map((r) => r.validation.auc))} | ${rs.map((r) => r.bestEpoch).join(', ')} | ${meanStd(rs.map((r) => r.secondsPerEpoch)).mean.toFixed(1)} |`);
}
console.log(`| Bayes (true probabilities) | ${f4(bayes.bayesAuc)} | | | | | |`);
console.log(`| mean-pooled oracle | ${f4(bayes.blurredAuc)} | | | | | |`);
console.log(`\nTest AUC by history length (behaviours: impressions + clicks, capped at ${spec.behaviour.maxLength}):`);
console.log(`| model | ${BUCKETS.map((b, i) => `${b.label} (${bucketCounts[i]})`).join(' | ')} |`);
console.log(`|---|${BUCKETS.map(() => '---').join('|')}|`);
for (const name of names) console.log(`| ${VARIANTS[name]!.label} | ${BUCKETS.map((_, b) => pm(results[name]!.map((r) => r.bucketAuc[b]!))).join(' | ')} |`);
console.log(`| Bayes | ${bayesByBucket.map(f4).join(' | ')} |`);
console.log(`| mean-pooled oracle | ${blurredByBucket.map(f4).join(' | ')} |`);
const minutes = (performance.now() - started) / 60_000;
const machine = { mean: round(meanOf(loadSamples), 1), max: round(Math.max(...loadSamples), 1) };
console.log(`(${seeds.length} seeds: ${seeds.join(', ')}; mean ± sample std; results in ${store.dir}; ${minutes.toFixed(1)} min, 1-min load at epoch ends (trials run now) mean ${machine.mean} max ${machine.max})`);

const summary = Object.fromEntries(names.map((n) => [n, {
  auc: meanStd(results[n]!.map((r) => r.test.auc)), gauc: meanStd(results[n]!.map((r) => r.test.gauc)),
  logloss: meanStd(results[n]!.map((r) => r.test.logloss)), validationAuc: meanStd(results[n]!.map((r) => r.validation.auc)),
  bucketAuc: Object.fromEntries(BUCKETS.map((b, i) => [b.label, meanStd(results[n]!.map((r) => r.bucketAuc[i]!))])),
  secondsPerEpoch: meanStd(results[n]!.map((r) => r.secondsPerEpoch)).mean,
}]));
// The issue's target, DIN ≥ DNN + 0.01 AUC, for each DIN variant run.
const meanAuc = (n: string) => meanStd(results[n]!.map((r) => r.test.auc)).mean;
const dinMinusDnnAuc = results.dnn ? Object.fromEntries(names.filter((n) => n.startsWith('din')).map((n) => [n, round(meanAuc(n) - meanAuc('dnn'), 4)])) : null;
console.log(JSON.stringify({
  experiment: 'interest-ctr', world, seeds,
  examples: { train: train.size, validation: validation.size, test: test.size },
  bayesAuc: bayes.bayesAuc, meanPooledOracleAuc: bayes.blurredAuc, testClickRate: bayes.clickRate,
  buckets: BUCKETS.map((b, i) => ({ label: b.label, examples: bucketCounts[i], bayesAuc: bayesByBucket[i], meanPooledOracleAuc: blurredByBucket[i] })),
  results: summary, dinMinusDnnAuc, minutes: round(minutes, 1), load: machine.mean, loadMax: machine.max,
}));
