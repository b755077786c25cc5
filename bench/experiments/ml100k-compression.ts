// Embedding compression on the MovieLens-100K CTR protocol (issue 5):
// per-field tables vs the hashing trick vs Unified Embedding at ½, ¼ and ⅛ of
// the per-field embedding parameters, for DIN and DNN, several seeds; plus
// OptEmbed (supernet → evolutionary search → retrain) on per-field tables and
// on a Unified Embedding table. Early stopping and the search look at the
// validation split only; the table reports test metrics.
//
//   npm run experiment -- ml100k-compression [--models din,dnn] [--parts layouts,optembed] [--seeds 1,2,3] [--fresh]
//
// Resumable: each (configuration, seed) is saved to results/ml100k-compression/
// and skipped next time unless its configuration changed (or --fresh). Writes
// results/ml100k-compression/report.html (AUC against parameters, Pareto front).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadMovieLensCtr } from '../../features/datasets/movielens-ctr.js';
import { createCtrModel } from '../../models/create-model.js';
import type { CtrModelConfigInput, LayoutConfig } from '../../models/ctr/ctr-config.js';
import { loadTrainConfig } from '../../pipelines/training/train-config.js';
import { htmlPage, htmlTable, linePlot, type Series } from '../../pipelines/reports/svg-plot.js';
import { runCtrTrial, type TrainingSettings, type TrialResult, type TrialSplits } from '../lib/ctr-trial.js';
import type { OptEmbedTrialResult } from '../lib/optembed-trial.js';
import { meanStd, pm, ResultsStore } from '../lib/results-store.js';

const MODELS = ['din', 'dnn'] as const;
type ModelName = (typeof MODELS)[number];
const FRACTIONS = [{ tag: '2', fraction: 1 / 2, label: '½' }, { tag: '4', fraction: 1 / 4, label: '¼' }, { tag: '8', fraction: 1 / 8, label: '⅛' }];
/** Unified Embedding: 4 chunks of 4 per field, so every field's output is 16 wide as with per-field tables and the dense network is the same. */
const CHUNK_DIM = 4;
const CHUNKS = 4;

