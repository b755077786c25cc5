import type { LoggedShown } from './logged-decision.js';
import { conditionalProbabilities, pick, type TargetPolicy } from './ranking-policy.js';
import { targetMarginals } from './position-marginals.js';

/**
 * Sufficient statistics of the policy-value estimators, kept per user so the
 * bootstrap can resample users by adding their statistics.
 *
 * The value of a ranking policy is its expected clicks per request over the
 * first `positions` positions. A click at position p depends on the items at
 * positions ≤ p, so its importance weight is the prefix product
 * w_p = Π_{q≤p} π(a_q | a_<q) / μ(a_q | a_<q) (logged propensities are
 * conditional on earlier positions), clipped at `maxWeight`.
 *
 * The per-position estimators (pp-*) assume the position-based
 * (independence) click model: a click at p depends only on the item at p and
 * p itself. The weight of a click at p is then π_p(a)/μ_p(a) with marginal
 * item-position probabilities (position-marginals.ts), not a prefix product.
 *
 * The item-level estimators (item-*) assume more: the document-based click
 * model, where a click depends on the user and the item only, not on its
 * position. A shown item is then weighted by π(a)/μ(a), the probabilities
 * that the policies show it anywhere in the first `positions` (Σ_p of the
 * marginals: an item is shown at most once), which is far larger than any
 * single position's when the two rankings share items in another order.
 */
export class PolicyStats {
  requests = 0;
  /** Per position: requests that showed an item there. */
  readonly present: Float64Array;
  /** Per position: logged clicks (the logging policy's own value). */
  readonly reward: Float64Array;
  /** Per position: Σ w·r and Σ w (IPS, self-normalised IPS). */
  readonly ipsNum: Float64Array;
  readonly ipsDen: Float64Array;
  /** Per position: clicks and count of events whose prefix the target policy chose too (replay). */
  readonly replayNum: Float64Array;
  readonly replayDen: Float64Array;
  /** Σ over requests and positions of the doubly robust term. */
  dr = 0;
  /** Per position: Σ w·r and Σ w with marginal (per-position) weights; Σ of the per-position DR term. */
  readonly ppNum: Float64Array;
  readonly ppDen: Float64Array;
  ppDr = 0;
  /** Requests whose logging policy has no marginal probabilities here (softmax logging): pp-* are undefined. */
  ppMissing = 0;
  /** Diagnostics of the per-position weights, before clipping. */
  ppCount = 0;
  ppSum = 0;
  ppSquares = 0;
  ppMax = 0;
  ppClipped = 0;
  /** Item-level: Σ w·r, Σ w, Σ of the DR term, Σ of the target's item mass (the expected Σ w), and the weight diagnostics. */
  itemNum = 0;
  itemDen = 0;
  itemDr = 0;
  itemMass = 0;
  itemCount = 0;
  itemSum = 0;
  itemSquares = 0;
  itemMax = 0;
  itemClipped = 0;
  /** Pseudo-inverse: Σ over requests of (clicks in the slate) × γ (see accumulatePseudoInverse); requests it cannot weigh (non-uniform logging). */
  pi = 0;
  piMissing = 0;
  piSquares = 0;
  piSum = 0;
  piMax = 0;
  /** Σ over (request, position) of the target's marginal mass on candidates the logging policy can show there, and the count. */
  supportSum = 0;
  supportCount = 0;
  /** Diagnostics over (request, position) weights, before clipping. */
  weightCount = 0;
  weightSum = 0;
  weightSquares = 0;
  weightMax = 0;
  clipped = 0;

  constructor(readonly positions: number) {
    this.present = new Float64Array(positions);
    this.reward = new Float64Array(positions);
    this.ipsNum = new Float64Array(positions);
    this.ipsDen = new Float64Array(positions);
    this.replayNum = new Float64Array(positions);
    this.replayDen = new Float64Array(positions);
    this.ppNum = new Float64Array(positions);
    this.ppDen = new Float64Array(positions);
  }

