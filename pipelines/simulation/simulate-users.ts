import { createRng } from '../../features/math/rng.js';
import { errorMessage, ValidationError } from '../../infra/errors.js';
import { RateLimiter } from '../ingest/event-producer.js';
import { clickEvent, drawClicks, type ShownItem } from './outcome-events.js';
import type { OutcomeSink } from './outcome-sink.js';
import { buildSyntheticWorld, sampleItems } from '../../features/datasets/synthetic-world.js';

/**
 * Simulated users against a running server: each request picks a user of the
 * synthetic world, asks POST /v1/recommend for k items, and clicks the shown
 * items with the generator's true probabilities; each click is written to the
 * sink as a `click` event with the decision's request_id. Requests are paced
 * to `rate` per second with at most `concurrency` in flight. User choice and
 * click draws come from `seed` in request order; with concurrency 1 a run is
 * reproducible against a deterministic server.
 */
export interface SimulateUsersOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080. */
  serveUrl: string;
  sink: OutcomeSink;
  /** Simulated users: the synthetic world's u0..u{users-1}. @default 100 */
  users?: number;
  /** @default 1000 */
  requests?: number;
  /** Requests per second; 0 = as fast as possible. @default 20 */
  rate?: number;
  /** World seed (the synthetic stream's seed the served model was trained on); also seeds the draws. @default 42 */
  seed?: number;
  /** The world's catalog size (the synthetic stream's item count). @default 5000 */
  items?: number;
  /** Items asked per request. @default 10 */
  k?: number;
  /** @default 4 */
  concurrency?: number;
  /**
   * Candidates each request supplies, drawn from the world's catalog by
   * popularity (as the generator draws impressions); 0 = none, the server
   * retrieves (it needs a retrieval model then). @default 0
   */
  candidates?: number;
  /** External ids: user id = userIdPrefix + n; served item ids are itemIdPrefix + n. @default 'u', 'i' */
  userIdPrefix?: string;
  itemIdPrefix?: string;
  /** Event ids are simu-<runId>-<request>-<position>. */
  runId: string;
  /** Stream position of the users' interests (0 start … 1 end of the synthetic stream). @default 1 */
  progress?: number;
  /** Per-request timeout. @default 10000 */
  timeoutMs?: number;
  /** Stop early when this returns true (SIGINT). */
  stopped?: () => boolean;
  onProgress?: (stats: Readonly<SimulationStats>) => void;
}

export interface SimulationStats {
  requests: number;
  failed: number;
  shown: number;
  clicks: number;
  /** Sum of the shown items' true click probabilities. */
  expectedClicks: number;
  latenciesMs: number[];
  /** First few failure messages. */
  errors: string[];
}

export interface SimulationSummary {
  requests: number;
  failed: number;
  shown: number;
  clicks: number;
  /** clicks / shown items. */
  ctr: number;
  /** Mean true click probability of the shown items: the CTR the policy earns in expectation. */
  expected_ctr: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  seconds: number;
  /** The first few failures' messages. */
  errors: string[];
}

/**
 * The server has no retrieval model and the run sent no candidates: every
 * further request would fail the same way, so the run stops at the first such
 * answer instead of counting a thousand identical failures.
 */
export class NeedsCandidatesError extends ValidationError {
  constructor(readonly serveUrl: string, serverMessage: string) {
    super(`${serveUrl} has no retrieval model, so each request must supply candidates (the \`candidates\` option); the server said: ${serverMessage}`);
  }
}

/** The server's 400 for a recommend without candidates when it has no retrieval model (serving/serving-service.ts). */
const NO_RETRIEVAL = /no retrieval model/i;

