import { z } from 'zod';
import { parseWith } from '../../infra/config.js';
import { AliasConflictError } from './registry-errors.js';
import type { AliasChange, ModelRegistry } from './model-registry.js';

/** Progressive-validation metrics of one model over the last N events (each scored before it was trained on). */
export interface ProgressiveMetrics {
  /** How many events the figures cover. */
  events: number;
  auc: number | null;
  logloss: number | null;
  /** The window's end (e.g. last offset or event time): when both sides give one they must match, so both are judged on the same events. */
  windowEnd?: number | string;
}

export interface VersionMetrics {
  version: number;
  metrics: ProgressiveMetrics;
}

export const AutoPromotePolicySchema = z.object({
  /** Events each side's metrics must cover. @default 10000 */
  minEvents: z.number().int().positive().default(10_000),
  /** Largest AUC drop (serving − candidate) tolerated. @default 0.002 */
  aucMargin: z.number().nonnegative().default(0.002),
  /** Largest logloss rise (candidate − serving) tolerated. @default 0.005 */
  loglossMargin: z.number().nonnegative().default(0.005),
});

export type AutoPromotePolicy = z.infer<typeof AutoPromotePolicySchema>;

export interface AutoPromoteDecision {
  promote: boolean;
  /** One sentence with the figures, for logs and the audit reason. */
  reason: string;
}

const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);
const f = (x: number) => x.toFixed(4);

/**
 * Whether a candidate version should replace the serving one: it must be newer,
 * both must have progressive metrics over at least `minEvents` events (over the
 * same window when the window is named), and on every metric both report the
 * candidate may be worse than serving by at most the margin (AUC lower by at
 * most `aucMargin`, logloss higher by at most `loglossMargin`). With nothing
 * serving yet, a candidate with enough events is promoted. Pure.
 */
export function decideAutoPromote(candidate: VersionMetrics, serving: VersionMetrics | null, policy: Partial<AutoPromotePolicy> = {}): AutoPromoteDecision {
  const p = parseWith(AutoPromotePolicySchema, policy, 'invalid auto-promote policy');
  const c = candidate.metrics;
  const no = (reason: string): AutoPromoteDecision => ({ promote: false, reason });
  if (c.events < p.minEvents) return no(`candidate v${candidate.version} has metrics over ${c.events} events, the policy needs ${p.minEvents}`);
  if (!serving) return { promote: true, reason: `nothing is serving; candidate v${candidate.version} has metrics over ${c.events} events` };
  if (candidate.version === serving.version) return no(`v${candidate.version} is already serving`);
  if (candidate.version < serving.version) return no(`candidate v${candidate.version} is older than serving v${serving.version}`);
  const s = serving.metrics;
  if (s.events < p.minEvents) return no(`serving v${serving.version} has metrics over ${s.events} events, the policy needs ${p.minEvents}`);
  if (c.windowEnd !== undefined && s.windowEnd !== undefined && c.windowEnd !== s.windowEnd) {
    return no(`candidate and serving metrics cover different windows (ending ${String(c.windowEnd)} and ${String(s.windowEnd)})`);
  }
  const compared: string[] = [];
  if (finite(c.auc) && finite(s.auc)) {
    if (c.auc < s.auc - p.aucMargin) return no(`candidate v${candidate.version} AUC ${f(c.auc)} is more than ${p.aucMargin} below serving v${serving.version}'s ${f(s.auc)}`);
    compared.push(`AUC ${f(c.auc)} vs ${f(s.auc)}`);
  }
  if (finite(c.logloss) && finite(s.logloss)) {
    if (c.logloss > s.logloss + p.loglossMargin) return no(`candidate v${candidate.version} logloss ${f(c.logloss)} is more than ${p.loglossMargin} above serving v${serving.version}'s ${f(s.logloss)}`);
    compared.push(`logloss ${f(c.logloss)} vs ${f(s.logloss)}`);
  }
  if (compared.length === 0) return no('no metric is reported by both the candidate and the serving version');
  return { promote: true, reason: `candidate v${candidate.version} is within the margins of serving v${serving.version} over ${c.events} events: ${compared.join(', ')}` };
}

/**
 * Applies the policy: promotes the candidate when `decideAutoPromote` says so,
 * but only if `serving` is still the serving version (a person moving the
 * alias meanwhile wins; the decision then says so). A candidate that fails
 * verification is refused (and audited) like any promotion: ArtifactError.
 */
export async function applyAutoPromote(
  registry: ModelRegistry,
  model: string,
  candidate: VersionMetrics,
  serving: VersionMetrics | null,
  policy: Partial<AutoPromotePolicy> = {},
  { actor = 'auto-promote' }: { actor?: string } = {},
): Promise<{ decision: AutoPromoteDecision; change: AliasChange | null }> {
  const decision = decideAutoPromote(candidate, serving, policy);
  if (!decision.promote) return { decision, change: null };
  try {
    const change = await registry.promote(model, candidate.version, { actor, reason: `auto-promote: ${decision.reason}`, ifServing: serving?.version ?? null });
    return { decision, change };
  } catch (error) {
    if (error instanceof AliasConflictError) return { decision: { promote: false, reason: error.message }, change: null };
    throw error;
  }
}
