import { calibration, type CalibrationBin } from '../../models/metrics/classification.js';
import { predictClick, type ClickModel } from './estimators/click-model.js';
import { crossFit, foldOf, type FoldRows } from './estimators/cross-fit.js';
import type { LoggedDecision } from './estimators/logged-decision.js';
import { PolicyStats, accumulateDecision, type Estimator } from './estimators/policy-stats.js';
import { runSteps, type Steps } from './paced-steps.js';
import { policyValueSteps, type PolicyValueResult } from './estimators/policy-value.js';
import { predictionQualitySteps, type QualityResult } from './estimators/prediction-quality.js';
import type { TargetPolicy } from './estimators/ranking-policy.js';
import { loggingMarginals } from './estimators/position-marginals.js';
import { createRng } from '../../features/math/rng.js';

/**
 * Everything a replay computes from the scored decisions of a window, with no
 * I/O: prediction quality of A and B on the shown impressions, the policy
 * values of A and B as rankers of the logged candidate sets, the reward model
 * behind DR (cross-fitted over users) and calibration curves. Users are
 * visited in id order and decisions in log order, so the numbers depend on
 * the data and the seed only.
 */
export interface ScoredDecision extends LoggedDecision {
  scoresA: Float32Array;
  scoresB: Float32Array;
}

export interface EvaluationOptions {
  estimators: readonly Estimator[];
  policy: TargetPolicy;
  positions: number;
  maxWeight: number;
  bootstrapSamples: number;
  seed: number;
}

export interface Evaluation {
  users: number;
  decisions: number;
  impressions: number;
  clicks: number;
  quality: QualityResult;
  policy: PolicyValueResult;
  calibration: { a: CalibrationBin[]; b: CalibrationBin[] };
}

/** Reward-model features of (decision, candidate, position): [1, logit logged score, logit A, logit B, log(1 + position)]. */
export const CLICK_FEATURES = 5;
const logit = (p: number) => {
  const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
  return Math.log(q / (1 - q));
};
function clickFeatures(d: ScoredDecision, a: number, position: number, out: number[] | Float64Array, at = 0): void {
  out[at] = 1;
  out[at + 1] = logit(d.loggedScores[a]!);
  out[at + 2] = logit(d.scoresA[a]!);
  out[at + 3] = logit(d.scoresB[a]!);
  out[at + 4] = Math.log1p(position);
}

function fitRewardModels(decisions: readonly ScoredDecision[], positions: number): [ClickModel, ClickModel] {
  const folds: [FoldRows, FoldRows] = [{ features: [], labels: [] }, { features: [], labels: [] }];
  const row = new Array<number>(CLICK_FEATURES);
  for (const d of decisions) {
    const fold = folds[foldOf(d.userId)];
    d.shown.slice(0, positions).forEach((s, p) => {
      clickFeatures(d, s.index, p, row);
      fold.features.push(...row);
      fold.labels.push(s.reward);
    });
  }
  return crossFit(folds, CLICK_FEATURES);
}

/** q̂ for every candidate at every evaluated position, row-major [position][candidate]. */
function rewardMatrix(d: ScoredDecision, model: ClickModel, positions: number): Float64Array {
  const n = d.candidates.length;
  const depth = Math.min(positions, d.shown.length);
  const q = new Float64Array(depth * n);
  const x = new Float64Array(CLICK_FEATURES);
  for (let p = 0; p < depth; p++) {
    for (let a = 0; a < n; a++) {
      clickFeatures(d, a, p, x);
      q[p * n + a] = predictClick(model, x);
    }
  }
  return q;
}

const requestSeed = (requestId: string, seed: number) => {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < requestId.length; i++) h = Math.imul(h ^ requestId.charCodeAt(i), 0x01000193);
  return h >>> 0;
};

export function evaluateDecisions(decisions: readonly ScoredDecision[], options: EvaluationOptions): Evaluation {
  return runSteps(evaluationSteps(decisions, options));
}

/** Steps of an evaluation (one per user, one per bootstrap resample) for runPaced: about users + 2 × bootstrapSamples of them. */
export function* evaluationSteps(decisions: readonly ScoredDecision[], options: EvaluationOptions): Steps<Evaluation> {
  const byUser = new Map<string, ScoredDecision[]>();
  for (const d of decisions) {
    let list = byUser.get(d.userId);
    if (!list) byUser.set(d.userId, (list = []));
    list.push(d);
  }
  const users = [...byUser.keys()].sort();
  const models = options.estimators.some((e) => e.endsWith('dr')) ? fitRewardModels(decisions, options.positions) : undefined;

  // Prediction quality: one row per shown impression, grouped by user.
  const labels: number[] = [];
  const scoresA: number[] = [];
  const scoresB: number[] = [];
  const rowsByUser: number[][] = [];
  // Policy statistics per user.
  const statsA: PolicyStats[] = [];
  const statsB: PolicyStats[] = [];
  for (const user of users) {
    const rows: number[] = [];
    const sa = new PolicyStats(options.positions);
    const sb = new PolicyStats(options.positions);
    for (const d of byUser.get(user)!) {
      for (const s of d.shown) {
        rows.push(labels.length);
        labels.push(s.reward);
        scoresA.push(d.scoresA[s.index]!);
        scoresB.push(d.scoresB[s.index]!);
      }
      const qhat = models ? rewardMatrix(d, models[foldOf(user)], options.positions) : undefined;
      const rng = createRng(requestSeed(d.requestId, options.seed));
      const uniforms = Array.from({ length: Math.min(options.positions, d.shown.length) }, () => rng.next());
      const target = { policy: options.policy, maxWeight: options.maxWeight };
      const mu = d.logging ? loggingMarginals(d.candidates.length, options.positions, d.logging) : undefined;
      const uniformLogging = d.logging?.scheme === 'epsilon-greedy' && d.logging.epsilon === 1;
      const shared = { shown: d.shown, uniforms, uniformLogging, ...(qhat ? { qhat } : {}), ...(mu ? { loggingMarginals: mu } : {}) };
      const draws = createRng(requestSeed(d.requestId, options.seed + 1));
      accumulateDecision(sa, { ...shared, scores: d.scoresA, random: () => draws.next() }, target);
      accumulateDecision(sb, { ...shared, scores: d.scoresB, random: () => draws.next() }, target);
    }
    rowsByUser.push(rows);
    statsA.push(sa);
    statsB.push(sb);
    yield;
  }
  const bootstrap = { samples: options.bootstrapSamples, seed: options.seed };
  const quality = yield* predictionQualitySteps({ rowsByUser, labels, scoresA, scoresB }, bootstrap);
  const policy = yield* policyValueSteps(statsA, statsB, options.estimators, bootstrap);
  return {
    users: users.length,
    decisions: decisions.length,
    impressions: labels.length,
    clicks: labels.reduce((a, b) => a + b, 0),
    quality,
    policy,
    calibration: { a: calibration(labels, scoresA).bins, b: calibration(labels, scoresB).bins },
  };
}