interface RecommendResponse {
  request_id: string;
  items: ShownItem[];
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function summarise(stats: SimulationStats, seconds: number): SimulationSummary {
  const sorted = [...stats.latenciesMs].sort((a, b) => a - b);
  const round = (x: number, d = 4) => (Number.isFinite(x) ? Number(x.toFixed(d)) : NaN);
  return {
    requests: stats.requests,
    failed: stats.failed,
    shown: stats.shown,
    clicks: stats.clicks,
    ctr: round(stats.shown > 0 ? stats.clicks / stats.shown : NaN),
    expected_ctr: round(stats.shown > 0 ? stats.expectedClicks / stats.shown : NaN),
    latency_p50_ms: round(percentile(sorted, 0.5), 2),
    latency_p99_ms: round(percentile(sorted, 0.99), 2),
    seconds: round(seconds, 3),
    errors: [...stats.errors],
  };
}

export async function simulateUsers(options: SimulateUsersOptions): Promise<SimulationSummary> {
  const users = options.users ?? 100, requests = options.requests ?? 1000, seed = options.seed ?? 42, k = options.k ?? 10;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const userIdPrefix = options.userIdPrefix ?? 'u', itemIdPrefix = options.itemIdPrefix ?? 'i';
  const url = `${options.serveUrl.replace(/\/+$/, '')}/v1/recommend`;
  const world = buildSyntheticWorld({ seed, users, items: options.items ?? 5000 });
  const recent = Array.from({ length: users }, (): number[] => []);
  const draws = createRng(seed).fork(5);
  const stats: SimulationStats = { requests: 0, failed: 0, shown: 0, clicks: 0, expectedClicks: 0, latenciesMs: [], errors: [] };
  let needsCandidates: NeedsCandidatesError | undefined;
  const fail = (message: string) => {
    stats.failed++;
    if (stats.errors.length < 5) stats.errors.push(message);
  };

  const one = async (n: number, u: number, clickRng: ReturnType<typeof createRng>, candidates: string[] | undefined): Promise<void> => {
    const userId = `${userIdPrefix}${u}`;
    const started = performance.now();
    let body: RecommendResponse;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: userId, k, ...(candidates ? { candidates } : {}) }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const text = await res.text();
      if (res.status === 400 && !candidates && NO_RETRIEVAL.test(text)) {
        needsCandidates ??= new NeedsCandidatesError(options.serveUrl, text.slice(0, 200));
      }
      if (!res.ok) return fail(`HTTP ${res.status}: ${text.slice(0, 200)}`);
      body = JSON.parse(text) as RecommendResponse;
    } catch (error) {
      return fail(errorMessage(error));
    } finally {
      stats.requests++;
    }
    stats.latenciesMs.push(performance.now() - started);
    const ts = Date.now();
    for (const d of drawClicks(world, u, recent[u]!, body.items, itemIdPrefix, clickRng, options.progress ?? 1)) {
      stats.shown++;
      stats.expectedClicks += d.probability;
      if (!d.clicked) continue;
      stats.clicks++;
      await options.sink.write(clickEvent({ runId: options.runId, request: n, requestId: body.request_id, userId, itemId: d.item_id, position: d.position, ts }));
    }
  };

  const limiter = new RateLimiter(options.rate ?? 20);
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  let sinkFailure: unknown;
  for (let n = 0; n < requests && !options.stopped?.() && sinkFailure === undefined && needsCandidates === undefined; n++) {
    await limiter.take();
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    // A request that just finished may have ended the run.
    if (sinkFailure !== undefined || needsCandidates !== undefined) break;
    const u = draws.int(users);
    const clickRng = draws.fork(n);
    const candidates = (options.candidates ?? 0) > 0 ? sampleItems(world, options.candidates!, clickRng).map((i) => `${itemIdPrefix}${i}`) : undefined;
    const p: Promise<void> = one(n, u, clickRng, candidates)
      .catch((error: unknown) => { sinkFailure ??= error; })
      .finally(() => {
        inFlight.delete(p);
        options.onProgress?.(stats);
      });
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  if (sinkFailure !== undefined) throw sinkFailure;
  if (needsCandidates !== undefined) throw needsCandidates;
  return summarise(stats, (performance.now() - started) / 1000);
}
