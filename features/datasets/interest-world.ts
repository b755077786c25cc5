import { auc } from '../math/auc.js';
import { createRng, cumulative, dirichlet, sampleCumulative, type Rng } from '../math/rng.js';
import type { Event, InteractionEvent } from '../events/event-schema.js';

/**
 * A second synthetic world, built for what DIN was designed for (issue 22):
 * users with several distinct interests, long histories of clicks and
 * non-clicks, and a click probability set by the candidate's closeness to the
 * RELEVANT part of the history, not to its average.
 *
 * - Categories have centres μ_c ~ N(0, I_d); an item of category c has the
 *   latent vector v_i = μ_c + itemSpread·ε and a quality q_i ~ N(0, 1).
 * - A user has K ∈ [minInterests, maxInterests] interests in distinct
 *   categories, each a taste centre z_k = μ_{c_k} + tasteSpread·η inside its
 *   category, with a weight w_k ~ Dirichlet(interestConcentration).
 * - A user sees `impressions` items, spread uniformly over the time span: with
 *   probability exploreRate any item (uniform), otherwise an interest k ~ w and
 *   an item of c_k drawn ∝ exp(−‖v_i − z_k‖² / (2·focus²)), so the history
 *   reveals every taste centre, minor interests included.
 * - The click probability of item i:
 *     logit = bias + wRelevance·max_k exp(−‖v_i − z_k‖² / (2·bandwidth²)) + wQuality·q_i.
 *   The max over interests, not their weight: a minor interest is as
 *   clickable as the main one. The mean of the history (what mean pooling
 *   sees) lies between the centres, far from each, so it blurs the signal;
 *   `blurredProbability` is that oracle (the same logit with the weighted
 *   mean centre Σ w_k z_k), and its AUC sits well below the Bayes AUC.
 * Clicked impressions are followed by a click event (ts + 1), so a behaviour
 * sequence of impressions and clicks holds the non-clicks once and the
 * clicks twice: the model can tell them apart by repetition.
 */
export interface InterestWorldOptions {
  /** @default 7 */
  seed?: number;
  /** @default 300 */
  users?: number;
  /** @default 1000 */
  items?: number;
  /** @default 20 */
  categories?: number;
  /** @default 8 */
  latentDim?: number;
  /** Impressions per user, uniform in [min, max]: histories of about 50–200 behaviours (impressions + clicks) by the test period. @default 40 */
  minImpressions?: number;
  /** @default 200 */
  maxImpressions?: number;
  /** @default 2 */
  minInterests?: number;
  /** @default 5 */
  maxInterests?: number;
  /** Dirichlet concentration of the interest weights; 1 = uniform on the simplex. @default 1 */
  interestConcentration?: number;
  /** Spread of items around their category centre. @default 0.6 */
  itemSpread?: number;
  /** Spread of a user's taste centre around its category centre. @default 0.5 */
  tasteSpread?: number;
  /** Share of impressions drawn from the whole catalog rather than an interest. @default 0.3 */
  exploreRate?: number;
  /** How tightly an interest's impressions gather around its taste centre. @default 0.8 */
  focus?: number;
  /** @default -3 */
  bias?: number;
  /** @default 6 */
  wRelevance?: number;
  /** @default 0.5 */
  wQuality?: number;
  /** Width of the relevance kernel (per latent dimension). @default 0.45 */
  bandwidth?: number;
  /** Epoch ms of the first event. @default 2024-01-01T00:00:00Z */
  startTs?: number;
  /** @default 30 days */
  durationMs?: number;
}

export type ResolvedInterestWorldOptions = Required<InterestWorldOptions>;

export const INTEREST_WORLD_DEFAULTS: ResolvedInterestWorldOptions = {
  seed: 7, users: 300, items: 1000, categories: 20, latentDim: 8, minImpressions: 40, maxImpressions: 200,
  minInterests: 2, maxInterests: 5, interestConcentration: 1, itemSpread: 0.6, tasteSpread: 0.5, exploreRate: 0.3, focus: 0.8,
  bias: -3, wRelevance: 6, wQuality: 0.5, bandwidth: 0.45, startTs: Date.UTC(2024, 0, 1), durationMs: 30 * 86_400_000,
};

