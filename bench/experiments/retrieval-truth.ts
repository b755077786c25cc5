// Retrieval quality where the truth is known (issue 20, part 4). A synthetic
// world's event stream is written to a JSONL file and each graph model is
// trained on it the way `recsys train-cf --source jsonl --file … --production`
// trains it: default positives rule, the training defaults train-cf takes
// for a logged source (streamTrainingDefaults: BPR negatives ∝ (item degree
// + 1)^0.75, no epoch selected before 40), the epoch count chosen on each
// user's newest 10%, then a refit on every positive. For each evaluated
// user, the truth is the --truth items of highest true click probability among the
// items the user has no positive for, with the world as it stands at the end
// of the stream (interests at the end of their drift, the user's last 10
// clicked categories as the history term); a retriever returns --retrieve
// items outside the user's positives. Recall = |truth ∩ retrieved| / truth.
// Retrievers: each model (dot product of the published user and item rows,
// exact search), popularity (items by number of users with a positive) and
// uniform random (its expectation, retrieve / unseen items).
//
//   npm run experiment -- retrieval-truth [--models mf-bpr,lightgcn,sheaf-scalar]
//     [--seed 42] [--users 2000] [--items 5000] [--events 400000] [--sample N]
//     [--truth 50] [--retrieve 200] [--max-epochs N | --fixed-epochs N]
//     [--negative-exponent X] [--min-epochs N]
//
// --fixed-epochs N trains exactly N epochs (no early stopping), then refits
// for N: a diagnostic of what early stopping on validation chose.
// --negative-exponent and --min-epochs replace train-cf's defaults for a
// logged source (ablations: 0 and 1 are the settings before them).
//
// Progress on stderr; the table, then one JSON line on stdout.
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildSyntheticWorld, clickProbability, rememberClick } from '../../features/datasets/synthetic-world.js';
import { syntheticEvents, type SyntheticOptions } from '../../features/datasets/synthetic.js';
import type { Event } from '../../features/events/event-schema.js';
import { cfSplit } from '../../features/interactions/cf-split.js';
import { EventPositivesSchema, positivesFromEvents } from '../../features/interactions/event-positives.js';
import { createRng } from '../../features/math/rng.js';
import { loadGraphEmbeddings } from '../../models/graph/graph-artifact.js';
import { GRAPH_MODEL_TYPES, type GraphModelType } from '../../models/graph/graph-config.js';
import { cfConfigFile, loadCfConfig } from '../../pipelines/training/cf-config.js';
import { runCfTraining, streamTrainingDefaults } from '../../pipelines/training/cf-training.js';
import { dotScores, expectedRandomRecall, meanInterval, recallOf, topKExcluding, type MeanInterval } from '../lib/retrieval-recall.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'mf-bpr,lightgcn,sheaf-scalar' },
    seed: { type: 'string', default: '42' },
    users: { type: 'string', default: '2000' },
    items: { type: 'string', default: '5000' },
    events: { type: 'string', default: '400000' },
    sample: { type: 'string' },
    truth: { type: 'string', default: '50' },
    retrieve: { type: 'string', default: '200' },
    'max-epochs': { type: 'string' },
    'fixed-epochs': { type: 'string' },
    'negative-exponent': { type: 'string' },
    'min-epochs': { type: 'string' },
  },
});
const int = (flag: string, value: string, min: number): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new RangeError(`--${flag} must be an integer ≥ ${min}, got '${value}'`);
  return n;
};
const models = args.models.split(',').map((m) => {
  if (!(GRAPH_MODEL_TYPES as readonly string[]).includes(m)) throw new RangeError(`--models: unknown model '${m}' (one of ${GRAPH_MODEL_TYPES.join(', ')})`);
  return m as GraphModelType;
});
const WORLD: SyntheticOptions = { seed: int('seed', args.seed, 0), users: int('users', args.users, 1), items: int('items', args.items, 1), events: int('events', args.events, 1) };
const TRUTH = int('truth', args.truth, 1);
const RETRIEVE = int('retrieve', args.retrieve, 1);
const MAX_EPOCHS = args['max-epochs'] === undefined ? undefined : int('max-epochs', args['max-epochs'], 1);
// A diagnostic: validation on each user's newest positives rewards popularity, so early stopping may stop before a model personalises.
const FIXED_EPOCHS = args['fixed-epochs'] === undefined ? undefined : int('fixed-epochs', args['fixed-epochs'], 1);
if (MAX_EPOCHS !== undefined && FIXED_EPOCHS !== undefined) throw new RangeError('--max-epochs and --fixed-epochs exclude each other');
const NEGATIVE_EXPONENT = args['negative-exponent'] === undefined ? undefined : Number(args['negative-exponent']);
if (NEGATIVE_EXPONENT !== undefined && !(NEGATIVE_EXPONENT >= 0 && NEGATIVE_EXPONENT <= 1)) throw new RangeError(`--negative-exponent must be in [0, 1], got '${args['negative-exponent']}'`);
const MIN_EPOCHS = args['min-epochs'] === undefined ? undefined : int('min-epochs', args['min-epochs'], 1);
const OVERRIDES = { ...(NEGATIVE_EXPONENT !== undefined ? { negativeExponent: NEGATIVE_EXPONENT } : {}), ...(MIN_EPOCHS !== undefined ? { minEpochs: MIN_EPOCHS } : {}) };
const log = (message: string) => process.stderr.write(`${message}\n`);
const started = performance.now();
const loadAtStart = loadavg();

