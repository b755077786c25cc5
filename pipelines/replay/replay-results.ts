import { sqlString } from '../../infra/clickhouse/escape.js';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { QUALITY_METRICS, type Estimate } from './estimators/prediction-quality.js';
import type { Evaluation } from './replay-evaluation.js';
import { pinnedRef, type ReplaySpec } from './replay-spec.js';

/** Replay results ↔ rows of `replay_results` (infra/migrations/0005, 0009). */
export const REPLAY_RESULTS_TABLE = 'replay_results';

export type ReplayArm = 'a' | 'b' | 'b-a' | 'logging' | 'window';

export interface ReplayResultRow {
  job_id: string;
  arm: ReplayArm;
  model: string;
  metric: string;
  value: number | null;
  lo: number | null;
  hi: number | null;
  ess: number | null;
  max_weight: number | null;
  clip_rate: number | null;
  support: number | null;
  /** 'reliable' / 'unreliable: <reason>' for policy values; '' otherwise. */
  verdict: string;
  /** Why a value of this row is missing (or, on the `window` `lead` row, the sentence the result leads with). */
  note: string;
  n: number;
  window_from: number;
  window_to: number;
}

const finite = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? x : null);

export function resultRows(jobId: string, spec: ReplaySpec, e: Evaluation): ReplayResultRow[] {
  const [a, b] = [pinnedRef(spec.a), pinnedRef(spec.b)];
  const models: Record<ReplayArm, string> = { a, b, 'b-a': `${b} - ${a}`, logging: 'logging', window: '' };
  const rows: ReplayResultRow[] = [];
  interface Diagnostics { ess: number; weights: number; maxWeight: number; clipRate: number; support: number; verdict?: string; missing?: string }
  const push = (arm: ReplayArm, metric: string, est: Estimate | { value: number }, n: number, diag?: Diagnostics, extra: { verdict?: string; note?: string; missing?: string } = {}) => {
    const row: ReplayResultRow = {
      job_id: jobId, arm, model: models[arm], metric,
      value: finite(est.value), lo: finite('lo' in est ? est.lo : undefined), hi: finite('hi' in est ? est.hi : undefined),
      ess: finite(diag?.ess), max_weight: finite(diag?.maxWeight), clip_rate: finite(diag?.clipRate), support: finite(diag?.support),
      verdict: extra.verdict ?? diag?.verdict ?? '', note: extra.note ?? '',
      n, window_from: spec.from, window_to: spec.to,
    };
    if (!extra.note) row.note = missingNote(row, metric, diag ?? (extra.missing ? { weights: 0, missing: extra.missing } : undefined), diag !== undefined);
    rows.push(row);
  };
  push('window', 'lead', { value: Number.NaN }, e.decisions, undefined, { note: e.policy.lead });
  for (const [metric, value] of [['decisions', e.decisions], ['impressions', e.impressions], ['users', e.users], ['clicks', e.clicks]] as const) push('window', metric, { value }, e.decisions);
  for (const metric of QUALITY_METRICS) {
    push('a', metric, e.quality.a[metric], e.impressions);
    push('b', metric, e.quality.b[metric], e.impressions);
    push('b-a', metric, e.quality.diff[metric], e.impressions);
  }
  push('logging', 'value', e.policy.logging, e.decisions);
  for (const estimator of spec.estimators) {
    for (const arm of ['a', 'b'] as const) {
      const r = e.policy[arm][estimator]!;
      push(arm, estimator, r.value, e.decisions, r);
      push(arm, `lift_${estimator}`, r.lift, e.decisions);
    }
    const missing = e.policy.b[estimator]!.missing ?? e.policy.a[estimator]!.missing;
    push('b-a', estimator, e.policy.diff[estimator]!, e.decisions, undefined, { verdict: e.policy.diff[estimator]!.verdict, ...(missing ? { missing } : {}) });
  }
  return rows;
}

/** Why each missing value of a row is missing, '; '-joined ('' when nothing is missing or the row has no such column). */
function missingNote(row: ReplayResultRow, metric: string, diag: { weights: number; missing?: string } | undefined, weighted: boolean): string {
  const notes: string[] = [];
  if (row.value === null) notes.push(`value: ${diag?.missing ?? 'not defined on this data (e.g. no clicks, or one class only)'}`);
  else if (row.lo === null && row.arm !== 'window') notes.push('interval: too few users to resample');
  if (diag && weighted) {
    if (metric === 'replay') notes.push(`ess, max weight, clip rate: matching has no weights (${Math.round(diag.weights)} matched request-positions)`);
    if (row.support === null) notes.push('support: the logging policy\'s marginals are unknown (softmax logging gives every candidate a chance)');
  }
  return notes.join('; ');
}

export async function writeReplayResults(db: SqlClient, rows: readonly ReplayResultRow[]): Promise<void> {
  await db.insert(REPLAY_RESULTS_TABLE, rows as unknown as Record<string, unknown>[]);
}

/** A job's rows, each once, in a fixed order. */
export async function readReplayResults(db: SqlClient, jobId: string): Promise<ReplayResultRow[]> {
  const rows = await db.query<ReplayResultRow>(
    `SELECT job_id, arm, model, metric, value, lo, hi, ess, max_weight, clip_rate, support, verdict, note, n, window_from, window_to
     FROM ${REPLAY_RESULTS_TABLE} FINAL WHERE job_id = ${sqlString(jobId)} ORDER BY arm, metric`,
  );
  return rows.map((r) => ({ ...r, n: Number(r.n), window_from: Number(r.window_from), window_to: Number(r.window_to) }));
}