export function resolveInterestWorldOptions(options: InterestWorldOptions = {}): ResolvedInterestWorldOptions {
  const r = { ...INTEREST_WORLD_DEFAULTS, ...options };
  const problems: string[] = [];
  for (const key of ['users', 'items', 'categories', 'latentDim', 'minImpressions', 'minInterests'] as const) {
    if (!Number.isInteger(r[key]) || r[key] < 1) problems.push(`${key} must be a positive integer, got ${r[key]}`);
  }
  if (!Number.isInteger(r.maxImpressions) || r.maxImpressions < r.minImpressions) problems.push(`maxImpressions must be an integer ≥ minImpressions (${r.minImpressions}), got ${r.maxImpressions}`);
  if (!Number.isInteger(r.maxInterests) || r.maxInterests < r.minInterests || r.maxInterests > r.categories) problems.push(`maxInterests must be an integer in [minInterests, categories] = [${r.minInterests}, ${r.categories}], got ${r.maxInterests}`);
  if (r.items < r.categories) problems.push(`items (${r.items}) must be at least categories (${r.categories})`);
  if (!(r.exploreRate >= 0 && r.exploreRate <= 1)) problems.push(`exploreRate must be in [0, 1], got ${r.exploreRate}`);
  for (const key of ['interestConcentration', 'focus', 'bandwidth', 'durationMs'] as const) if (!(r[key] > 0)) problems.push(`${key} must be positive, got ${r[key]}`);
  if (problems.length > 0) throw new RangeError(`invalid interest world: ${problems.join('; ')}`);
  return r;
}

export interface Interest {
  category: number;
  centre: Float64Array;
  weight: number;
}

export interface InterestUser {
  interests: Interest[];
  impressions: number;
}

export interface InterestWorld {
  options: ResolvedInterestWorldOptions;
  categoryCentre: Float64Array[];
  category: Int32Array;
  itemLatent: Float64Array[];
  quality: Float64Array;
  /** Items of each category, ascending. */
  itemsOf: number[][];
  user: InterestUser[];
}

function normals(rng: Rng, k: number, scale = 1, around?: Float64Array): Float64Array {
  const v = new Float64Array(k);
  for (let i = 0; i < k; i++) v[i] = (around ? around[i]! : 0) + scale * rng.normal();
  return v;
}

const squaredDistance = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
};

export function buildInterestWorld(options: InterestWorldOptions = {}): InterestWorld {
  const o = resolveInterestWorldOptions(options);
  const rng = createRng(o.seed);
  // Forks: 1 categories and items, 2 users, 3 impressions (interestImpressions).
  const itemRng = rng.fork(1);
  const categoryCentre = Array.from({ length: o.categories }, () => normals(itemRng, o.latentDim));
  const category = new Int32Array(o.items);
  const itemLatent: Float64Array[] = [];
  const quality = new Float64Array(o.items);
  const itemsOf: number[][] = Array.from({ length: o.categories }, () => []);
  for (let i = 0; i < o.items; i++) {
    // Every category gets items: the first `categories` items cover them in turn.
    const c = i < o.categories ? i : itemRng.int(o.categories);
    category[i] = c;
    itemLatent.push(normals(itemRng, o.latentDim, o.itemSpread, categoryCentre[c]));
    quality[i] = itemRng.normal();
    itemsOf[c]!.push(i);
  }
  const userRng = rng.fork(2);
  const user: InterestUser[] = [];
  for (let u = 0; u < o.users; u++) {
    const k = o.minInterests + userRng.int(o.maxInterests - o.minInterests + 1);
    const categories: number[] = [];
    while (categories.length < k) {
      const c = userRng.int(o.categories);
      if (!categories.includes(c)) categories.push(c);
    }
    const weights = dirichlet(userRng, o.interestConcentration, k);
    const interests = categories.map((c, j) => ({ category: c, centre: normals(userRng, o.latentDim, o.tasteSpread, categoryCentre[c]), weight: weights[j]! }));
    user.push({ interests, impressions: o.minImpressions + userRng.int(o.maxImpressions - o.minImpressions + 1) });
  }
  return { options: o, categoryCentre, category, itemLatent, quality, itemsOf, user };
}

/** exp(−‖v − z‖² / (2·bandwidth²·d)): 1 at the centre; the d keeps the kernel's reach independent of the latent dimension. */
export function kernel(world: InterestWorld, item: number, centre: Float64Array): number {
  const { bandwidth, latentDim } = world.options;
  return Math.exp(-squaredDistance(world.itemLatent[item]!, centre) / (2 * bandwidth * bandwidth * latentDim));
}

const logistic = (x: number): number => 1 / (1 + Math.exp(-x));

/** The true click probability: relevance to the CLOSEST interest, plus quality. */
export function interestClickProbability(world: InterestWorld, user: InterestUser, item: number): number {
  let relevance = 0;
  for (const interest of user.interests) relevance = Math.max(relevance, kernel(world, item, interest.centre));
  const { bias, wRelevance, wQuality } = world.options;
  return logistic(bias + wRelevance * relevance + wQuality * world.quality[item]!);
}

