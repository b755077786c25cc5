// Embedding compression where the vocabulary is large (issue 22, part 4): the
// long-tail world (features/datasets/longtail-world.ts: 10 Zipf fields, 2.1M
// ids, every id with its own effect) under per-field full-vocabulary tables,
// Unified Embedding (one shared table, 4 probes of 4 per field) and the
// hashing trick at ½, ¼ and ⅛ of the per-field parameters, each with DNN and
// DIN; then OptEmbed (supernet → evolutionary search → retrain) on the
// per-field tables, with the frequency profile of the rows it prunes. Early
// stopping and OptEmbed's search look at the validation split only; the
// tables report test metrics.
//
//   npm run experiment -- longtail-compression [--examples 1000000] [--vocab-scale 1] [--models dnn,din] [--budgets 2,4,8]
//     [--layouts per-field,unified,hashed] [--parts layouts,optembed] [--optembed-models dnn] [--seeds 1,2,3] [--epochs 2] [--optembed-epochs 2] [--fresh] [--report-only]
//
// A small run (a couple of minutes on an idle machine):
//   npm run experiment -- longtail-compression --examples 100000 --vocab-scale 0.1 --seeds 1 --models dnn --budgets 4
//
// Resumable: each (configuration, seed) is saved to results/longtail-compression/
// and skipped next time unless its configuration (world included) changed,
// or --fresh. Writes results/longtail-compression/report.md.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildLongtailWorld, encodeLongtail, HISTORY_FIELD, LONGTAIL_FIELDS, longtailEncoder, longtailExamples, longtailReport, sliceLongtail,
} from '../../features/datasets/longtail-world.js';
import type { EncodedBatch } from '../../features/spec/feature-encoder.js';
import { createCtrModel } from '../../models/create-model.js';
import type { CtrModelConfigInput, LayoutConfig } from '../../models/ctr/ctr-config.js';
import type { OptEmbedResult } from '../../models/optembed/optembed.js';
import { runCtrTrial, type TrainingSettings, type TrialResult, type TrialSplits } from '../lib/ctr-trial.js';
import { flagReader, round } from '../lib/harness.js';
import { OPTEMBED_DEFAULTS, runOptEmbedTrial, type OptEmbedTrialResult } from '../lib/optembed-trial.js';
import { meanStd, pm, ResultsStore } from '../lib/results-store.js';

const MODELS = ['dnn', 'din'] as const;
type ModelName = (typeof MODELS)[number];
const LAYOUTS = ['per-field', 'unified', 'hashed'] as const;
const LABELS: Record<string, string> = { 2: '½', 4: '¼', 8: '⅛' };
const DIM = 16;
/** Unified Embedding: 4 chunks of 4 per field, so every field's output is 16 wide as with per-field tables and the dense network is the same. */
const CHUNK_DIM = 4;
const CHUNKS = 4;
/** Training-count buckets of the pruned-row profile: [lo, hi]. */
const FREQUENCY_BUCKETS: [number, number][] = [[1, 1], [2, 3], [4, 15], [16, 63], [64, 255], [256, Number.POSITIVE_INFINITY]];

