import type { AttributeMap } from '../features/events/event-schema.js';
import type { EncodedBatch } from '../features/spec/feature-encoder.js';
import { requestExamples, type CtrScorer, type ScoreRequest } from '../models/ctr/ctr-scorer.js';
import type { ServingMetrics } from './serving-metrics.js';

/** What the batcher scores with (a RankerHandle): the scorer's encoder and a prediction that may run off the event loop. */
export interface Ranker {
  readonly scorer: CtrScorer;
  predict(batch: EncodedBatch): Promise<Float32Array>;
}

interface Pending {
  ranker: Ranker;
  request: ScoreRequest;
  itemAttributes: (itemId: string) => AttributeMap;
  resolve: (scores: Float32Array) => void;
  reject: (error: unknown) => void;
}

export interface ScoreBatcherOptions {
  /** Candidates per model call; 0 = every request alone. @default 2000 */
  maxCandidates?: number;
  /**
   * Model calls running at once. With a ranker thread, two keep it busy (one
   * running, the next waiting in its queue) while requests that arrive
   * meanwhile gather into the batch after. @default 2
   */
  maxInFlight?: number;
  metrics?: ServingMetrics;
}

/**
 * Micro-batching: score requests that arrive in the same turn of the event
 * loop (typically those whose online-store reads finished together) are
 * encoded and run through the model as one call, up to `maxCandidates`
 * candidates per call. Nothing waits on a timer: a batch is flushed on the
 * next `setImmediate`, so a lone request pays no extra latency; only while
 * `maxInFlight` calls are running do requests wait, and they then go
 * together. Examples are built exactly as CtrScorer.score builds them
 * (requestExamples); int8 tables are already in the scorer's model.
 */
export class ScoreBatcher {
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight = 0;
  private readonly maxCandidates: number;
  private readonly maxInFlight: number;
  private readonly metrics: ServingMetrics | undefined;
  /** Model calls and requests they served, for the batching ratio. */
  calls = 0;
  requests = 0;

  constructor({ maxCandidates = 2000, maxInFlight = 2, metrics }: ScoreBatcherOptions = {}) {
    this.maxCandidates = maxCandidates;
    this.maxInFlight = Math.max(1, maxInFlight);
    this.metrics = metrics;
  }

  async score(ranker: Ranker, request: ScoreRequest, itemAttributes: (itemId: string) => AttributeMap): Promise<Float32Array> {
    if (this.maxCandidates <= 0) {
      this.count(1);
      return ranker.predict(ranker.scorer.model.encoder.encode(requestExamples(request, itemAttributes)));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ ranker, request, itemAttributes, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private count(requests: number): void {
    this.calls++;
    this.requests += requests;
    this.metrics?.modelCalls.inc();
    this.metrics?.scoredRequests.inc(requests);
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const ranker = this.queue[0]!.ranker;
      const batch: Pending[] = [];
      let candidates = 0;
      for (let i = 0; i < this.queue.length;) {
        const p = this.queue[i]!;
        if (p.ranker === ranker && (batch.length === 0 || candidates + p.request.candidates.length <= this.maxCandidates)) {
          batch.push(p);
          candidates += p.request.candidates.length;
          this.queue.splice(i, 1);
        } else {
          i++;
        }
      }
      this.inFlight++;
      void this.run(ranker, batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  private async run(ranker: Ranker, batch: Pending[]): Promise<void> {
    this.count(batch.length);
    try {
      const examples = batch.flatMap((p) => requestExamples(p.request, p.itemAttributes));
      const scores = await ranker.predict(ranker.scorer.model.encoder.encode(examples));
      let at = 0;
      for (const p of batch) {
        const n = p.request.candidates.length;
        p.resolve(scores.slice(at, at + n));
        at += n;
      }
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