  /** this += times · other. */
  add(other: PolicyStats, times = 1): this {
    this.requests += times * other.requests;
    for (const key of ['present', 'reward', 'ipsNum', 'ipsDen', 'replayNum', 'replayDen', 'ppNum', 'ppDen'] as const) {
      const a = this[key];
      const b = other[key];
      for (let p = 0; p < this.positions; p++) a[p] = a[p]! + times * b[p]!;
    }
    this.dr += times * other.dr;
    this.weightCount += times * other.weightCount;
    this.weightSum += times * other.weightSum;
    this.weightSquares += times * other.weightSquares;
    this.weightMax = Math.max(this.weightMax, other.weightMax);
    this.clipped += times * other.clipped;
    for (const key of ['ppDr', 'ppMissing', 'ppCount', 'ppSum', 'ppSquares', 'ppClipped', 'pi', 'piMissing', 'piSquares', 'piSum', 'supportSum', 'supportCount', 'itemNum', 'itemDen', 'itemDr', 'itemMass', 'itemCount', 'itemSum', 'itemSquares', 'itemClipped'] as const) this[key] += times * other[key];
    this.ppMax = Math.max(this.ppMax, other.ppMax);
    this.itemMax = Math.max(this.itemMax, other.itemMax);
    this.piMax = Math.max(this.piMax, other.piMax);
    return this;
  }
}

export interface PolicyInput {
  /** What the logging policy showed, in position order. */
  shown: readonly LoggedShown[];
  /** The target model's scores of the candidates. */
  scores: ArrayLike<number>;
  /** Reward model q̂(candidate, position), row-major [position][candidate]; needed for DR only (0 otherwise). */
  qhat?: ArrayLike<number>;
  /** One uniform draw per position for replay's sampling of a stochastic policy (ignored by greedy). */
  uniforms?: ArrayLike<number>;
  /** The logging policy's μ_p(a), row-major [position][candidate] (loggingMarginals); without it the pp-* terms are not added. */
  loggingMarginals?: ArrayLike<number>;
  /** Draws for a softmax target's sampled marginals. */
  random?: () => number;
  /** True when the logging policy drew each slate uniformly (ε-greedy with ε = 1): the pseudo-inverse estimator needs it here. */
  uniformLogging?: boolean;
}

export interface PolicyOptions {
  policy: TargetPolicy;
  /** Importance weights above this are clipped to it. */
  maxWeight: number;
}

/** Adds one logged decision's contributions to `stats`. */
export function accumulateDecision(stats: PolicyStats, input: PolicyInput, { policy, maxWeight }: PolicyOptions): void {
  const n = input.scores.length;
  const placed = new Array<boolean>(n).fill(false);
  const depth = Math.min(stats.positions, input.shown.length);
  let prefix = 1;
  let matched = true;
  stats.requests++;
  for (let p = 0; p < depth; p++) {
    const { index, propensity, reward } = input.shown[p]!;
    const pi = conditionalProbabilities(input.scores, placed, policy);
    const previous = Math.min(prefix, maxWeight);
    const raw = prefix * (pi[index]! / propensity);
    prefix = raw;
    const w = Math.min(raw, maxWeight);
    stats.present[p]!++;
    stats.reward[p] = stats.reward[p]! + reward;
    stats.ipsNum[p] = stats.ipsNum[p]! + w * reward;
    stats.ipsDen[p] = stats.ipsDen[p]! + w;
    matched = matched && pick(pi, input.uniforms?.[p] ?? 0) === index;
    if (matched) {
      stats.replayDen[p]!++;
      stats.replayNum[p] = stats.replayNum[p]! + reward;
    }
    if (input.qhat) {
      let direct = 0;
      for (let a = 0; a < n; a++) if (pi[a]! > 0) direct += pi[a]! * input.qhat[p * n + a]!;
      stats.dr += previous * direct + w * (reward - input.qhat[p * n + index]!);
    } else {
      stats.dr += w * reward;
    }
    stats.weightCount++;
    stats.weightSum += raw;
    stats.weightSquares += raw * raw;
    stats.weightMax = Math.max(stats.weightMax, raw);
    if (raw > maxWeight) stats.clipped++;
    placed[index] = true;
  }
  if (input.loggingMarginals) {
    const pi = targetMarginals(input.scores, depth, policy, input.random);
    accumulatePerPosition(stats, input, input.loggingMarginals, pi, depth, maxWeight);
    accumulateItemLevel(stats, input, input.loggingMarginals, pi, depth, maxWeight);
  } else {
    stats.ppMissing++;
  }
  if (input.uniformLogging) accumulatePseudoInverse(stats, input, depth, policy);
  else stats.piMissing++;
}

