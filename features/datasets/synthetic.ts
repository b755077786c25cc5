import { auc } from '../math/auc.js';
import { hashInt } from '../hashing.js';
import { createRng, sampleCumulative } from '../math/rng.js';
import type { Event, InteractionEvent } from '../events/event-schema.js';
import { resolveSyntheticOptions, type SyntheticOptions } from './synthetic-options.js';
import { buildSyntheticWorld, rememberClick, userClickProbability } from './synthetic-world.js';

export { DEFAULT_WEIGHTS, resolveSyntheticOptions } from './synthetic-options.js';
export type { ClickWeights, SyntheticOptions } from './synthetic-options.js';

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
 * The world (items, users, the click model) is in synthetic-world.ts, shared
 * with the simulated users of pipelines/simulation.
 */
export interface SyntheticImpression {
  event: InteractionEvent;
  /** The true click probability the label was drawn from. */
  probability: number;
}

/** The item and user attribute updates that precede the impressions. */
export function syntheticCatalog(options: SyntheticOptions = {}): Event[] {
  const resolved = resolveSyntheticOptions(options);
  const world = buildSyntheticWorld(resolved);
  const ts = resolved.startTs - 1000;
  const events: Event[] = [];
  for (let i = 0; i < resolved.items; i++) {
    events.push({ schema_version: 1, type: 'item_update', event_id: `syn-${resolved.seed}-item-${i}`, ts, item_id: `i${i}`, attributes: { category: `c${world.category[i]}` } });
  }
  for (let u = 0; u < resolved.users; u++) {
    events.push({ schema_version: 1, type: 'user_update', event_id: `syn-${resolved.seed}-user-${u}`, ts, user_id: `u${u}`, attributes: { segment: `s${world.segment[u]}` } });
  }
  return events;
}

/**
 * The impressions, in time order, each with its true click probability.
 * A generator, so a Kafka load or a long stream never has to fit in memory.
 */
export function* syntheticImpressions(options: SyntheticOptions = {}): Generator<SyntheticImpression> {
  const resolved = resolveSyntheticOptions(options);
  const world = buildSyntheticWorld(resolved);
  const users = world.user.map((user) => ({ user, recent: [] as number[] }));
  const streamRng = resolved.streamSeed === undefined ? world.rng.fork(4) : createRng(hashInt(resolved.streamSeed, resolved.seed)).fork(4);
  const idPrefix = resolved.streamSeed === undefined ? `syn-${resolved.seed}` : `syn-${resolved.seed}s${resolved.streamSeed}`;
  const driftIndex = resolved.abruptDriftAt === undefined ? -1 : Math.floor(resolved.abruptDriftAt * resolved.events);
  const step = resolved.durationMs / resolved.events;

  for (let k = 0; k < resolved.events; k++) {
    if (k === driftIndex) {
      for (const state of users) state.user = world.drawUser();
    }
    const u = streamRng.int(resolved.users);
    const i = sampleCumulative(world.popularityCdf, streamRng.next());
    const state = users[u]!;
    const probability = userClickProbability(world, state.user, i, state.recent, k / resolved.events);
    const label = streamRng.next() < probability ? 1 : 0;
    if (label === 1) rememberClick(world, state.recent, i);
    yield {
      probability,
      event: {
        schema_version: 1, type: 'impression', event_id: `${idPrefix}-${k}`, ts: Math.floor(resolved.startTs + k * step),
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
  const resolved = resolveSyntheticOptions(options);
  const lo = Math.floor(from * resolved.events), hi = Math.floor(to * resolved.events);
  const labels: number[] = [];
  const scores: number[] = [];
  let k = 0;
  for (const { event, probability } of syntheticImpressions(resolved)) {
    if (k >= lo && k < hi) {
      labels.push(event.label!);
      scores.push(probability);
    }
    if (++k >= hi) break;
  }
  return { events: labels.length, clickRate: labels.reduce((a, b) => a + b, 0) / labels.length, bayesAuc: auc(labels, scores) };
}
