import { createRng, cumulative, dirichlet, sampleCumulative, type Rng } from '../math/rng.js';
import { resolveSyntheticOptions, type ClickWeights, type SyntheticOptions } from './synthetic-options.js';

/**
 * The synthetic generator's world, shared by the generator
 * (`syntheticImpressions`) and by simulated users (pipelines/simulation), so
 * a simulated user clicks with the probability the generator uses: item
 * categories, latent vectors and qualities; user segments; user interests
 * (start and end of the gradual drift) and latent vectors.
 *
 * Users u0..u{n-1} do not depend on how many users the world has (they are
 * drawn one after another), so a world of n users holds the first n users of
 * any larger one. Items do depend on the item count (popularity is a shuffle).
 */
export interface SyntheticUser {
  /** Interests over categories at the start and the end of the stream. */
  from: Float64Array;
  to: Float64Array;
  latent: Float64Array;
}

export interface SyntheticWorld {
  items: number;
  users: number;
  categories: number;
  latentDim: number;
  weights: ClickWeights;
  category: Int32Array;
  itemLatent: Float64Array[];
  quality: Float64Array;
  /** Cumulative Zipf popularity (impression frequency) of the items. */
  popularityCdf: Float64Array;
  segment: Int32Array;
  user: SyntheticUser[];
  /** Draws a fresh user from the users' stream (the generator's abrupt drift re-draws every user). */
  drawUser(): SyntheticUser;
  /** The root stream, for the generator's next fork (4: the impressions). */
  rng: Rng;
}

/** The generator's history window: the share of the user's last clicks in the item's category. */
export const HISTORY_WINDOW = 10;

function normals(rng: Rng, k: number): Float64Array {
  const v = new Float64Array(k);
  for (let i = 0; i < k; i++) v[i] = rng.normal();
  return v;
}

export function buildSyntheticWorld(options: SyntheticOptions = {}): SyntheticWorld {
  const resolved = resolveSyntheticOptions(options);
  const rng = createRng(resolved.seed);
  // Forks in the generator's order: 1 items, 2 segments, 3 users.
  const itemRng = rng.fork(1);
  const rank = Array.from({ length: resolved.items }, (_, i) => i);
  for (let i = resolved.items - 1; i > 0; i--) {
    const j = itemRng.int(i + 1);
    [rank[i], rank[j]] = [rank[j]!, rank[i]!];
  }
  const category = new Int32Array(resolved.items);
  const itemLatent: Float64Array[] = [];
  const quality = new Float64Array(resolved.items);
  const popularity = new Float64Array(resolved.items);
  for (let i = 0; i < resolved.items; i++) {
    category[i] = itemRng.int(resolved.categories);
    itemLatent.push(normals(itemRng, resolved.latentDim));
    quality[i] = itemRng.normal();
    popularity[i] = 1 / (rank[i]! + 1) ** resolved.zipfExponent;
  }
  const segment = new Int32Array(resolved.users);
  const segmentRng = rng.fork(2);
  for (let u = 0; u < resolved.users; u++) segment[u] = segmentRng.int(8);
  const userRng = rng.fork(3);
  const drawUser = (): SyntheticUser => ({
    from: dirichlet(userRng, resolved.interestConcentration, resolved.categories),
    to: dirichlet(userRng, resolved.interestConcentration, resolved.categories),
    latent: normals(userRng, resolved.latentDim),
  });
  const user = Array.from({ length: resolved.users }, drawUser);
  return {
    items: resolved.items, users: resolved.users, categories: resolved.categories, latentDim: resolved.latentDim, weights: resolved.weights,
    category, itemLatent, quality, popularityCdf: cumulative(popularity), segment, user, drawUser, rng,
  };
}

/**
 * The generator's true click probability of user `u` on item `i`, with the
 * user's recent clicked categories (oldest first, at most HISTORY_WINDOW) and
 * the stream position `progress` in [0, 1] (interest drift: 0 = start, 1 = end).
 */
export function clickProbability(world: SyntheticWorld, u: number, i: number, recent: readonly number[], progress = 1): number {
  return userClickProbability(world, world.user[u]!, i, recent, progress);
}

/** The same for a user given by value (the generator's users change at an abrupt drift). */
export function userClickProbability(world: SyntheticWorld, user: SyntheticUser, i: number, recent: readonly number[], progress: number): number {
  const w = world.weights;
  const c = world.category[i]!;
  const theta = (1 - progress) * user.from[c]! + progress * user.to[c]!;
  const interest = Math.max(-4, Math.log(world.categories * theta + 1e-9));
  let dot = 0;
  const b = world.itemLatent[i]!;
  for (let d = 0; d < world.latentDim; d++) dot += user.latent[d]! * b[d]!;
  const historyShare = recent.length === 0 ? 0 : recent.filter((rc) => rc === c).length / recent.length;
  const logit = w.bias + w.interest * interest + (w.affinity * dot) / Math.sqrt(world.latentDim) + w.history * historyShare + w.quality * world.quality[i]!;
  return 1 / (1 + Math.exp(-logit));
}

/** `count` distinct items drawn by popularity, as the generator draws impressions (fewer if the catalog is smaller). */
export function sampleItems(world: SyntheticWorld, count: number, rng: Rng): number[] {
  const picked = new Set<number>();
  const want = Math.min(count, world.items);
  for (let attempt = 0; picked.size < want && attempt < want * 50; attempt++) picked.add(sampleCumulative(world.popularityCdf, rng.next()));
  for (let i = 0; picked.size < want; i++) picked.add(i);
  return [...picked];
}

/** Records a click in the user's recent categories, as the generator does. */
export function rememberClick(world: SyntheticWorld, recent: number[], i: number): void {
  recent.push(world.category[i]!);
  if (recent.length > HISTORY_WINDOW) recent.shift();
}
