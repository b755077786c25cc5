import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { renameDurably, writeFileDurably } from '../../infra/durable-file.js';
import { logger } from '../../infra/logger.js';
import { loadCtrModel } from '../../models/ctr-artifact/model-artifact.js';
import { readEvents } from '../ingest/offline-store.js';
import { ModelRegistry } from '../registry/model-registry.js';
import { streamWindow } from './decision-window.js';
import { EventCursor } from './point-in-time-state.js';
import { checkReplay, checkWindow } from './replay-checks.js';
import { runPaced } from './paced-steps.js';
import { evaluationSteps, type Evaluation, type ScoredDecision } from './replay-evaluation.js';
import { replayReport } from './replay-report.js';
import { resultRows, writeReplayResults, type ReplayResultRow } from './replay-results.js';
import { ReplayScorer } from './replay-scorer.js';
import { pinnedRef, replayJobId, type ReplaySpec } from './replay-spec.js';

const log = logger('replay');

/**
 * Runs one replay from start to end: checks, streams the window's decisions
 * (ClickHouse), rebuilds point-in-time user state from the events before each
 * decision, scores every candidate with A and B, evaluates, writes the rows
 * (ClickHouse) and the report (HTML, written to a temporary file and renamed).
 * Everything is a function of the spec and the stored data, so a rerun after
 * a crash writes the same rows.
 */
export interface ReplayProgress {
  phase: 'loading' | 'scoring' | 'estimating' | 'writing' | 'done';
  decisions: number;
  total: number;
  /** 0..100 */
  percent: number;
}

export interface RunReplayOptions {
  db: SqlClient;
  registry: string;
  reportsDir: string;
  onProgress?: (p: ReplayProgress) => Promise<void> | void;
  /** Decisions per predict call. @default 128 */
  batchDecisions?: number;
  /**
   * Longest stretch of CPU work between two returns to the event loop, where
   * BullMQ renews the job's lock and progress is reported. Keep it well under
   * the lock duration. @default 50
   */
  sliceMs?: number;
  /** Once aborted, the run stops at its next slice boundary by throwing the signal's reason (nothing is written). */
  signal?: AbortSignal;
}

export interface ReplayRunResult {
  jobId: string;
  a: string;
  b: string;
  rows: ReplayResultRow[];
  report: string;
  evaluation: Pick<Evaluation, 'users' | 'decisions' | 'impressions' | 'clicks'>;
  seconds: { scoring: number; estimating: number; total: number };
  /** Candidates scored per second, summed over both models. */
  scoredPerSecond: number;
}

export async function runReplay(spec: ReplaySpec, options: RunReplayOptions): Promise<ReplayRunResult> {
  const started = performance.now();
  const jobId = replayJobId(spec);
  const progress = async (p: Omit<ReplayProgress, 'percent'>, percent: number) => options.onProgress?.({ ...p, percent: Math.round(percent * 10) / 10 });
  const { a, b } = await checkReplay(new ModelRegistry(options.registry), spec);
  const counts = await checkWindow(options.db, spec);
  await progress({ phase: 'loading', decisions: 0, total: counts.decisions }, 0);
  const [modelA, modelB] = [(await loadCtrModel(a.dir)).model, (await loadCtrModel(b.dir)).model];
  const scorers = [new ReplayScorer(modelA, spec.a), new ReplayScorer(modelB, spec.b)] as const;
  const events = readEvents(options.db, { from: Math.max(0, spec.from - spec.historyMs), to: spec.to });
  const cursor = new EventCursor(events, scorers.map((s) => s.state));
  const scored: ScoredDecision[] = [];
  let candidates = 0;
  try {
    for await (const slice of streamWindow(options.db, spec.from, spec.to)) {
      for (let i = 0; i < slice.length; i += options.batchDecisions ?? 128) {
        options.signal?.throwIfAborted();
        const batch = slice.slice(i, i + (options.batchDecisions ?? 128));
        const examples: [ReturnType<ReplayScorer['examples']>[], ReturnType<ReplayScorer['examples']>[]] = [[], []];
        for (const d of batch) {
          await cursor.advanceTo(d.ts);
          examples[0].push(scorers[0].examples(d));
          examples[1].push(scorers[1].examples(d));
          candidates += d.candidates.length;
        }
        const [sa, sb] = [scorers[0].predict(examples[0], batch), scorers[1].predict(examples[1], batch)];
        batch.forEach((d, j) => scored.push({ ...d, scoresA: sa[j]!, scoresB: sb[j]! }));
        await progress({ phase: 'scoring', decisions: scored.length, total: counts.decisions }, (90 * scored.length) / Math.max(1, counts.decisions));
      }
    }
  } finally {
    await events.return(undefined);
    modelA.dispose();
    modelB.dispose();
  }
  const scoringSeconds = (performance.now() - started) / 1000;
  await progress({ phase: 'estimating', decisions: scored.length, total: counts.decisions }, 90);
  const estimatingStart = performance.now();
  // About one step per user and per bootstrap resample (twice: prediction quality, policy values).
  const steps = new Set(scored.map((d) => d.userId)).size + 2 * spec.bootstrapSamples;
  let reported = performance.now();
  const evaluation = await runPaced(evaluationSteps(scored, { ...spec, bootstrapSamples: spec.bootstrapSamples }), {
    sliceMs: options.sliceMs ?? 50,
    ...(options.signal ? { signal: options.signal } : {}),
    onPause: async (done) => {
      if (performance.now() - reported < 250) return;
      reported = performance.now();
      await progress({ phase: 'estimating', decisions: scored.length, total: counts.decisions }, 90 + (7 * Math.min(done, steps)) / steps);
    },
  });
  options.signal?.throwIfAborted();
  const estimatingSeconds = (performance.now() - estimatingStart) / 1000;
  await progress({ phase: 'writing', decisions: scored.length, total: counts.decisions }, 97);
  const rows = resultRows(jobId, spec, evaluation);
  await writeReplayResults(options.db, rows);
  const report = path.join(options.reportsDir, `${jobId}.html`);
  await mkdir(options.reportsDir, { recursive: true });
  const html = replayReport({ jobId, a: pinnedRef(spec.a), b: pinnedRef(spec.b), from: spec.from, to: spec.to, rows, calibration: evaluation.calibration });
  await writeFileDurably(`${report}.${process.pid}.tmp`, html);
  await renameDurably(`${report}.${process.pid}.tmp`, report);
  await progress({ phase: 'done', decisions: scored.length, total: counts.decisions }, 100);
  const total = (performance.now() - started) / 1000;
  log.info({ jobId, decisions: evaluation.decisions, impressions: evaluation.impressions, seconds: total }, 'replay done');
  return {
    jobId, a: pinnedRef(spec.a), b: pinnedRef(spec.b), rows, report,
    evaluation: { users: evaluation.users, decisions: evaluation.decisions, impressions: evaluation.impressions, clicks: evaluation.clicks },
    seconds: { scoring: scoringSeconds, estimating: estimatingSeconds, total },
    scoredPerSecond: (2 * candidates) / Math.max(1e-9, scoringSeconds),
  };
}
