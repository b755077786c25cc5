import { auc } from '../math/auc.js';
import { createRng, sampleCumulative, type Rng } from '../math/rng.js';
import type { EncodedBatch } from '../spec/feature-encoder.js';
import { FeatureEncoder } from '../spec/feature-encoder.js';
import { parseFeatureSpec } from '../spec/feature-spec.js';
import { FixedVocabulary, PAD_ID } from '../spec/vocabulary.js';

/**
 * A third synthetic world, built for embedding compression (issue 22, part 4):
 * many categorical fields with large, Zipf-distributed vocabularies, where
 * the rare ids matter as much per id as the frequent ones, so that squeezing
 * the tables (hashing, Unified Embedding, OptEmbed's row pruning) costs
 * accuracy in a measurable way.
 *
 * - Field f has `vocabulary` ids; id r (its frequency rank, 0 the most
 *   frequent) is drawn with probability ∝ (r + 1)^−exponent.
 * - Every id of every field, rare or not, has a main effect β ~ N(0, 1) and a
 *   latent vector u ~ N(0, I_k): the tail is not noise, it is signal that a
 *   model can learn only as far as the id is seen often enough.
 * - The click probability of an example x with behaviour sequence h (items):
 *     logit = bias + idEffect·Σ_f β_f[x_f]
 *           + pairWeight·Σ_{(f,g) ∈ pairs} ⟨u_f[x_f], u_g[x_g]⟩ / √k
 *           + historyWeight·⟨u_item[x_item], Σ_j u_item[h_j]⟩ / √(k·|h|)
 *   Each interaction term has unit variance, so the weights set its share.
 * - A user's behaviour sequence is fixed (it does not change with the
 *   example): `minHistory`..`maxHistory` items, Zipf-drawn like the item field.
 */
export interface LongtailField {
  name: string;
  vocabulary: number;
  /** Zipf exponent s: P(rank r) ∝ (r + 1)^−s. */
  exponent: number;
}

export interface LongtailWorldOptions {
  /** @default 11 */
  seed?: number;
  /** Examples drawn by longtailExamples. @default 1_000_000 */
  examples?: number;
  /** The fields; must include `user` and `item` (the behaviour sequence's owner and its items). @default LONGTAIL_FIELDS (10 fields, 2.1M ids) */
  fields?: readonly LongtailField[];
  /** Field pairs whose latent vectors interact. @default LONGTAIL_PAIRS */
  pairs?: readonly (readonly [string, string])[];
  /** @default 4 */
  latentDim?: number;
  /** @default -1.5 */
  bias?: number;
  /** @default 0.35 */
  idEffect?: number;
  /** @default 0.6 */
  pairWeight?: number;
  /** @default 0.8 */
  historyWeight?: number;
  /** @default 5 */
  minHistory?: number;
  /** @default 30 */
  maxHistory?: number;
}

export type ResolvedLongtailWorldOptions = Required<LongtailWorldOptions>;

/** 2,096,024 ids over 10 fields, from a huge user field to the 24 hours of the day. */
export const LONGTAIL_FIELDS: readonly LongtailField[] = [
  { name: 'user', vocabulary: 800_000, exponent: 0.9 },
  { name: 'item', vocabulary: 500_000, exponent: 1.0 },
  { name: 'ad', vocabulary: 300_000, exponent: 1.0 },
  { name: 'query', vocabulary: 250_000, exponent: 1.05 },
  { name: 'publisher', vocabulary: 120_000, exponent: 1.05 },
  { name: 'site', vocabulary: 80_000, exponent: 1.1 },
  { name: 'city', vocabulary: 30_000, exponent: 1.1 },
  { name: 'device', vocabulary: 14_000, exponent: 1.2 },
  { name: 'category', vocabulary: 2_000, exponent: 1.0 },
  { name: 'hour', vocabulary: 24, exponent: 0.3 },
];

export const LONGTAIL_PAIRS: readonly (readonly [string, string])[] = [
  ['user', 'item'], ['user', 'ad'], ['query', 'item'], ['query', 'ad'], ['publisher', 'ad'], ['site', 'category'], ['city', 'item'], ['device', 'hour'],
];

