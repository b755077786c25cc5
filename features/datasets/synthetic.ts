import { auc } from '../math/auc.js';
import { createRng, cumulative, dirichlet, sampleCumulative, type Rng } from '../math/rng.js';
import type { Event, InteractionEvent } from '../events/event-schema.js';

/**
 * A click stream with planted structure, deterministic from a seed:
 * - items have Zipf popularity (impression frequency), a category, a latent
 *   vector and a quality;
 * - users have interests over categories and a latent vector; interests drift
 *   gradually (a linear path between two draws over the stream) and, if asked,
 *   abruptly at `abruptDriftAt` (both re-drawn);
 * - a click is drawn from a known logistic model of user × item × history:
 *   logit = bias + wInterest·log(C·θ_u(t)[c_i]) + wAffinity·⟨a_u, b_i⟩/√k
 *           + wHistory·(share of the user's last 10 clicks in c_i) + wQuality·q_i, q_i ~ N(0, 1).
 * Because the true click probability of every impression is known, the
 * Bayes-optimal AUC of the labels is known too: the ceiling for any model.
 */
export interface SyntheticOptions {
  /** @default 42 */
  seed?: number;
  /** @default 2000 */
  users?: number;
  /** @default 5000 */
  items?: number;
  /** @default 20 */
  categories?: number;
  /** Impressions to generate. @default 200_000 */
  events?: number;
  /** @default 8 */
  latentDim?: number;
  /** Popularity exponent of the item Zipf law. @default 1.1 */
  zipfExponent?: number;
  /** Dirichlet concentration of user interests; small = focused users. @default 0.3 */
  interestConcentration?: number;
  /** Epoch ms of the first event. @default 2024-01-01T00:00:00Z */
  startTs?: number;
  /** Event time covered by the stream. @default 30 days */
  durationMs?: number;
  /** Share of the stream (0..1) after which users' interests are re-drawn; none by default. */
  abruptDriftAt?: number;
  /** Click-model weights. */
  weights?: Partial<ClickWeights>;
}

export interface ClickWeights {
  bias: number;
  interest: number;
  affinity: number;
  history: number;
  quality: number;
}

export const DEFAULT_WEIGHTS: ClickWeights = { bias: -1.6, interest: 0.9, affinity: 0.8, history: 1.5, quality: 0.5 };
const HISTORY_WINDOW = 10;

export interface SyntheticImpression {
  event: InteractionEvent;
  /** The true click probability the label was drawn from. */
  probability: number;
}

type Resolved = Required<Omit<SyntheticOptions, 'abruptDriftAt' | 'weights'>> & { abruptDriftAt: number | undefined; weights: ClickWeights };

export function resolveSyntheticOptions(options: SyntheticOptions = {}): Resolved {
  return {
    seed: 42, users: 2000, items: 5000, categories: 20, events: 200_000, latentDim: 8, zipfExponent: 1.1,
    interestConcentration: 0.3, startTs: Date.UTC(2024, 0, 1), durationMs: 30 * 86_400_000,
    ...options,
    abruptDriftAt: options.abruptDriftAt,
    weights: { ...DEFAULT_WEIGHTS, ...options.weights },
  };
}

interface UserState {
  from: Float64Array;
  to: Float64Array;
  latent: Float64Array;
  recent: number[];
}

function normals(rng: Rng, k: number): Float64Array {
  const v = new Float64Array(k);
  for (let i = 0; i < k; i++) v[i] = rng.normal();
  return v;
}

/** The item and user attribute updates that precede the impressions. */
export function syntheticCatalog(options: SyntheticOptions = {}): Event[] {
  const o = resolveSyntheticOptions(options);
  const world = buildWorld(o);
  const ts = o.startTs - 1000;
  const events: Event[] = [];
  for (let i = 0; i < o.items; i++) {
    events.push({ schema_version: 1, type: 'item_update', event_id: `syn-${o.seed}-item-${i}`, ts, item_id: `i${i}`, attributes: { category: `c${world.category[i]}` } });
  }
  for (let u = 0; u < o.users; u++) {
    events.push({ schema_version: 1, type: 'user_update', event_id: `syn-${o.seed}-user-${u}`, ts, user_id: `u${u}`, attributes: { segment: `s${world.segment[u]}` } });
  }
  return events;
}