const { values: flags } = parseArgs({
  options: {
    examples: { type: 'string', default: '1000000' },
    'vocab-scale': { type: 'string', default: '1' },
    'world-seed': { type: 'string', default: '11' },
    models: { type: 'string', default: MODELS.join(',') },
    budgets: { type: 'string', default: '2,4,8' },
    layouts: { type: 'string', default: LAYOUTS.join(',') },
    parts: { type: 'string', default: 'layouts,optembed' },
    'optembed-models': { type: 'string', default: 'dnn' },
    seeds: { type: 'string', default: '1,2,3' },
    epochs: { type: 'string', default: '2' },
    'optembed-epochs': { type: 'string', default: '2' },
    'batch-size': { type: 'string', default: '1024' },
    'embedding-lr': { type: 'string', default: '0.01' },
    'search-population': { type: 'string', default: '10' },
    'search-generations': { type: 'string', default: '5' },
    'search-examples': { type: 'string', default: '30000' },
    'threshold-init': { type: 'string', default: '0' },
    // OptEmbed prunes rows by their L1 norm: with the default init (±1/√dim, an L1 norm near √dim/2 = 2) a row
    // trained once or never keeps that norm and looks bigger than a trained one that MBA has shrunk, so the norm
    // says nothing about frequency. Rows that start near zero grow only as far as training pushes them.
    'optembed-init-scale': { type: 'string', default: '0.01' },
    fresh: { type: 'boolean', default: false },
    /** Tables from the saved results alone: configurations not saved yet are left out, not run. */
    'report-only': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log('usage: npm run experiment -- longtail-compression [--examples 1000000] [--vocab-scale 1] [--world-seed 11] [--models dnn,din] [--budgets 2,4,8] [--layouts per-field,unified,hashed] [--parts layouts,optembed] [--optembed-models dnn] [--seeds 1,2,3] [--epochs 2] [--optembed-epochs 2] [--batch-size 1024] [--embedding-lr 0.01] [--search-population 10] [--search-generations 5] [--search-examples 30000] [--threshold-init 0] [--optembed-init-scale 0.01] [--fresh] [--report-only]');
  process.exit(0);
}
const read = flagReader(flags);
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const oneOf = <T extends string>(name: string, values: string[], allowed: readonly T[]): T[] => {
  for (const v of values) if (!allowed.includes(v as T)) throw new Error(`--${name}: unknown ${v}; known: ${allowed.join(', ')}`);
  return values as T[];
};
const models = oneOf('models', list(flags.models), MODELS);
const optembedModels = oneOf('optembed-models', list(flags['optembed-models']), MODELS);
const layouts = new Set(oneOf('layouts', list(flags.layouts), LAYOUTS));
const parts = new Set(oneOf('parts', list(flags.parts), ['layouts', 'optembed'] as const));
const budgets = list(flags.budgets).map((b) => {
  const n = Number(b);
  if (!Number.isInteger(n) || n < 2) throw new Error(`--budgets: each is a divisor ≥ 2 of the per-field parameters (2 = ½), got ${b}`);
  return n;
});
const seeds = list(flags.seeds).map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n)) throw new Error(`--seeds: integers, got ${s}`);
  return n;
});
const scale = read.positive('vocab-scale');
const worldOptions = {
  seed: read.int('world-seed', 0),
  examples: read.int('examples', 1000),
  fields: LONGTAIL_FIELDS.map((f) => ({ ...f, vocabulary: Math.max(1, Math.round(f.vocabulary * scale)) })),
};
const training: TrainingSettings = { epochs: read.int('epochs', 1), batchSize: read.int('batch-size', 1), patience: 1 };
/** OptEmbed's supernet, retraining and unpruned reference. */
const optembedTraining: TrainingSettings = { ...training, epochs: read.int('optembed-epochs', 1) };
const trainingOf = (v: { kind: string }): TrainingSettings => (v.kind.startsWith('optembed') ? optembedTraining : training);
const embeddingLearningRate = read.positive('embedding-lr');
const optembedInitScale = read.positive('optembed-init-scale');
const optembedOptions = {
  ...OPTEMBED_DEFAULTS,
  search: { ...OPTEMBED_DEFAULTS.search, population: read.int('search-population', 1), generations: read.int('search-generations', 1), topK: Math.min(OPTEMBED_DEFAULTS.search.topK, read.int('search-population', 1)) },
  searchExamples: read.int('search-examples', 1),
  thresholdInit: read.number('threshold-init'),
};
const started = performance.now();

