import { bootstrapSteps, type BootstrapOptions } from './bootstrap.js';
import { runSteps, type Steps } from '../paced-steps.js';
import { PolicyStats, policyValues, weightDiagnostics, type Estimator, type PolicyValues, type WeightDiagnostics } from './policy-stats.js';
import type { Estimate } from './prediction-quality.js';
import { diffVerdict, isItemLevel, itemLevelVerdict, leadSentence, undefinedReason, verdictOf, type Verdict } from './verdict.js';

/**
 * Policy values of models A and B from their per-user statistics: each
 * requested estimator with a user-level bootstrap interval, its weight
 * diagnostics and its lift over the logging policy (V / V_logging − 1), plus
 * B − A (users resampled together for both, so the interval is paired);
 * the logging policy's own value with its interval; a verdict per estimate
 * (verdict.ts) and the sentence the result leads with. Weight clipping is
 * the spec's maxWeight, fixed before the data is read.
 */
export interface EstimatorResult extends WeightDiagnostics {
  value: Estimate;
  lift: Estimate;
  verdict: Verdict;
  /** Why the value is missing, when it is. */
  missing?: string;
}

export interface PolicyValueResult {
  logging: Estimate;
  a: Partial<Record<Estimator, EstimatorResult>>;
  b: Partial<Record<Estimator, EstimatorResult>>;
  diff: Partial<Record<Estimator, Estimate & { verdict: Verdict }>>;
  lead: string;
}

function sum(users: readonly PolicyStats[], counts?: ArrayLike<number>): PolicyStats {
  const total = new PolicyStats(users[0]?.positions ?? 0);
  users.forEach((s, u) => {
    const times = counts ? counts[u]! : 1;
    if (times > 0) total.add(s, times);
  });
  return total;
}

export function policyValue(usersA: readonly PolicyStats[], usersB: readonly PolicyStats[], estimators: readonly Estimator[], bootstrap: BootstrapOptions = {}): PolicyValueResult {
  return runSteps(policyValueSteps(usersA, usersB, estimators, bootstrap));
}

/** policyValue one bootstrap resample per step, for runPaced. */
export function* policyValueSteps(usersA: readonly PolicyStats[], usersB: readonly PolicyStats[], estimators: readonly Estimator[], bootstrap: BootstrapOptions = {}): Steps<PolicyValueResult> {
  const values = (counts?: ArrayLike<number>) => {
    const [a, b] = [policyValues(sum(usersA, counts)), policyValues(sum(usersB, counts))];
    const out: Record<string, number> = { logging: a.logging };
    for (const e of estimators) {
      out[`a.${e}`] = a[e];
      out[`b.${e}`] = b[e];
      out[`a.lift.${e}`] = a[e] / a.logging - 1;
      out[`b.lift.${e}`] = b[e] / b.logging - 1;
      out[`diff.${e}`] = b[e] - a[e];
    }
    if (estimators.some(isItemLevel)) {
      out['a.item-check'] = a['item-dr'] - a['pp-dr'];
      out['b.item-check'] = b['item-dr'] - b['pp-dr'];
    }
    return out;
  };
  const point = values();
  const ci = yield* bootstrapSteps(usersA.length, values, bootstrap);
  const est = (key: string): Estimate => ({ value: point[key]!, ...(ci.get(key) ?? { lo: Number.NaN, hi: Number.NaN }) });
  const [totalA, totalB] = [sum(usersA), sum(usersB)];
  const arm = (name: 'a' | 'b', total: PolicyStats) => Object.fromEntries(estimators.map((e) => {
    const value = est(`${name}.${e}`);
    const diagnostics = weightDiagnostics(total, e);
    const verdict = isItemLevel(e) ? itemLevelVerdict(verdictOf(e, value, diagnostics, total), est(`${name}.item-check`)) : verdictOf(e, value, diagnostics, total);
    const missing = Number.isFinite(value.value) ? {} : { missing: undefinedReason(e, total) };
    return [e, { value, lift: est(`${name}.lift.${e}`), ...diagnostics, verdict, ...missing }];
  })) as Partial<Record<Estimator, EstimatorResult>>;
  const [a, b] = [arm('a', totalA), arm('b', totalB)];
  const diff = Object.fromEntries(estimators.map((e) => [e, { ...est(`diff.${e}`), verdict: diffVerdict(a[e]!.verdict, b[e]!.verdict) }])) as PolicyValueResult['diff'];
  return { logging: est('logging'), a, b, diff, lead: leadSentence(Object.fromEntries(estimators.map((e) => [e, { value: diff[e]!, verdict: diff[e]!.verdict }]))) };
}

export type { PolicyValues };
