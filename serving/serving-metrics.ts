import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Serving's Prometheus metrics, on a registry of its own (GET /metrics). */
export class ServingMetrics {
  readonly registry = new Registry();
  readonly latency = new Histogram({
    name: 'serving_request_duration_seconds',
    help: 'Request latency by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly modelVersion = new Gauge({
    name: 'serving_model_version',
    help: 'Version being served per role (ranker, retrieval) and model',
    labelNames: ['role', 'model'] as const,
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: 'serving_model_reloads_total',
    help: 'Model reloads by outcome (swapped, unchanged, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly cache = new Counter({
    name: 'serving_cache_requests_total',
    help: 'Cache lookups by cache and result (hit, miss)',
    labelNames: ['cache', 'result'] as const,
    registers: [this.registry],
  });
  readonly cacheHitRate = new Gauge({
    name: 'serving_cache_hit_rate',
    help: 'Hit rate of each cache since start',
    labelNames: ['cache'] as const,
    registers: [this.registry],
  });
  readonly decisions = new Counter({
    name: 'serving_decisions_total',
    help: 'Decision records by outcome (written, failed, invalid: refused before writing)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly decisionWrite = new Histogram({
    name: 'serving_decision_write_seconds',
    help: 'Time to write a decision record (with Kafka: until the broker acknowledges it), by sink; a recommend answers only after it',
    labelNames: ['sink'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly candidates = new Histogram({
    name: 'serving_scored_candidates',
    help: 'Candidates scored per request',
    labelNames: ['route'] as const,
    buckets: [1, 10, 50, 100, 200, 500, 1000],
    registers: [this.registry],
  });
  readonly modelCalls = new Counter({
    name: 'serving_model_calls_total',
    help: 'Ranking model calls; with micro-batching one call scores several requests',
    registers: [this.registry],
  });
  readonly scoredRequests = new Counter({
    name: 'serving_scored_requests_total',
    help: 'Requests scored by the ranking model (÷ serving_model_calls_total = mean micro-batch size)',
    registers: [this.registry],
  });
  readonly rankerThreadFailures = new Counter({
    name: 'serving_ranker_thread_failures_total',
    help: 'Ranker threads that did not start with their version (when: start), died while serving (serving), or did not start in place of one that died (restart); predictions run on the event loop meanwhile',
    labelNames: ['when'] as const,
    registers: [this.registry],
  });
  readonly rankerThreadRestarts = new Counter({
    name: 'serving_ranker_thread_restarts_total',
    help: 'New ranker threads that took over the predictions from one that died or did not start (after a wait of 1 s, doubling up to 60 s while tries fail or new threads die within a minute)',
    registers: [this.registry],
  });
  readonly rankerThreadGc = new Histogram({
    name: 'serving_ranker_thread_gc_seconds',
    help: 'Garbage-collection pauses of the ranker thread\'s own heap, by V8 kind (minor: a scavenge; major: a full GC\'s final pause; incremental: a step of its marking; weakcb: weak callbacks): a prediction in the thread waits that long. The event loop\'s are nodejs_gc_duration_seconds',
    labelNames: ['kind'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  readonly annBuildSeconds = new Gauge({
    name: 'serving_ann_build_seconds',
    help: 'Time to build the retrieval index of the serving version',
    registers: [this.registry],
  });

  readonly annRecall = new Gauge({
    name: 'serving_ann_recall_at_100',
    help: 'recall@100 of the retrieval index against exact search on sampled users, measured at load (1 = exact search)',
    registers: [this.registry],
  });

  readonly foldedItems = new Gauge({
    name: 'serving_retrieval_folded_items',
    help: 'Items of the served retrieval version placed by fold-in (not trained on)',
    registers: [this.registry],
  });

  private readonly cacheCounts = new Map<string, { hits: number; total: number }>();

  withProcessMetrics(): this {
    collectDefaultMetrics({ register: this.registry });
    return this;
  }

  cacheLookups(cache: string, hits: number, misses: number): void {
    if (hits > 0) this.cache.inc({ cache, result: 'hit' }, hits);
    if (misses > 0) this.cache.inc({ cache, result: 'miss' }, misses);
    const c = this.cacheCounts.get(cache) ?? { hits: 0, total: 0 };
    c.hits += hits;
    c.total += hits + misses;
    this.cacheCounts.set(cache, c);
    if (c.total > 0) this.cacheHitRate.set({ cache }, c.hits / c.total);
  }
}