// The world and its splits: 80% train, 10% validation, 10% test (i.i.d. draws).
const world = buildLongtailWorld(worldOptions);
const all = longtailExamples(world);
const n = all.size;
const [trainSet, validationSet, testSet] = [sliceLongtail(all, 0, Math.floor(0.8 * n)), sliceLongtail(all, Math.floor(0.8 * n), Math.floor(0.9 * n)), sliceLongtail(all, Math.floor(0.9 * n), n)];
const encoder = longtailEncoder(world, trainSet);
const [train, validation, test] = [trainSet, validationSet, testSet].map((s) => encodeLongtail(world, encoder, s)) as [EncodedBatch, EncodedBatch, EncodedBatch];
const splits: TrialSplits = { encoder, train, validation, test };
const worldIds = world.options.fields.reduce((s, f) => s + f.vocabulary, 0);
const bayes = { all: longtailReport(world, all), train: longtailReport(world, trainSet), test: longtailReport(world, testSet), validation: longtailReport(world, validationSet) };
const tableRows = Object.fromEntries(world.options.fields.map((f) => [f.name, encoder.cardinality(f.name)!]));
console.log(`long-tail world (seed ${world.options.seed}): ${world.options.fields.length} fields, ${worldIds} ids (${bayes.all.distinctIds} occur in the ${n} examples, ${bayes.train.distinctIds} in train); click rate ${bayes.all.clickRate.toFixed(3)}`);
console.log(`Bayes AUC (true probability as the score): test ${bayes.test.bayesAuc.toFixed(4)}, validation ${bayes.validation.bayesAuc.toFixed(4)}; a random score's is 0.5`);
console.log(`per-field table rows (ids seen in training + pad + unknown): ${Object.entries(tableRows).map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`${train.size} train, ${validation.size} validation, ${test.size} test examples (${((performance.now() - started) / 1000).toFixed(0)} s to build)`);

interface Variant {
  name: string;
  model: ModelName;
  kind: 'per-field' | 'hashed' | 'unified' | 'optembed' | 'optembed-reference';
  budget?: number;
  label: string;
  config: CtrModelConfigInput;
}

const base = (model: ModelName): CtrModelConfigInput => ({
  type: model, embedding: { kind: 'per-field', dim: DIM }, embeddingLearningRate, mbaLambda: 0.05, activation: 'dice',
  // DIN's default attention is the one chosen on validation on ML-100K (configs/models/ml100k-din.json).
  ...(model === 'din' ? { attentionNorm: 'softmax' as const } : {}),
});
const variants: Variant[] = [];
for (const model of MODELS) {
  if (!models.includes(model) && !optembedModels.includes(model)) continue;
  const probe = createCtrModel(encoder, base(model));
  const full = probe.parameterCount().embedding;
  probe.dispose();
  const withLayout = (embedding: LayoutConfig): CtrModelConfigInput => ({ ...base(model), embedding });
  variants.push({ name: `${model}-per-field`, model, kind: 'per-field', label: `per-field ×${DIM} (full vocabulary)`, config: base(model) });
  for (const b of budgets) {
    const label = LABELS[b] ?? `1/${b}`;
    variants.push({ name: `${model}-unified-${b}`, model, kind: 'unified', budget: b, label: `Unified Embedding ${label}`, config: withLayout({ kind: 'unified', rows: Math.floor(full / b / CHUNK_DIM), chunkDim: CHUNK_DIM, chunks: {}, defaultChunks: CHUNKS }) });
    variants.push({ name: `${model}-hashed-${b}`, model, kind: 'hashed', budget: b, label: `hashing trick ${label}`, config: withLayout({ kind: 'hashed', rows: Math.floor(full / b / DIM), dim: DIM }) });
  }
  const small = withLayout({ kind: 'per-field', dim: DIM, init: { kind: 'uniform', scale: optembedInitScale } });
  variants.push({ name: `${model}-per-field-small-init`, model, kind: 'optembed-reference', label: `per-field ×${DIM}, rows initialised in ±${optembedInitScale} (OptEmbed's unpruned reference)`, config: small });
  variants.push({ name: `${model}-optembed`, model, kind: 'optembed', label: `OptEmbed on per-field (init ±${optembedInitScale})`, config: small });
}
const runs = (v: Variant): boolean => v.kind === 'optembed' || v.kind === 'optembed-reference'
  // OptEmbed is compared with the same tables unpruned, so those run with it.
  ? parts.has('optembed') && optembedModels.includes(v.model)
  : parts.has('layouts') && models.includes(v.model) && layouts.has(v.kind);

/** The pruned rows by how often their id occurs in training, all fields together. */
interface PruningProfile {
  buckets: { label: string; rows: number; pruned: number; occurrences: number; prunedOccurrences: number }[];
}

/** Occurrences of each model id in training, per layout field (a candidate item and its history share the item table). */
function rowCounts(batch: EncodedBatch): Map<string, Int32Array> {
  const counts = new Map<string, Int32Array>();
  for (const f of world.options.fields) {
    const c = new Int32Array(encoder.cardinality(f.name)!);
    for (const id of batch.single[f.name]!) c[id]!++;
    if (f.name === 'item') {
      const { ids, lengths, maxLength } = batch.lists[HISTORY_FIELD]!;
      for (let i = 0; i < batch.size; i++) for (let j = 0; j < lengths[i]!; j++) c[ids[i * maxLength + j]!]!++;
    }
    counts.set(f.name, c);
  }
  return counts;
}

function pruningProfile(result: OptEmbedResult): PruningProfile {
  const counts = rowCounts(train);
  const buckets = FREQUENCY_BUCKETS.map(([lo, hi]) => ({ label: hi === Number.POSITIVE_INFINITY ? `≥ ${lo}` : lo === hi ? `${lo}` : `${lo}–${hi}`, rows: 0, pruned: 0, occurrences: 0, prunedOccurrences: 0 }));
  for (const [field, keep] of result.rowMask?.keep ?? []) {
    const c = counts.get(field)!;
    keep.forEach((kept, row) => {
      const k = c[row]!;
      const b = FREQUENCY_BUCKETS.findIndex(([lo, hi]) => k >= lo && k <= hi);
      if (b < 0) return; // pad, unknown: no training occurrences of their own
      buckets[b]!.rows++;
      buckets[b]!.occurrences += k;
      if (!kept) {
        buckets[b]!.pruned++;
        buckets[b]!.prunedOccurrences += k;
      }
    });
  }
  return { buckets };
}

type Result = (TrialResult | OptEmbedTrialResult) & { profile?: PruningProfile };
const store = new ResultsStore<Result>('longtail-compression');
const keyOf = (v: Variant, seed: number) => ({ world: worldOptions, model: { ...v.config, seed }, training: trainingOf(v), kind: v.kind, ...(v.kind === 'optembed' ? { optembed: optembedOptions } : {}) });
const results = new Map<string, Result[]>();
/** The seeds each variant's results are of (--report-only may find some and not others). */
const seedsOf = new Map<string, number[]>();
for (const variant of variants) {
  if (!runs(variant)) continue;
  for (const seed of seeds) {
    const key = keyOf(variant, seed);
    let result = flags.fresh ? undefined : store.get(variant.name, seed, key);
    if (result) {
      console.log(`${variant.name} seed ${seed}: saved (test AUC ${result.test.auc.toFixed(4)})`);
    } else if (flags['report-only']) {
      console.log(`${variant.name} seed ${seed}: not saved, left out (--report-only)`);
      continue;
    } else if (variant.kind === 'optembed') {
      let profile: PruningProfile | undefined;
      const r = runOptEmbedTrial(variant.name, splits, variant.config, trainingOf(variant), seed, optembedOptions, (x) => { profile = pruningProfile(x); });
      result = { ...r, profile: profile! };
      store.put(variant.name, seed, key, result);
      console.log(`${variant.name} seed ${seed}: test AUC ${result.test.auc.toFixed(4)}, ${result.parameters.embedding} of ${r.unprunedParameters} embedding parameters (${result.seconds.toFixed(0)} s)`);
    } else {
      result = runCtrTrial(variant.name, splits, variant.config, trainingOf(variant), seed);
      store.put(variant.name, seed, key, result);
      console.log(`${variant.name} seed ${seed}: test AUC ${result.test.auc.toFixed(4)}, ${result.parameters.embedding} embedding parameters, RSS ${((result.memory?.rssBytes ?? 0) / 2 ** 20).toFixed(0)} MiB (${result.seconds.toFixed(0)} s)`);
    }
    results.set(variant.name, [...(results.get(variant.name) ?? []), result]);
    seedsOf.set(variant.name, [...(seedsOf.get(variant.name) ?? []), seed]);
  }
}

const aucs = (name: string) => (results.get(name) ?? []).map((r) => r.test.auc);
/** Test AUC of `name` minus `reference`'s, seed by seed, over the seeds both have. */
const pairedDiff = (name: string, reference: string): number[] => {
  const ref = new Map((seedsOf.get(reference) ?? []).map((seed, i) => [seed, results.get(reference)![i]!.test.auc]));
  return (seedsOf.get(name) ?? []).flatMap((seed, i) => (ref.has(seed) ? [results.get(name)![i]!.test.auc - ref.get(seed)!] : []));
};
const mean = (xs: number[]) => meanStd(xs).mean;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const shown = variants.filter((v) => results.has(v.name));
const lines: string[] = [];
const out = (line: string) => {
  console.log(line);
  lines.push(line);
};
out(`# Embedding compression on the long-tail world\n`);
out(`World seed ${world.options.seed}: ${world.options.fields.length} fields, ${worldIds} ids (${bayes.all.distinctIds} occur in the ${n} examples); ${train.size} train / ${validation.size} validation / ${test.size} test; click rate ${bayes.all.clickRate.toFixed(3)}; Bayes AUC on test ${bayes.test.bayesAuc.toFixed(4)}. Training: up to ${training.epochs} epochs (OptEmbed and its reference: ${optembedTraining.epochs}; patience 1, best epoch on validation), batch ${training.batchSize}, embedding learning rate ${embeddingLearningRate}. Seeds asked: ${seeds.join(', ')}; each row says which it holds; mean ± sample std over them. Weights: the embedding tables' floats; + optimizer: with Adam's two slots and the dedupe index (TableMemory). RSS: the process's resident set right after the configuration trained (largest over seeds); configurations run one after another in one process, so it also holds what earlier ones left to the allocator.\n`);
out('| model | embedding | seeds | parameters | weights MiB | weights + optimizer MiB | RSS MiB | validation AUC | test AUC | ΔAUC vs per-field, paired by seed (pairs) | test GAUC | test logloss | s |');
out('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const v of shown.filter((x) => x.kind !== 'optembed')) {
  const rs = results.get(v.name)!;
  const diffs = pairedDiff(v.name, `${v.model}-per-field`);
  const delta = diffs.length > 0 && v.kind !== 'per-field' ? `${pm(diffs)} (${diffs.length})` : '—';
  out(`| ${v.model.toUpperCase()} | ${v.label} | ${seedsOf.get(v.name)!.join(', ')} | ${Math.round(mean(rs.map((r) => r.parameters.embedding)))} | ${mib(mean(rs.map((r) => r.memory?.embeddingWeightBytes ?? 0)))} | ${mib(mean(rs.map((r) => r.memory?.embeddingTotalBytes ?? 0)))} | ${mib(Math.max(...rs.map((r) => r.memory?.rssBytes ?? 0)))} | ${pm(rs.map((r) => r.validation.auc))} | ${pm(aucs(v.name))} | ${delta} | ${pm(rs.map((r) => r.test.gauc))} | ${pm(rs.map((r) => r.test.logloss))} | ${mean(rs.map((r) => r.seconds)).toFixed(0)} |`);
}
const optembed = shown.filter((v) => v.kind === 'optembed');
if (optembed.length > 0) {
  out('\n| model | OptEmbed | embedding parameters kept | removed | weights MiB | RSS MiB | test AUC pruned | unpruned (same init) | ΔAUC (paired by seed) | dimensions per field (seed ' + seeds[0] + ') | s supernet / search / retrain |');
  out('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const v of optembed) {
    const rs = results.get(v.name)! as (OptEmbedTrialResult & { profile?: PruningProfile })[];
    const unpruned = aucs(`${v.model}-per-field-small-init`);
    const removed = rs.map((r) => 1 - r.parameters.embedding / r.unprunedParameters);
    const diffs = pairedDiff(v.name, `${v.model}-per-field-small-init`);
    const delta = diffs.length > 0 ? `${pm(diffs)} (${diffs.length})` : '—';
    out(`| ${v.model.toUpperCase()} | ${v.label} | ${Math.round(mean(rs.map((r) => r.parameters.embedding)))} of ${Math.round(mean(rs.map((r) => r.unprunedParameters)))} | ${pm(removed.map((x) => 100 * x), 1)}% | ${mib(mean(rs.map((r) => r.memory?.embeddingWeightBytes ?? 0)))} | ${mib(Math.max(...rs.map((r) => r.memory?.rssBytes ?? 0)))} | ${pm(rs.map((r) => r.test.auc))} | ${unpruned.length > 0 ? pm(unpruned) : '—'} | ${delta} | ${rs[0]!.fields.map((x) => `${x.field} ${x.units}`).join(', ')} | ${(['supernet', 'search', 'retrain'] as const).map((st) => mean(rs.map((r) => r.stageSeconds[st])).toFixed(0)).join(' / ')} |`);
    out(`\nRows OptEmbed pruned (${v.model.toUpperCase()}), by how often the id occurs in training (all fields; mean over seeds):\n`);
    out('| training occurrences | rows | pruned | share of the rows pruned | share of the bucket\'s training occurrences on pruned rows |');
    out('|---|---|---|---|---|');
    FREQUENCY_BUCKETS.forEach((_, b) => {
      const bs = rs.map((r) => r.profile!.buckets[b]!);
      const rows = mean(bs.map((x) => x.rows)), pruned = mean(bs.map((x) => x.pruned));
      out(`| ${bs[0]!.label} | ${Math.round(rows)} | ${Math.round(pruned)} | ${pm(bs.map((x) => (100 * x.pruned) / Math.max(1, x.rows)), 1)}% | ${pm(bs.map((x) => (100 * x.prunedOccurrences) / Math.max(1, x.occurrences)), 1)}% |`);
    });
  }
}
const minutes = (performance.now() - started) / 60_000;
out(`\n(${minutes.toFixed(1)} min in all; results in ${store.dir})`);
const report = path.join(store.dir, 'report.md');
writeFileSync(report, `${lines.join('\n')}\n`);
console.log(`report: ${report}`);

// The issue's targets, from the means over seeds (and paired differences).
const has = (name: string) => results.has(name);
const targets = Object.fromEntries(MODELS.filter((m) => shown.some((v) => v.model === m)).map((m) => [m, {
  // Paired by seed: the mean of the per-seed differences over the seeds both have.
  unifiedQuarterMinusPerField: has(`${m}-unified-4`) && has(`${m}-per-field`) ? round(mean(pairedDiff(`${m}-unified-4`, `${m}-per-field`)), 4) : null,
  unifiedMinusHashed: Object.fromEntries(budgets.filter((b) => has(`${m}-unified-${b}`) && has(`${m}-hashed-${b}`)).map((b) => [b, round(mean(pairedDiff(`${m}-unified-${b}`, `${m}-hashed-${b}`)), 4)])),
  optembedRemoved: has(`${m}-optembed`) ? round(mean((results.get(`${m}-optembed`) as OptEmbedTrialResult[]).map((r) => 1 - r.parameters.embedding / r.unprunedParameters)), 4) : null,
  optembedMinusUnpruned: has(`${m}-optembed`) && has(`${m}-per-field-small-init`) ? round(mean(pairedDiff(`${m}-optembed`, `${m}-per-field-small-init`)), 4) : null,
  optembedMinusPerField: has(`${m}-optembed`) && has(`${m}-per-field`) ? round(mean(aucs(`${m}-optembed`)) - mean(aucs(`${m}-per-field`)), 4) : null,
}]));
const summary = Object.fromEntries(shown.map((v) => {
  const rs = results.get(v.name)!;
  return [v.name, {
    seeds: seedsOf.get(v.name), parameters: mean(rs.map((r) => r.parameters.embedding)), auc: meanStd(aucs(v.name)), gauc: meanStd(rs.map((r) => r.test.gauc)),
    validationAuc: meanStd(rs.map((r) => r.validation.auc)), embeddingBytes: mean(rs.map((r) => r.memory?.embeddingWeightBytes ?? 0)),
    rssBytes: Math.max(...rs.map((r) => r.memory?.rssBytes ?? 0)), seconds: mean(rs.map((r) => r.seconds)),
  }];
}));
console.log(JSON.stringify({
  experiment: 'longtail-compression', world: { seed: world.options.seed, examples: n, ids: worldIds, distinctIdsInExamples: bayes.all.distinctIds, vocabScale: scale },
  bayesAuc: round(bayes.test.bayesAuc, 4), clickRate: round(bayes.all.clickRate, 4), seeds, training, results: summary, targets, minutes: round(minutes, 1),
}));