export const LONGTAIL_WORLD_DEFAULTS: ResolvedLongtailWorldOptions = {
  seed: 11, examples: 1_000_000, fields: LONGTAIL_FIELDS, pairs: LONGTAIL_PAIRS, latentDim: 4,
  bias: -1.5, idEffect: 0.35, pairWeight: 0.6, historyWeight: 0.8, minHistory: 5, maxHistory: 30,
};

export function resolveLongtailWorldOptions(options: LongtailWorldOptions = {}): ResolvedLongtailWorldOptions {
  const r = { ...LONGTAIL_WORLD_DEFAULTS, ...options };
  const problems: string[] = [];
  for (const key of ['examples', 'latentDim', 'minHistory'] as const) {
    if (!Number.isInteger(r[key]) || r[key] < 1) problems.push(`${key} must be a positive integer, got ${r[key]}`);
  }
  if (!Number.isInteger(r.maxHistory) || r.maxHistory < r.minHistory) problems.push(`maxHistory must be an integer ≥ minHistory (${r.minHistory}), got ${r.maxHistory}`);
  const names = new Set<string>();
  for (const f of r.fields) {
    if (!/^[a-z][a-z0-9_]*$/.test(f.name) || names.has(f.name)) problems.push(`field names must be distinct snake_case, got ${JSON.stringify(f.name)}`);
    names.add(f.name);
    if (!Number.isInteger(f.vocabulary) || f.vocabulary < 1) problems.push(`field ${f.name}: vocabulary must be a positive integer, got ${f.vocabulary}`);
    if (!(f.exponent >= 0)) problems.push(`field ${f.name}: exponent must be ≥ 0, got ${f.exponent}`);
  }
  for (const required of ['user', 'item']) if (!names.has(required)) problems.push(`a field named ${required} is required`);
  for (const [a, b] of r.pairs) if (!names.has(a) || !names.has(b) || a === b) problems.push(`pair [${a}, ${b}] must name two distinct fields`);
  for (const key of ['idEffect', 'pairWeight', 'historyWeight'] as const) if (!(r[key] >= 0)) problems.push(`${key} must be ≥ 0, got ${r[key]}`);
  if (problems.length > 0) throw new RangeError(`invalid long-tail world: ${problems.join('; ')}`);
  return r;
}

export interface LongtailWorld {
  options: ResolvedLongtailWorldOptions;
  /** Per field (options order): the cumulative Zipf weights over ranks. */
  cdf: Float64Array[];
  /** Per field: each id's main effect. */
  effect: Float32Array[];
  /** Per field: each id's latent vector, row-major [vocabulary × latentDim]. */
  latent: Float32Array[];
  /** Each user's behaviour sequence: items[offsets[u]..offsets[u+1]). */
  history: { offsets: Int32Array; items: Int32Array };
  /** Field indices of `user`, `item` and the pairs. */
  userField: number;
  itemField: number;
  pairFields: [number, number][];
}

/** ∑ vocabularies: the world's distinct ids. */
export const longtailIdCount = (options: LongtailWorldOptions = {}): number => resolveLongtailWorldOptions(options).fields.reduce((n, f) => n + f.vocabulary, 0);

export function zipfCdf(vocabulary: number, exponent: number): Float64Array {
  const cdf = new Float64Array(vocabulary);
  let total = 0;
  for (let r = 0; r < vocabulary; r++) cdf[r] = total += (r + 1) ** -exponent;
  return cdf;
}

function normals(rng: Rng, n: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  return v;
}