// The stream, as a file the training pipeline reads.
const work = mkdtempSync(path.join(tmpdir(), 'retrieval-truth-'));
const eventsFile = path.join(work, 'events.jsonl');
const events: Event[] = [...syntheticEvents(WORLD)];
const fd = openSync(eventsFile, 'w');
try {
  for (let start = 0; start < events.length; start += 10_000) writeSync(fd, events.slice(start, start + 10_000).map((e) => `${JSON.stringify(e)}\n`).join(''));
} finally {
  closeSync(fd);
}

// What the pipeline sees: the same positives train-cf takes from the file, deduplicated per (user, item) as the split does.
const world = buildSyntheticWorld(WORLD);
const rule = EventPositivesSchema.parse({});
const data = positivesFromEvents(events, rule);
const all = cfSplit(data.positives, { userIds: data.userIds, itemIds: data.itemIds, testFraction: 0, validationFraction: 0 });
const worldIndex = (id: string, prefix: string, count: number): number => {
  const n = Number(id.slice(prefix.length));
  if (!id.startsWith(prefix) || !Number.isInteger(n) || n < 0 || n >= count) throw new RangeError(`'${id}' is not an id of this world`);
  return n;
};
const seen = Array.from({ length: world.users }, () => new Set<number>());
const popularity = new Float64Array(world.items);
for (let k = 0; k < all.train.users.length; k++) {
  const u = worldIndex(all.userIds[all.train.users[k]!]!, 'u', world.users);
  const i = worldIndex(all.itemIds[all.train.items[k]!]!, 'i', world.items);
  seen[u]!.add(i);
  popularity[i]!++;
}

// The world at the end of the stream: each user's last clicked categories, replayed as the generator keeps them.
const recent = Array.from({ length: world.users }, (): number[] => []);
for (const e of events) {
  if (e.type === 'impression' && e.label === 1) rememberClick(world, recent[worldIndex(e.user_id, 'u', world.users)]!, worldIndex(e.item_id, 'i', world.items));
}

// Evaluated users: everyone, or a seeded sample.
const everyone = Array.from({ length: world.users }, (_, u) => u);
const sampleSize = args.sample === undefined ? world.users : Math.min(world.users, int('sample', args.sample, 1));
const sampleRng = createRng(WORLD.seed!).fork(11);
for (let k = 0; k < sampleSize; k++) {
  const j = k + sampleRng.int(world.users - k);
  [everyone[k], everyone[j]] = [everyone[j]!, everyone[k]!];
}
const evaluated = everyone.slice(0, sampleSize).sort((a, b) => a - b);

const truth = new Map<number, number[]>();
const probability = new Float64Array(world.items);
for (const u of evaluated) {
  for (let i = 0; i < world.items; i++) probability[i] = clickProbability(world, u, i, recent[u]!, 1);
  truth.set(u, topKExcluding(probability, TRUTH, seen[u]));
}
const stream = { positives: data.positives.length, pairs: all.train.users.length, users_in_stream: all.userIds.length, items_in_stream: all.itemIds.length };
log(`world: ${world.users} users, ${world.items} items, ${WORLD.events} impressions → ${stream.positives} positives, ${stream.pairs} distinct (user, item) pairs; ${stream.items_in_stream} items appear in the stream; ${evaluated.length} users evaluated (${((performance.now() - started) / 1000).toFixed(1)} s)`);

interface Retriever { name: string; recall: number[]; overlap?: number[]; train?: { seconds: number; bestEpoch: number; epochsRun: number; secondsPerEpoch: number } }
const retrievers: Retriever[] = [];