/** The mean-pooled oracle: the same click model seen through the weighted mean of the user's taste centres. */
export function blurredProbability(world: InterestWorld, user: InterestUser, item: number): number {
  const mean = new Float64Array(world.options.latentDim);
  for (const { centre, weight } of user.interests) for (let d = 0; d < mean.length; d++) mean[d]! += weight * centre[d]!;
  const { bias, wRelevance, wQuality } = world.options;
  return logistic(bias + wRelevance * kernel(world, item, mean) + wQuality * world.quality[item]!);
}

export interface InterestImpression {
  event: InteractionEvent;
  /** The true click probability the label was drawn from. */
  probability: number;
  /** The mean-pooled oracle's probability (see blurredProbability). */
  blurred: number;
  /** Index of the user's interest the impression was drawn from; −1 for an exploration draw. */
  interest: number;
}

/** Every user's impressions, in time order (ties by user then draw), with their true click probabilities. */
export function interestImpressions(options: InterestWorldOptions = {}, world = buildInterestWorld(options)): InterestImpression[] {
  const o = world.options;
  const rng = createRng(o.seed).fork(3);
  const drawn: { ts: number; u: number; k: number; item: number; interest: number; probability: number; blurred: number; label: 0 | 1 }[] = [];
  for (let u = 0; u < o.users; u++) {
    const user = world.user[u]!;
    const userRng = rng.fork(u);
    const weightCdf = cumulative(user.interests.map((x) => x.weight));
    const itemCdf = user.interests.map((x) => cumulative(world.itemsOf[x.category]!.map((i) => Math.exp(-squaredDistance(world.itemLatent[i]!, x.centre) / (2 * o.focus * o.focus)))));
    // Even (ms) timestamps: the click of an impression takes the odd ms after it, never another impression's.
    const times = Array.from({ length: user.impressions }, () => 2 * Math.floor((userRng.next() * o.durationMs) / 2)).sort((a, b) => a - b);
    times.forEach((ts, k) => {
      let interest = -1, item: number;
      if (userRng.next() < o.exploreRate) item = userRng.int(o.items);
      else {
        interest = sampleCumulative(weightCdf, userRng.next());
        item = world.itemsOf[user.interests[interest]!.category]![sampleCumulative(itemCdf[interest]!, userRng.next())]!;
      }
      const probability = interestClickProbability(world, user, item);
      drawn.push({ ts: o.startTs + ts, u, k, item, interest, probability, blurred: blurredProbability(world, user, item), label: userRng.next() < probability ? 1 : 0 });
    });
  }
  drawn.sort((a, b) => a.ts - b.ts || a.u - b.u || a.k - b.k);
  return drawn.map((d) => ({
    probability: d.probability, blurred: d.blurred, interest: d.interest,
    event: { schema_version: 1, type: 'impression', event_id: `int-${o.seed}-u${d.u}-${d.k}`, ts: d.ts, user_id: `u${d.u}`, item_id: `i${d.item}`, label: d.label },
  }));
}

/** The item catalog (category attributes) before the stream, then impressions and, after each clicked one, its click: the project's event schema. */
export function* interestEvents(options: InterestWorldOptions = {}, impressions = interestImpressions(options)): Generator<Event> {
  const o = resolveInterestWorldOptions(options);
  const world = buildInterestWorld(o);
  for (let i = 0; i < o.items; i++) {
    yield { schema_version: 1, type: 'item_update', event_id: `int-${o.seed}-item-${i}`, ts: o.startTs - 1000, item_id: `i${i}`, attributes: { category: `c${world.category[i]}` } };
  }
  for (const { event } of impressions) {
    yield event;
    if (event.label === 1) yield { schema_version: 1, type: 'click', event_id: `${event.event_id}-click`, ts: event.ts + 1, user_id: event.user_id, item_id: event.item_id, label: 1 };
  }
}

export interface InterestBayesReport {
  impressions: number;
  clickRate: number;
  /** AUC of the labels scored by their true probabilities: the ceiling for any model. */
  bayesAuc: number;
  /** AUC of the labels scored by the mean-pooled oracle. */
  blurredAuc: number;
}

export function interestBayesReport(impressions: readonly InterestImpression[]): InterestBayesReport {
  const labels = impressions.map((x): number => x.event.label ?? 0);
  return {
    impressions: impressions.length,
    clickRate: labels.reduce((a, b) => a + b, 0) / Math.max(1, labels.length),
    bayesAuc: auc(labels, impressions.map((x) => x.probability)),
    blurredAuc: auc(labels, impressions.map((x) => x.blurred)),
  };
}