export function buildLongtailWorld(options: LongtailWorldOptions = {}): LongtailWorld {
  const o = resolveLongtailWorldOptions(options);
  const rng = createRng(o.seed);
  // Forks: 1 + field index for the ids' parameters, 100 histories, 101 examples.
  const cdf = o.fields.map((f) => zipfCdf(f.vocabulary, f.exponent));
  const effect: Float32Array[] = [];
  const latent: Float32Array[] = [];
  o.fields.forEach((f, i) => {
    const fieldRng = rng.fork(1 + i);
    effect.push(normals(fieldRng, f.vocabulary));
    latent.push(normals(fieldRng, f.vocabulary * o.latentDim));
  });
  const user = o.fields.findIndex((f) => f.name === 'user');
  const item = o.fields.findIndex((f) => f.name === 'item');
  const historyRng = rng.fork(100);
  const users = o.fields[user]!.vocabulary;
  const offsets = new Int32Array(users + 1);
  const lengths = new Int32Array(users);
  for (let u = 0; u < users; u++) {
    lengths[u] = o.minHistory + historyRng.int(o.maxHistory - o.minHistory + 1);
    offsets[u + 1] = offsets[u]! + lengths[u]!;
  }
  const items = new Int32Array(offsets[users]!);
  for (let j = 0; j < items.length; j++) items[j] = sampleCumulative(cdf[item]!, historyRng.next());
  const pairFields = o.pairs.map(([a, b]): [number, number] => [o.fields.findIndex((f) => f.name === a), o.fields.findIndex((f) => f.name === b)]);
  return { options: o, cdf, effect, latent, history: { offsets, items }, userField: user, itemField: item, pairFields };
}

export interface LongtailExamples {
  size: number;
  /** Per field (options order): each example's id (its rank). */
  ids: Int32Array[];
  labels: Uint8Array;
  /** The true click probability each label was drawn from. */
  probability: Float32Array;
}

const logistic = (x: number): number => 1 / (1 + Math.exp(-x));

/** The true click probability of one example, given its ids per field (options order). */
export function longtailLogit(world: LongtailWorld, idsOf: (field: number) => number): number {
  const o = world.options;
  const k = o.latentDim;
  let logit = o.bias;
  for (let f = 0; f < o.fields.length; f++) logit += o.idEffect * world.effect[f]![idsOf(f)]!;
  const dot = (a: Float32Array, i: number, b: Float32Array, j: number): number => {
    let s = 0;
    for (let d = 0; d < k; d++) s += a[i * k + d]! * b[j * k + d]!;
    return s;
  };
  for (const [fa, fb] of world.pairFields) {
    logit += (o.pairWeight * dot(world.latent[fa]!, idsOf(fa), world.latent[fb]!, idsOf(fb))) / Math.sqrt(k);
  }
  const item = world.itemField;
  const u = idsOf(world.userField);
  const { offsets, items } = world.history;
  const candidate = idsOf(item);
  let s = 0;
  for (let j = offsets[u]!; j < offsets[u + 1]!; j++) s += dot(world.latent[item]!, candidate, world.latent[item]!, items[j]!);
  return logit + (o.historyWeight * s) / Math.sqrt(k * (offsets[u + 1]! - offsets[u]!));
}

/** `options.examples` i.i.d. examples (each field's id Zipf-drawn), labels drawn from their true probabilities. */
export function longtailExamples(world: LongtailWorld, count = world.options.examples): LongtailExamples {
  const o = world.options;
  const rng = createRng(o.seed).fork(101);
  const ids = o.fields.map(() => new Int32Array(count));
  const labels = new Uint8Array(count);
  const probability = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    for (let f = 0; f < o.fields.length; f++) ids[f]![i] = sampleCumulative(world.cdf[f]!, rng.next());
    const p = logistic(longtailLogit(world, (f) => ids[f]![i]!));
    probability[i] = p;
    labels[i] = rng.next() < p ? 1 : 0;
  }
  return { size: count, ids, labels, probability };
}

/** Examples [start, end) of a set. */
export function sliceLongtail(examples: LongtailExamples, start: number, end: number): LongtailExamples {
  return { size: end - start, ids: examples.ids.map((a) => a.subarray(start, end)), labels: examples.labels.subarray(start, end), probability: examples.probability.subarray(start, end) };
}

/** Per field: how often each id occurs in a set. */
export function longtailCounts(world: LongtailWorld, examples: LongtailExamples): Int32Array[] {
  return world.options.fields.map((f, i) => {
    const counts = new Int32Array(f.vocabulary);
    for (const r of examples.ids[i]!) counts[r]!++;
    return counts;
  });
}

export const HISTORY_FIELD = 'hist_items';

