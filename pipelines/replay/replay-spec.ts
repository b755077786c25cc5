import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseWith } from '../../infra/config.js';
import { ESTIMATORS } from './estimators/policy-stats.js';

/**
 * What one replay job computes, as queued: both models pinned to a version
 * (aliases are resolved at submit, so a promotion meanwhile does not change a
 * queued job), the window, the estimators and every knob that affects the
 * numbers. The job id is a hash of all of it: submitting the same replay
 * twice yields the same job, and a retried job writes the same rows.
 */
/**
 * Sane bounds of a window. Epoch milliseconds before 2001-09-09 (1e12) are
 * nearly always seconds typed for milliseconds; a window is read one hour
 * slice at a time, so one of decades would keep a worker busy for days.
 */
export const MIN_WINDOW_TIME = 1e12;
export const MAX_WINDOW_TIME = Date.UTC(2100, 0, 1);
export const MAX_WINDOW_MS = 92 * 86_400_000;
export const MAX_HISTORY_MS = 92 * 86_400_000;

const iso = (ms: number) => (Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms));
const windowTime = (flag: string) => z.number().int()
  .min(MIN_WINDOW_TIME, { message: `--${flag} is before 2001-09-09 in epoch milliseconds: give milliseconds (13 digits), not seconds, or an ISO date` })
  .max(MAX_WINDOW_TIME, { message: `--${flag} is after 2100-01-01` });

const PinnedModel = z.object({ model: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/), version: z.number().int().positive() }).strict();

export const ReplaySpecSchema = z.object({
  a: PinnedModel,
  b: PinnedModel,
  /** Window of decision time, epoch ms, [from, to). */
  from: windowTime('from'),
  to: windowTime('to'),
  estimators: z.array(z.enum(ESTIMATORS)).min(1).default([...ESTIMATORS]),
  /** How each model ranks the logged candidates: greedy (deterministic) or softmax sampling. */
  policy: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('greedy') }).strict(),
    z.object({ kind: z.literal('softmax'), temperature: z.number().positive() }).strict(),
  ]).default({ kind: 'greedy' }),
  /** Positions of the ranking that count towards a policy's value (clicks per request in the first N). */
  positions: z.number().int().min(1).max(100).default(10),
  /** Importance weights above this are clipped. */
  maxWeight: z.number().positive().default(1000),
  bootstrapSamples: z.number().int().min(10).max(10_000).default(200),
  seed: z.number().int().nonnegative().default(42),
  /** Event time before `from` read to rebuild users' behaviour histories. */
  historyMs: z.number().int().nonnegative().max(MAX_HISTORY_MS, { message: `--history-days is at most ${MAX_HISTORY_MS / 86_400_000}` }).default(7 * 86_400_000),
  /** A free label: the same replay under another tag is another job. */
  tag: z.string().max(64).default(''),
}).strict().superRefine((s, ctx) => {
  if (s.to <= s.from) ctx.addIssue({ code: 'custom', path: ['to'], message: `the window is empty: --to (${s.to}) must be after --from (${s.from})` });
  else if (s.to - s.from > MAX_WINDOW_MS) ctx.addIssue({ code: 'custom', path: ['to'], message: `the window ${iso(s.from)} – ${iso(s.to)} is longer than ${MAX_WINDOW_MS / 86_400_000} days: replay it in parts` });
  if (s.a.model === s.b.model && s.a.version === s.b.version) ctx.addIssue({ code: 'custom', path: ['b'], message: `A and B are the same model version (${s.a.model}@${s.a.version}): nothing to compare` });
  if (new Set(s.estimators).size !== s.estimators.length) ctx.addIssue({ code: 'custom', path: ['estimators'], message: 'an estimator is listed twice' });
});

export type ReplaySpec = z.infer<typeof ReplaySpecSchema>;
export type ReplaySpecInput = z.input<typeof ReplaySpecSchema>;

export function parseReplaySpec(input: unknown): ReplaySpec {
  return parseWith(ReplaySpecSchema, input, 'invalid replay job');
}

export const pinnedRef = (m: { model: string; version: number }): string => `${m.model}@${m.version}`;

/** `replay-<16 hex>`: a hash of the canonical spec (keys in schema order, defaults filled). */
export function replayJobId(spec: ReplaySpec): string {
  const canonical = JSON.stringify(parseReplaySpec(spec));
  return `replay-${createHash('sha256').update(canonical).digest('hex').slice(0, 16)}`;
}