const popularOrder = topKExcluding(popularity, world.items);
const popularRetrieved = new Map(evaluated.map((u) => {
  const retrieved: number[] = [];
  for (const i of popularOrder) {
    if (retrieved.length === RETRIEVE) break;
    if (!seen[u]!.has(i)) retrieved.push(i);
  }
  return [u, retrieved];
}));
retrievers.push({ name: 'popularity', recall: evaluated.map((u) => recallOf(truth.get(u)!, popularRetrieved.get(u)!)) });
// How much of the truth a CF model can hardly know: items few users clicked keep embeddings near their initialisation.
const COLD = 5;
const truthCold = meanInterval(evaluated.map((u) => truth.get(u)!.filter((i) => popularity[i]! < COLD).length / TRUTH)).mean;
const truthNeverClicked = meanInterval(evaluated.map((u) => truth.get(u)!.filter((i) => popularity[i] === 0).length / TRUTH)).mean;
const random: Retriever = { name: 'random (expected)', recall: evaluated.map((u) => expectedRandomRecall(RETRIEVE, world.items - seen[u]!.size)) };

const registry = path.join(work, 'registry');
try {
  for (const model of models) {
    const t0 = performance.now();
    log(`training ${model}…`);
    const config = loadCfConfig(cfConfigFile(model));
    config.training = { ...config.training, ...OVERRIDES };
    // One validation check, after the last epoch: it is the best, and the refit runs as many.
    if (FIXED_EPOCHS !== undefined) config.training = { ...config.training, epochs: FIXED_EPOCHS, evalEvery: FIXED_EPOCHS };
    const result = await runCfTraining({
      model, registry, config, name: `retrieval-truth-${model}`,
      source: { kind: 'jsonl', file: eventsFile, positives: rule }, production: true,
      ...(MAX_EPOCHS !== undefined ? { epochs: MAX_EPOCHS } : {}),
      onEpoch: (e, total) => {
        if (e.validation && e.epoch % 10 === 0) log(`  ${model} epoch ${e.epoch}/${total} loss ${e.trainLoss.toFixed(4)} val NDCG@20 ${e.validation['ndcg@20']!.toFixed(4)} (${e.seconds.toFixed(2)} s)`);
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    const emb = await loadGraphEmbeddings(result.artifactDir);
    // Item rows in world order; an item the model has no row for is never retrieved.
    const rowOf = Int32Array.from({ length: world.items }, (_, i) => emb.itemIndex.get(`i${i}`) ?? -1);
    const modelScores = new Float64Array(emb.itemIds.length);
    const scores = new Float64Array(world.items);
    const recall: number[] = [];
    const overlap: number[] = [];
    for (const u of evaluated) {
      const row = emb.userIndex.get(`u${u}`);
      if (row === undefined) {
        recall.push(0);
        overlap.push(0);
        continue;
      }
      dotScores(emb.users, emb.items, emb.dim, row, modelScores);
      for (let i = 0; i < world.items; i++) scores[i] = rowOf[i]! < 0 ? -Infinity : modelScores[rowOf[i]!]!;
      const retrieved = topKExcluding(scores, RETRIEVE, seen[u]);
      recall.push(recallOf(truth.get(u)!, retrieved));
      const popular = new Set(popularRetrieved.get(u));
      overlap.push(retrieved.filter((i) => popular.has(i)).length / RETRIEVE);
    }
    retrievers.push({ name: model, recall, overlap, train: { seconds, bestEpoch: result.bestEpoch, epochsRun: result.epochsRun, secondsPerEpoch: result.secondsPerEpoch } });
    log(`  ${model}: recall ${meanInterval(recall).mean.toFixed(4)}, best epoch ${result.bestEpoch} of ${result.epochsRun}, ${seconds.toFixed(0)} s with the refit`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

// The table: each retriever's mean recall, and each model's paired difference to popularity.
const popular = retrievers[0]!.recall;
const round = (x: number, d = 4) => Number(x.toFixed(d));
const interval = (m: MeanInterval) => ({ mean: round(m.mean), lo: round(m.lo), hi: round(m.hi) });
const rows = [...retrievers, random].map((r) => {
  const recall = meanInterval(r.recall);
  const isModel = r.train !== undefined;
  const diff = isModel ? meanInterval(r.recall.map((x, k) => x - popular[k]!)) : undefined;
  const better = isModel ? r.recall.filter((x, k) => x > popular[k]!).length / r.recall.length : undefined;
  const overlap = r.overlap ? meanInterval(r.overlap).mean : undefined;
  return { name: r.name, recall, diff, better, overlap, ratio: recall.mean / meanInterval(popular).mean, train: r.train };
});
const fmt = (m: MeanInterval) => `${m.mean.toFixed(4)} [${m.lo.toFixed(4)}, ${m.hi.toFixed(4)}]`;
console.log(`\nrecall of the true top-${TRUTH} (unseen items, true click probability at the end of the stream) among ${RETRIEVE} retrieved; ${evaluated.length} users, 95% intervals over users\n`);
console.log(`| retriever | recall@${RETRIEVE} | − popularity (paired) | × popularity | users above popularity | shared with popularity's ${RETRIEVE} | best epoch / run | training s (with refit) |`);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.name} | ${fmt(r.recall)} | ${r.diff ? fmt(r.diff) : '–'} | ${r.name === 'popularity' ? '1' : r.ratio.toFixed(2)} | ${r.better === undefined ? '–' : `${(100 * r.better).toFixed(1)}%`} | ${r.overlap === undefined ? '–' : `${(100 * r.overlap).toFixed(1)}%`} | ${r.train ? `${r.train.bestEpoch} / ${r.train.epochsRun}` : '–'} | ${r.train ? r.train.seconds.toFixed(0) : '–'} |`);
}
console.log(`\ntruth items that fewer than ${COLD} users clicked in the stream: ${(100 * truthCold).toFixed(1)}% (never clicked: ${(100 * truthNeverClicked).toFixed(1)}%)`);
const modelRows = rows.filter((r) => r.train !== undefined);
const winner = modelRows.reduce<(typeof rows)[number] | undefined>((best, r) => (best === undefined || r.recall.mean > best.recall.mean ? r : best), undefined);
const beat = Object.fromEntries(modelRows.map((r) => [r.name, r.diff!.lo > 0]));
let winnerVsSecond: (MeanInterval & { over: string }) | undefined;
if (winner) {
  const second = modelRows.filter((r) => r !== winner).sort((a, b) => b.recall.mean - a.recall.mean)[0];
  const perUser = (name: string) => retrievers.find((x) => x.name === name)!.recall;
  const secondRecall = second ? perUser(second.name) : undefined;
  winnerVsSecond = secondRecall ? { over: second!.name, ...meanInterval(perUser(winner.name).map((x, k) => x - secondRecall[k]!)) } : undefined;
  const losers = Object.entries(beat).filter(([, ok]) => !ok).map(([m]) => m);
  console.log(`\nwinner: ${winner.name}, recall − popularity ${fmt(winner.diff!)} (${winner.ratio.toFixed(2)}×)${winnerVsSecond ? `, − ${winnerVsSecond.over} ${fmt(winnerVsSecond)}` : ''}; every model above popularity (95% interval of the paired difference > 0): ${losers.length === 0 ? 'yes' : `no (${losers.join(', ')})`}`);
}
const loadAtEnd = loadavg();
console.log(JSON.stringify({
  experiment: 'retrieval-truth',
  world: WORLD, ...(FIXED_EPOCHS !== undefined ? { fixed_epochs: FIXED_EPOCHS } : {}), training_defaults: { ...streamTrainingDefaults({ kind: 'jsonl', file: eventsFile, positives: rule }), ...OVERRIDES }, truth: TRUTH, retrieve: RETRIEVE, users_evaluated: evaluated.length, ...stream,
  truth_clicked_by_under_5_users: round(truthCold), truth_never_clicked: round(truthNeverClicked),
  results: Object.fromEntries(rows.map((r) => [r.name, {
    recall: interval(r.recall),
    ...(r.diff ? { minus_popularity: interval(r.diff), times_popularity: round(r.ratio, 3), users_above_popularity: round(r.better!, 4), shared_with_popularity: round(r.overlap!, 4) } : {}),
    ...(r.train ? { best_epoch: r.train.bestEpoch, epochs_run: r.train.epochsRun, seconds_per_epoch: round(r.train.secondsPerEpoch, 2), training_seconds: Math.round(r.train.seconds) } : {}),
  }])),
  winner: winner?.name ?? null, ...(winnerVsSecond ? { winner_minus_second: { over: winnerVsSecond.over, ...interval(winnerVsSecond) } } : {}),
  every_model_beats_popularity: Object.values(beat).every(Boolean),
  wall_seconds: Math.round((performance.now() - started) / 1000),
  load_average: { start: loadAtStart.map((x) => round(x, 2)), end: loadAtEnd.map((x) => round(x, 2)) },
}));
