import { createRng, dirichlet } from '../../features/math/rng.js';
import { resolveSyntheticOptions, type SyntheticOptions } from '../../features/datasets/synthetic-options.js';
import { buildSyntheticWorld, rememberClick, type SyntheticWorld } from '../../features/datasets/synthetic-world.js';
import { UserPosterior, type Impression, type UserPrior } from './user-posterior.js';

/**
 * The stream-drift experiment's informed learner: it knows everything the
 * synthetic generator knows except each user's parameters — item
 * categories, latent vectors and qualities, the click model's weights and
 * form, the drift's position — and it sees the stream's labels, so it keeps
 * each user's last clicks as the generator does. Each user's interests and
 * latent vector are learned from that user's own impressions since the last
 * abrupt drift (a fresh posterior at the drift: the generator re-draws every
 * user), each impression scored before it is learned from. Its progressive
 * AUC estimates what a learner of the stream can reach, where the Bayes AUC
 * assumes the parameters known.
 *
 * Approximations: a user's interests are treated as constant between drifts
 * (the generator moves them linearly from one draw to another over the
 * stream), with a Gaussian prior on the interest term whose mean and
 * variance are those of the generator's prior at the middle of the segment;
 * the posterior is Laplace's (user-posterior.ts). A learner could do better
 * by modelling the gradual drift and the non-Gaussian prior exactly.
 */
export class InformedLearner {
  private readonly world: SyntheticWorld;
  private readonly recent: number[][];
  private posteriors = new Map<number, UserPosterior>();
  private prior: UserPrior;
  private readonly priorBefore: UserPrior;
  private readonly priorAfter: UserPrior;
  private readonly driftIndex: number;
  private readonly events: number;

  constructor(options: SyntheticOptions, { priorSamples = 20_000 } = {}) {
    const o = resolveSyntheticOptions(options);
    this.world = buildSyntheticWorld(o);
    this.recent = Array.from({ length: o.users }, () => []);
    this.events = o.events;
    this.driftIndex = o.abruptDriftAt === undefined ? -1 : Math.floor(o.abruptDriftAt * o.events);
    const mid = (from: number, to: number) => (from + to) / 2 / o.events;
    const prior = (progress: number): UserPrior => ({
      categories: o.categories, latentDim: o.latentDim,
      ...interestTermMoments(o.interestConcentration, o.categories, this.world.weights.interest, progress, priorSamples, o.seed),
    });
    this.priorBefore = prior(this.driftIndex < 0 ? 0.5 : mid(0, this.driftIndex));
    this.priorAfter = this.driftIndex < 0 ? this.priorBefore : prior(mid(this.driftIndex, o.events));
    this.prior = this.priorBefore;
  }

  /** The k-th impression (0-based, stream order) of user `u` on item `i`: its score, computed before the label is learned. */
  score(k: number, u: number, i: number): { score: number; impression: Impression } {
    if (k === this.driftIndex) {
      this.posteriors = new Map();
      this.prior = this.priorAfter;
    }
    const impression = this.impression(u, i);
    return { score: this.posterior(u).predict(impression), impression };
  }

  /** Learns the label of the impression just scored. */
  learn(u: number, i: number, impression: Impression, label: number): void {
    this.posterior(u).observe(impression, label);
    if (label === 1) rememberClick(this.world, this.recent[u]!, i);
  }

  /** Scores then learns every impression; returns the scores in stream order. */
  run(impressions: Iterable<{ user: number; item: number; label: number }>): Float64Array {
    const scores = new Float64Array(this.events);
    let k = 0;
    for (const x of impressions) {
      const { score, impression } = this.score(k, x.user, x.item);
      scores[k++] = score;
      this.learn(x.user, x.item, impression, x.label);
    }
    return scores.subarray(0, k);
  }

  private posterior(u: number): UserPosterior {
    let p = this.posteriors.get(u);
    if (!p) this.posteriors.set(u, (p = new UserPosterior(this.prior)));
    return p;
  }

  private impression(u: number, i: number): Impression {
    return knownTerms(this.world, this.recent[u]!, i);
  }
}

/**
 * The generator's logit of an impression of item `i`, less the user's own terms: the
 * category, the item's latent vector scaled as it enters ⟨a_u, ·⟩, and the rest (bias,
 * history share of the `recent` clicked categories, quality) as the offset.
 */
export function knownTerms(world: SyntheticWorld, recent: readonly number[], i: number): Impression {
  const w = world.weights;
  const c = world.category[i]!;
  const share = recent.length === 0 ? 0 : recent.filter((rc) => rc === c).length / recent.length;
  const scale = w.affinity / Math.sqrt(world.latentDim);
  const b = world.itemLatent[i]!;
  const z = new Float64Array(world.latentDim);
  for (let d = 0; d < world.latentDim; d++) z[d] = scale * b[d]!;
  return { category: c, z, offset: w.bias + w.history * share + w.quality * world.quality[i]! };
}

/** The user's interest term of the generator's logit for interest θ[c] in the item's category. */
export const interestTerm = (world: SyntheticWorld, theta: number): number =>
  world.weights.interest * Math.max(-4, Math.log(world.categories * theta + 1e-9));

/**
 * Mean and variance of the generator's interest term wInterest·max(-4, log(C·θ[c])) at stream
 * position `progress`, θ = (1 − progress)·θ_from + progress·θ_to with θ_from, θ_to ~ Dirichlet(α), by Monte Carlo.
 */
export function interestTermMoments(alpha: number, categories: number, weight: number, progress: number, samples: number, seed: number): { interestMean: number; interestVariance: number } {
  const rng = createRng(seed ^ 0x5eed);
  let sum = 0, sq = 0, n = 0;
  for (let s = 0; s < samples; s++) {
    const from = dirichlet(rng, alpha, categories);
    const to = dirichlet(rng, alpha, categories);
    for (let c = 0; c < categories; c++) {
      const theta = (1 - progress) * from[c]! + progress * to[c]!;
      const v = weight * Math.max(-4, Math.log(categories * theta + 1e-9)); // as interestTerm
      sum += v;
      sq += v * v;
      n++;
    }
  }
  const mean = sum / n;
  return { interestMean: mean, interestVariance: sq / n - mean * mean };
}