/**
 * The pseudo-inverse estimator (Swaminathan et al., 2017) for a slate reward
 * that is a sum of per-(position, item) terms. Under uniform logging of ℓ of
 * m candidates without repetition, Γ = E[1_s 1_sᵀ] has three non-zero
 * eigenspaces (ℓ/m, (m − ℓ)/(m(m − 1)), 1/(m − 1)), so qᵀΓ^†1_s has the
 * closed form γ = 1 + (m − 1)·(S + (T − ℓ)/(m − ℓ)) with S = Σ_p π_p(a_p)
 * and T = Σ over the logged items of Σ_p π_p(item) (for ℓ = m the middle
 * eigenspace vanishes: γ = 1 + (m − 1)·(S − 1)). Other logging policies need
 * their pairwise item-position marginals, not derived here.
 */
function accumulatePseudoInverse(stats: PolicyStats, input: PolicyInput, depth: number, policy: TargetPolicy): void {
  const m = input.scores.length;
  const pi = targetMarginals(input.scores, depth, policy, input.random);
  let S = 0, T = 0, clicks = 0;
  for (let p = 0; p < depth; p++) {
    const a = input.shown[p]!.index;
    S += pi[p * m + a]!;
    for (let q = 0; q < depth; q++) T += pi[q * m + a]!;
    clicks += input.shown[p]!.reward;
  }
  const gamma = depth === m ? 1 + (m - 1) * (S - 1) : 1 + (m - 1) * (S + (T - depth) / (m - depth));
  stats.pi += gamma * clicks;
  stats.piSum += gamma;
  stats.piSquares += gamma * gamma;
  stats.piMax = Math.max(stats.piMax, Math.abs(gamma));
}

function accumulatePerPosition(stats: PolicyStats, input: PolicyInput, mu: ArrayLike<number>, pi: ArrayLike<number>, depth: number, maxWeight: number): void {
  const n = input.scores.length;
  for (let p = 0; p < depth; p++) {
    const { index, reward } = input.shown[p]!;
    const raw = pi[p * n + index]! / mu[p * n + index]!;
    const w = Math.min(raw, maxWeight);
    stats.ppNum[p] = stats.ppNum[p]! + w * reward;
    stats.ppDen[p] = stats.ppDen[p]! + w;
    if (input.qhat) {
      let direct = 0;
      for (let a = 0; a < n; a++) if (pi[p * n + a]! > 0) direct += pi[p * n + a]! * input.qhat[p * n + a]!;
      stats.ppDr += direct + w * (reward - input.qhat[p * n + index]!);
    } else {
      stats.ppDr += w * reward;
    }
    stats.ppCount++;
    stats.ppSum += raw;
    stats.ppSquares += raw * raw;
    stats.ppMax = Math.max(stats.ppMax, raw);
    if (raw > maxWeight) stats.ppClipped++;
    let supported = 0;
    for (let a = 0; a < n; a++) if (mu[p * n + a]! > 0) supported += pi[p * n + a]!;
    stats.supportSum += supported;
    stats.supportCount++;
  }
}

/**
 * Item-level terms of one decision. The reward model enters as q̂(a), its
 * prediction averaged over positions with the logging policy's weights
 * μ_p(a)/μ(a): a position-free q̂ keeps DR unbiased under the item-level
 * model whatever the reward model gets wrong.
 */
function accumulateItemLevel(stats: PolicyStats, input: PolicyInput, mu: ArrayLike<number>, pi: ArrayLike<number>, depth: number, maxWeight: number): void {
  const n = input.scores.length;
  const muItem = new Float64Array(n);
  const piItem = new Float64Array(n);
  const qItem = new Float64Array(n);
  for (let p = 0; p < depth; p++) {
    for (let a = 0; a < n; a++) {
      const m = mu[p * n + a]!;
      muItem[a] = muItem[a]! + m;
      piItem[a] = piItem[a]! + pi[p * n + a]!;
      if (input.qhat) qItem[a] = qItem[a]! + m * input.qhat[p * n + a]!;
    }
  }
  let direct = 0;
  for (let a = 0; a < n; a++) {
    if (muItem[a]! > 0) qItem[a] = qItem[a]! / muItem[a]!;
    direct += piItem[a]! * qItem[a]!;
    stats.itemMass += piItem[a]!;
  }
  stats.itemDr += direct;
  for (let p = 0; p < depth; p++) {
    const { index, reward } = input.shown[p]!;
    const raw = piItem[index]! / muItem[index]!;
    const w = Math.min(raw, maxWeight);
    stats.itemNum += w * reward;
    stats.itemDen += w;
    stats.itemDr += w * (reward - qItem[index]!);
    stats.itemCount++;
    stats.itemSum += raw;
    stats.itemSquares += raw * raw;
    stats.itemMax = Math.max(stats.itemMax, raw);
    if (raw > maxWeight) stats.itemClipped++;
  }
}