/**
 * The feature encoder of a training set: like FeatureEncoder.fit, every id
 * seen in training (as a field value, or in a history for items) gets a row;
 * the rest map to the unknown id. Field `user` reads user_id, `item` item_id,
 * the others context.<name>; the behaviour sequence is `hist_items`.
 */
export function longtailEncoder(world: LongtailWorld, train: LongtailExamples): FeatureEncoder {
  const o = world.options;
  const spec = parseFeatureSpec({
    name: 'longtail', version: 1,
    behaviour: { types: ['click'], positiveOnly: true, maxLength: o.maxHistory },
    fields: [
      ...o.fields.map((f) => ({ kind: 'categorical', name: f.name, source: f.name === 'user' ? 'user_id' : f.name === 'item' ? 'item_id' : `context.${f.name}` })),
      { kind: 'sequence', name: HISTORY_FIELD, of: 'item', maxLength: o.maxHistory },
    ],
  }, 'long-tail feature spec');
  const counts = longtailCounts(world, train);
  const { userField: user, itemField: item } = world;
  const { offsets, items } = world.history;
  for (const u of train.ids[user]!) for (let j = offsets[u]!; j < offsets[u + 1]!; j++) counts[item]![items[j]!]!++;
  const vocabularies = Object.fromEntries(o.fields.map((f, i) => {
    const tokens: string[] = [];
    // Rank order: the ids' ids then follow their frequency, as FeatureEncoder.fit's do.
    counts[i]!.forEach((n, r) => { if (n > 0) tokens.push(String(r)); });
    return [f.name, new FixedVocabulary(tokens)];
  }));
  return new FeatureEncoder(spec, vocabularies);
}

/** The model inputs of a set, as FeatureEncoder.encode would make them from the equivalent examples. */
export function encodeLongtail(world: LongtailWorld, encoder: FeatureEncoder, examples: LongtailExamples): EncodedBatch {
  const o = world.options;
  const idMaps = o.fields.map((f) => {
    // Rank → model id through the encoder's own vocabulary, once per distinct rank.
    const map = new Int32Array(f.vocabulary).fill(-1);
    return (r: number): number => (map[r]! >= 0 ? map[r]! : (map[r] = encoder.idOf(f.name, String(r))));
  });
  const single: Record<string, Int32Array> = {};
  o.fields.forEach((f, i) => {
    const out = new Int32Array(examples.size);
    const ids = examples.ids[i]!;
    for (let n = 0; n < examples.size; n++) out[n] = idMaps[i]!(ids[n]!);
    single[f.name] = out;
  });
  const { userField: user, itemField: item } = world;
  const { offsets, items } = world.history;
  const width = o.maxHistory;
  const history = new Int32Array(examples.size * width).fill(PAD_ID);
  const lengths = new Int32Array(examples.size);
  for (let n = 0; n < examples.size; n++) {
    const u = examples.ids[user]![n]!;
    const start = offsets[u]!;
    lengths[n] = offsets[u + 1]! - start;
    for (let j = 0; j < lengths[n]!; j++) history[n * width + j] = idMaps[item]!(items[start + j]!);
  }
  return {
    size: examples.size,
    labels: Float32Array.from(examples.labels),
    userIds: Array.from(examples.ids[user]!, (u) => `u${u}`),
    itemIds: Array.from(examples.ids[item]!, (r) => `i${r}`),
    single,
    lists: { [HISTORY_FIELD]: { ids: history, lengths, maxLength: width } },
  };
}

export interface LongtailReport {
  examples: number;
  clickRate: number;
  /** AUC of the labels scored by their true probabilities: the ceiling for any model. */
  bayesAuc: number;
  /** Distinct ids that occur, over all fields. */
  distinctIds: number;
}

export function longtailReport(world: LongtailWorld, examples: LongtailExamples): LongtailReport {
  let clicks = 0;
  for (const y of examples.labels) clicks += y;
  const distinctIds = longtailCounts(world, examples).reduce((n, c) => n + c.reduce((m, x) => m + (x > 0 ? 1 : 0), 0), 0);
  return { examples: examples.size, clickRate: clicks / Math.max(1, examples.size), bayesAuc: auc(examples.labels, examples.probability), distinctIds };
}