const { values: flags } = parseArgs({
  options: {
    models: { type: 'string', default: MODELS.join(',') },
    parts: { type: 'string', default: 'layouts,optembed' },
    seeds: { type: 'string', default: '1,2,3' },
    fresh: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log('usage: npm run experiment -- ml100k-compression [--models din,dnn] [--parts layouts,optembed] [--seeds 1,2,3] [--fresh]');
  process.exit(0);
}
const models = flags.models.split(',').map((s) => s.trim()).filter(Boolean) as ModelName[];
for (const m of models) if (!MODELS.includes(m)) throw new Error(`unknown model ${m}; known: ${MODELS.join(', ')}`);
const parts = new Set(flags.parts.split(',').map((s) => s.trim()));
const seeds = flags.seeds.split(',').map(Number);

const fromFile = (name: string) => {
  const c = loadTrainConfig(new URL(`../../configs/models/${name}.json`, import.meta.url).pathname);
  return { model: c.model as CtrModelConfigInput, training: c.training as TrainingSettings };
};

const loaded = await loadMovieLensCtr();
const [train, validation, test] = [loaded.train, loaded.validation, loaded.test].map((x) => loaded.encoder.encode(x)) as [TrialSplits['train'], TrialSplits['train'], TrialSplits['train']];
const splits: TrialSplits = { encoder: loaded.encoder, train, validation, test };
console.log(`MovieLens-100K CTR protocol: ${train.size} train, ${validation.size} validation, ${test.size} test examples`);

interface Variant {
  name: string;
  model: ModelName;
  kind: 'per-field' | 'hashed' | 'unified' | 'optembed-per-field' | 'optembed-unified';
  label: string;
  config: CtrModelConfigInput;
  training: TrainingSettings;
}

const variants: Variant[] = [];
for (const model of models) {
  const base = fromFile(`ml100k-${model}`);
  const probe = createCtrModel(loaded.encoder, base.model);
  const fullParameters = probe.parameterCount().embedding;
  const dim = (base.model.embedding as LayoutConfig | undefined)?.kind === 'per-field' ? (base.model.embedding as { dim: number }).dim : 16;
  probe.dispose();
  const withLayout = (embedding: LayoutConfig): CtrModelConfigInput => ({ ...base.model, embedding });
  const unified = (fraction: number): LayoutConfig => ({ kind: 'unified', rows: Math.floor((fullParameters * fraction) / CHUNK_DIM), chunkDim: CHUNK_DIM, chunks: {}, defaultChunks: CHUNKS });
  {
    variants.push({ name: `${model}-per-field`, model, kind: 'per-field', label: `per-field ×${dim}`, config: base.model, training: base.training });
    for (const { tag, fraction, label } of FRACTIONS) {
      variants.push({ name: `${model}-unified-${tag}`, model, kind: 'unified', label: `Unified Embedding ${label}`, config: withLayout(unified(fraction)), training: base.training });
      variants.push({ name: `${model}-hashed-${tag}`, model, kind: 'hashed', label: `hashing trick ${label}`, config: withLayout({ kind: 'hashed', rows: Math.floor((fullParameters * fraction) / dim), dim }), training: base.training });
    }
  }
  {
    variants.push({ name: `${model}-optembed-per-field`, model, kind: 'optembed-per-field', label: 'OptEmbed on per-field', config: base.model, training: base.training });
    variants.push({ name: `${model}-optembed-unified-4`, model, kind: 'optembed-unified', label: 'OptEmbed on Unified Embedding ¼', config: withLayout(unified(1 / 4)), training: base.training });
  }
}

const runs = (v: Variant) => parts.has(v.kind.startsWith('optembed') ? 'optembed' : 'layouts');
const keyOf = (v: Variant, seed: number) => ({ model: { ...v.config, seed }, training: v.training, kind: v.kind });
/** OptEmbed is compared with the same layout unpruned. */
const reference = (v: Variant) => (v.kind === 'optembed-per-field' ? `${v.model}-per-field` : v.kind === 'optembed-unified' ? `${v.model}-unified-4` : undefined);

type Result = TrialResult | OptEmbedTrialResult;
const store = new ResultsStore<Result>('ml100k-compression');
const results = new Map<string, Result[]>();
for (const variant of variants) {
  if (!runs(variant)) {
    // Not run now, but the saved results of a reference are still shown.
    const saved = seeds.map((seed) => store.get(variant.name, seed, keyOf(variant, seed)));
    if (saved.every((r) => r !== undefined)) results.set(variant.name, saved as Result[]);
    continue;
  }
  for (const seed of seeds) {
    const key = keyOf(variant, seed);
    let result = flags.fresh ? undefined : store.get(variant.name, seed, key);
    if (result) {
      console.log(`${variant.name} seed ${seed}: saved (test AUC ${result.test.auc.toFixed(4)})`);
    } else {
      result = variant.kind.startsWith('optembed')
        ? await (await import('../lib/optembed-trial.js')).runOptEmbedTrial(variant.name, splits, variant.config, variant.training, seed)
        : runCtrTrial(variant.name, splits, variant.config, variant.training, seed);
      store.put(variant.name, seed, key, result);
      console.log(`${variant.name} seed ${seed}: test AUC ${result.test.auc.toFixed(4)}, ${result.parameters.embedding} embedding parameters (${result.seconds.toFixed(0)} s)`);
    }
    results.set(variant.name, [...(results.get(variant.name) ?? []), result]);
  }
}

const aucs = (name: string) => (results.get(name) ?? []).map((r) => r.test.auc);
const embedding = (name: string) => meanStd((results.get(name) ?? []).map((r) => r.parameters.embedding)).mean;
const rows: (string | number)[][] = [];
console.log('\n| model | embedding | parameters | test AUC | ΔAUC vs per-field | test GAUC | test logloss | s |');
console.log('|---|---|---|---|---|---|---|---|');
const shown = variants.filter((v) => results.has(v.name));
for (const v of shown) {
  const rs = results.get(v.name)!;
  const reference = aucs(`${v.model}-per-field`);
  const delta = reference.length > 0 ? meanStd(aucs(v.name)).mean - meanStd(reference).mean : Number.NaN;
  const row = [v.model.toUpperCase(), v.label, Math.round(embedding(v.name)), pm(aucs(v.name)), Number.isNaN(delta) ? '—' : delta.toFixed(4), pm(rs.map((r) => r.test.gauc)), pm(rs.map((r) => r.test.logloss)), meanStd(rs.map((r) => r.seconds)).mean.toFixed(0)];
  rows.push(row);
  console.log(`| ${row.join(' | ')} |`);
}
const optembedRows = shown.filter((v) => v.kind.startsWith('optembed')).map((v) => {
  const rs = results.get(v.name)! as OptEmbedTrialResult[];
  return { variant: v, rs };
});
if (optembedRows.length > 0) {
  console.log('\n| model | OptEmbed on | embedding parameters kept | of the unpruned | test AUC pruned | unpruned | ΔAUC | dimension / chunks per field | rows kept per field | s supernet / search / retrain |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const { variant, rs } of optembedRows) {
    const kept = meanStd(rs.map((r) => r.parameters.embedding)).mean;
    const full = meanStd(rs.map((r) => r.unprunedParameters)).mean;
    const unpruned = aucs(reference(variant)!);
    const delta = unpruned.length === rs.length ? pm(rs.map((r, i) => r.test.auc - unpruned[i]!)) : '—';
    const perField = (f: (x: OptEmbedTrialResult['fields'][number]) => string) => rs[0]!.fields.map((x) => `${x.field} ${f(x)}`).join(', ');
    console.log(`| ${variant.model.toUpperCase()} | ${variant.label} | ${Math.round(kept)} | ${((100 * kept) / full).toFixed(1)}% | ${pm(rs.map((r) => r.test.auc))} | ${unpruned.length > 0 ? pm(unpruned) : '—'} | ${delta} | ${perField((x) => `${x.units}/${x.maxUnits}`)} (seed ${seeds[0]}) | ${perField((x) => `${x.keptRows}/${x.rows}`)} (seed ${seeds[0]}) | ${(['supernet', 'search', 'retrain'] as const).map((st) => meanStd(rs.map((r) => r.stageSeconds[st])).mean.toFixed(0)).join(' / ')} |`);
  }
}
console.log(`(${seeds.length} seeds: ${seeds.join(', ')}; mean ± sample std; results in ${store.dir})`);

// The Pareto front: points no other point beats on both fewer parameters and higher AUC.
const plots = models.map((model) => {
  const mine = shown.filter((v) => v.model === model && results.has(v.name));
  const point = (v: Variant): [number, number] => [embedding(v.name), meanStd(aucs(v.name)).mean];
  const line = (kinds: readonly Variant['kind'][]) => mine.filter((v) => kinds.includes(v.kind)).map(point).sort((x, y) => x[0] - y[0]);
  // Per-field tables are the full-budget end of both the hashing and the Unified Embedding curves.
  const series: Series[] = [
    { name: 'hashing trick', points: line(['hashed', 'per-field']) },
    { name: 'Unified Embedding', points: line(['unified', 'per-field']) },
    { name: 'OptEmbed (per-field)', points: line(['optembed-per-field']) },
    { name: 'OptEmbed (Unified Embedding)', points: line(['optembed-unified']) },
  ].filter((s) => s.points.length > 0);
  const all = mine.map(point);
  const front = all.filter(([p, a]) => !all.some(([q, b]) => q <= p && b >= a && (q < p || b > a))).sort((x, y) => x[0] - y[0]);
  series.push({ name: 'Pareto front', points: front, dashed: true, color: '#555' });
  return linePlot(`${model.toUpperCase()}: test AUC against embedding parameters`, 'embedding parameters', 'test AUC', series, { width: 620, height: 380 });
});
const report = path.join(store.dir, 'report.html');
writeFileSync(report, htmlPage('Embedding compression on MovieLens-100K', `<div class="plots">${plots.join('')}</div>${htmlTable(['model', 'embedding', 'parameters', 'test AUC', 'ΔAUC vs per-field', 'test GAUC', 'test logloss', 's'], rows)}<p>${seeds.length} seeds; mean ± sample std.</p>`));
console.log(`report: ${report}`);
const summary = Object.fromEntries(shown.map((v) => [v.name, { parameters: embedding(v.name), auc: meanStd(aucs(v.name)), gauc: meanStd(results.get(v.name)!.map((r) => r.test.gauc)) }]));
console.log(JSON.stringify({ experiment: 'ml100k-compression', seeds, results: summary }));