function buildWorld(o: Resolved) {
  const rng = createRng(o.seed);
  const itemRng = rng.fork(1);
  const category = new Int32Array(o.items);
  const itemLatent: Float64Array[] = [];
  const quality = new Float64Array(o.items);
  const popularity = new Float64Array(o.items);
  // Popularity rank is a random permutation, so item ids carry no signal.
  const rank = Array.from({ length: o.items }, (_, i) => i);
  for (let i = o.items - 1; i > 0; i--) {
    const j = itemRng.int(i + 1);
    [rank[i], rank[j]] = [rank[j]!, rank[i]!];
  }
  for (let i = 0; i < o.items; i++) {
    category[i] = itemRng.int(o.categories);
    itemLatent.push(normals(itemRng, o.latentDim));
    quality[i] = itemRng.normal();
    popularity[i] = 1 / (rank[i]! + 1) ** o.zipfExponent;
  }
  const segment = new Int32Array(o.users);
  const segmentRng = rng.fork(2);
  for (let u = 0; u < o.users; u++) segment[u] = segmentRng.int(8);
  return { rng, category, itemLatent, quality, popularityCdf: cumulative(popularity), segment };
}

/**
 * The impressions, in time order, each with its true click probability.
 * A generator, so a Kafka load or a long stream never has to fit in memory.
 */
export function* syntheticImpressions(options: SyntheticOptions = {}): Generator<SyntheticImpression> {
  const o = resolveSyntheticOptions(options);
  const w = o.weights;
  const world = buildWorld(o);
  const userRng = world.rng.fork(3);
  const drawUser = (): UserState => ({
    from: dirichlet(userRng, o.interestConcentration, o.categories),
    to: dirichlet(userRng, o.interestConcentration, o.categories),
    latent: normals(userRng, o.latentDim),
    recent: [],
  });
  const users = Array.from({ length: o.users }, drawUser);
  const streamRng = world.rng.fork(4);
  const driftIndex = o.abruptDriftAt === undefined ? -1 : Math.floor(o.abruptDriftAt * o.events);
  const step = o.durationMs / o.events;
  const sqrtK = Math.sqrt(o.latentDim);

  for (let k = 0; k < o.events; k++) {
    if (k === driftIndex) {
      for (let u = 0; u < o.users; u++) {
        const fresh = drawUser();
        users[u] = { ...fresh, recent: users[u]!.recent };
      }
    }
    const u = streamRng.int(o.users);
    const i = sampleCumulative(world.popularityCdf, streamRng.next());
    const user = users[u]!;
    const c = world.category[i]!;
    const progress = k / o.events;
    const theta = (1 - progress) * user.from[c]! + progress * user.to[c]!;
    const interest = Math.max(-4, Math.log(o.categories * theta + 1e-9));
    let dot = 0;
    const b = world.itemLatent[i]!;
    for (let d = 0; d < o.latentDim; d++) dot += user.latent[d]! * b[d]!;
    const historyShare = user.recent.length === 0 ? 0 : user.recent.filter((rc) => rc === c).length / user.recent.length;
    const logit = w.bias + w.interest * interest + (w.affinity * dot) / sqrtK + w.history * historyShare + w.quality * world.quality[i]!;
    const probability = 1 / (1 + Math.exp(-logit));
    const label = streamRng.next() < probability ? 1 : 0;
    if (label === 1) {
      user.recent.push(c);
      if (user.recent.length > HISTORY_WINDOW) user.recent.shift();
    }
    yield {
      probability,
      event: {
        schema_version: 1, type: 'impression', event_id: `syn-${o.seed}-${k}`, ts: Math.floor(o.startTs + k * step),
        user_id: `u${u}`, item_id: `i${i}`, label,
      },
    };
  }
}

/** Catalog updates followed by impressions: the whole stream in the event schema. */
export function* syntheticEvents(options: SyntheticOptions = {}): Generator<Event> {
  yield* syntheticCatalog(options);
  for (const { event } of syntheticImpressions(options)) yield event;
}

export interface BayesReport {
  events: number;
  clickRate: number;
  /** AUC of the labels scored by their true probabilities. */
  bayesAuc: number;
}

/** The Bayes-optimal AUC over impressions [from, to) (fractions of the stream). */
export function syntheticBayesReport(options: SyntheticOptions = {}, from = 0, to = 1): BayesReport {
  const o = resolveSyntheticOptions(options);
  const lo = Math.floor(from * o.events), hi = Math.floor(to * o.events);
  const labels: number[] = [];
  const scores: number[] = [];
  let k = 0;
  for (const { event, probability } of syntheticImpressions(o)) {
    if (k >= lo && k < hi) {
      labels.push(event.label!);
      scores.push(probability);
    }
    if (++k >= hi) break;
  }
  return { events: labels.length, clickRate: labels.reduce((a, b) => a + b, 0) / labels.length, bayesAuc: auc(labels, scores) };
}