export const ESTIMATORS = ['replay', 'ips', 'snips', 'dr', 'pp-ips', 'pp-snips', 'pp-dr', 'item-ips', 'item-snips', 'item-dr', 'pi'] as const;
export type Estimator = (typeof ESTIMATORS)[number];

export interface PolicyValues {
  /** The logging policy's value: logged clicks per request. */
  logging: number;
  replay: number;
  ips: number;
  snips: number;
  dr: number;
  'pp-ips': number;
  'pp-snips': number;
  'pp-dr': number;
  'item-ips': number;
  'item-snips': number;
  'item-dr': number;
  pi: number;
}

/**
 * The estimators from (summed) statistics. Self-normalised IPS and replay
 * normalise each position over the requests that reach it, scaled by the
 * share of requests that do; a position no event matched makes replay NaN.
 */
export function policyValues(s: PolicyStats): PolicyValues {
  const n = s.requests;
  let logging = 0, ips = 0, snips = 0, replay = 0, ppIps = 0, ppSnips = 0;
  for (let p = 0; p < s.positions; p++) {
    if (s.present[p] === 0) continue;
    const share = s.present[p]! / n;
    logging += s.reward[p]! / n;
    ips += s.ipsNum[p]! / n;
    snips += s.ipsDen[p]! > 0 ? share * (s.ipsNum[p]! / s.ipsDen[p]!) : 0;
    replay += s.replayDen[p]! > 0 ? share * (s.replayNum[p]! / s.replayDen[p]!) : Number.NaN;
    ppIps += s.ppNum[p]! / n;
    ppSnips += s.ppDen[p]! > 0 ? share * (s.ppNum[p]! / s.ppDen[p]!) : 0;
  }
  const pp = (v: number) => (s.ppMissing > 0 ? Number.NaN : v);
  const itemSnips = s.itemDen > 0 ? (s.itemMass / n) * (s.itemNum / s.itemDen) : 0;
  return {
    logging, replay, ips, snips, dr: s.dr / n,
    'pp-ips': pp(ppIps), 'pp-snips': pp(ppSnips), 'pp-dr': pp(s.ppDr / n),
    'item-ips': pp(s.itemNum / n), 'item-snips': pp(itemSnips), 'item-dr': pp(s.itemDr / n),
    pi: s.piMissing > 0 ? Number.NaN : s.pi / n,
  };
}

export interface WeightDiagnostics {
  /** (Σw)² / Σw² over the estimator's weights; NaN for replay (matching has no weights). */
  ess: number;
  /** How many weights (or, for replay, matched (request, position) events). */
  weights: number;
  maxWeight: number;
  /** Share of weights clipped at maxWeight. */
  clipRate: number;
  /** Share of the target's item-position mass where the logging policy can show an item; NaN when its marginals are unknown. */
  support: number;
}

export function weightDiagnostics(s: PolicyStats, estimator: Estimator): WeightDiagnostics {
  const support = s.supportCount > 0 ? s.supportSum / s.supportCount : Number.NaN;
  const ess = (sum: number, squares: number) => (squares > 0 ? (sum * sum) / squares : 0);
  if (estimator === 'replay') return { ess: Number.NaN, weights: s.replayDen.reduce((a, b) => a + b, 0), maxWeight: Number.NaN, clipRate: Number.NaN, support };
  if (estimator === 'pi') return { ess: ess(s.piSum, s.piSquares), weights: s.requests - s.piMissing, maxWeight: s.piMax, clipRate: 0, support };
  if (estimator.startsWith('item-')) {
    return { ess: ess(s.itemSum, s.itemSquares), weights: s.itemCount, maxWeight: s.itemMax, clipRate: s.itemCount > 0 ? s.itemClipped / s.itemCount : 0, support };
  }
  if (estimator.startsWith('pp-')) {
    return { ess: ess(s.ppSum, s.ppSquares), weights: s.ppCount, maxWeight: s.ppMax, clipRate: s.ppCount > 0 ? s.ppClipped / s.ppCount : 0, support };
  }
  return { ess: ess(s.weightSum, s.weightSquares), weights: s.weightCount, maxWeight: s.weightMax, clipRate: s.weightCount > 0 ? s.clipped / s.weightCount : 0, support };
}
