import type { AttributeMap } from '../features/events/event-schema.js';
import { requestExamples, type CtrScorer, type ScoreRequest } from '../models/ctr/ctr-scorer.js';
import type { ServingMetrics } from './serving-metrics.js';

interface Pending {
  scorer: CtrScorer;
  request: ScoreRequest;
  itemAttributes: (itemId: string) => AttributeMap;
  resolve: (scores: Float32Array) => void;
  reject: (error: unknown) => void;
}

/**
 * Micro-batching: score requests that arrive in the same turn of the event
 * loop (typically those whose online-store reads finished together) are
 * encoded and run through the model as one TF.js call, up to `maxCandidates`
 * candidates per call. Nothing waits on a timer: a batch is flushed on the
 * next `setImmediate`, so a lone request pays no extra latency. Examples are
 * built exactly as CtrScorer.score builds them (requestExamples); int8 tables are already in
 * the scorer's model.
 */
export class ScoreBatcher {
  private queue: Pending[] = [];
  private scheduled = false;
  /** Model calls and requests they served, for the batching ratio. */
  calls = 0;
  requests = 0;

  constructor(private readonly maxCandidates = 2000, private readonly metrics?: ServingMetrics) {}

  score(scorer: CtrScorer, request: ScoreRequest, itemAttributes: (itemId: string) => AttributeMap): Promise<Float32Array> {
    if (this.maxCandidates <= 0) {
      this.count(1);
      return Promise.resolve(scorer.score(request, itemAttributes));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ scorer, request, itemAttributes, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private count(requests: number): void {
    this.calls++;
    this.requests += requests;
    this.metrics?.modelCalls.inc();
    this.metrics?.scoredRequests.inc(requests);
  }

  private flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    while (queue.length > 0) {
      const scorer = queue[0]!.scorer;
      const batch: Pending[] = [];
      let candidates = 0;
      for (let i = 0; i < queue.length;) {
        const p = queue[i]!;
        if (p.scorer === scorer && (batch.length === 0 || candidates + p.request.candidates.length <= this.maxCandidates)) {
          batch.push(p);
          candidates += p.request.candidates.length;
          queue.splice(i, 1);
        } else {
          i++;
        }
      }
      this.run(scorer, batch);
    }
  }

  private run(scorer: CtrScorer, batch: Pending[]): void {
    this.count(batch.length);
    try {
      const examples = batch.flatMap((p) => requestExamples(p.request, p.itemAttributes));
      const scores = scorer.model.predict(scorer.model.encoder.encode(examples));
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
