import { randomUUID } from 'node:crypto';
import type { AttributeMap } from '../features/events/event-schema.js';
import type { BehaviourEntry } from '../features/samples/example.js';
import { errorMessage, ValidationError } from '../infra/errors.js';
import type { Logger } from '../infra/logger.js';
import type { Exploration } from '../pipelines/decisions/decision-record.js';
import { encodeDecision } from '../pipelines/decisions/encode-decision.js';
import type { DecisionSink } from '../pipelines/decisions/decision-sink.js';
import type { OnlineStoreReader } from '../pipelines/online-store/online-store.js';
import { buildDecision } from './decision-builder.js';
import { explore, type Uniform } from './exploration.js';
import { featureEmbedding, type FeatureEmbedding } from './feature-embedding.js';
import { NotFoundError, ServiceUnavailableError } from './http-errors.js';
import type { ItemAttributeCache } from './item-cache.js';
import type { ModelBundle } from './model-bundle.js';
import type { ModelHolder } from './model-holder.js';
import type { ScoreBatcher } from './score-batcher.js';
import type { RecommendRequestBody, ScoreRequestBody } from './request-schemas.js';
import type { ServingMetrics } from './serving-metrics.js';

export interface ServingServiceOptions {
  models: ModelHolder;
  online: OnlineStoreReader;
  items: ItemAttributeCache;
  /** Micro-batches concurrent scoring into one model call. */
  batcher: ScoreBatcher;
  decisions: DecisionSink;
  log: Logger;
  metrics?: ServingMetrics;
  defaultExploration: Exploration;
  numCandidates: number;
  historyLength: number;
  random?: Uniform;
  now?: () => number;
}

export interface ModelInfo {
  ranker: { model: string; version: number };
  retrieval: { model: string; version: number } | null;
}

export interface ScoreResult {
  request_id: string;
  models: ModelInfo;
  scores: { item_id: string; score: number }[];
  history_source: 'request' | 'online-store';
}

export interface RecommendResult {
  request_id: string;
  models: ModelInfo;
  exploration: Exploration;
  items: { item_id: string; score: number; position: number; propensity: number }[];
  candidates: number;
  retrieval: 'index' | 'request';
  query: 'user' | 'history' | 'mean' | null;
}

/** The serving logic behind the HTTP routes, independent of express. */
export class ServingService {
  constructor(private readonly o: ServingServiceOptions) {}

  /** Runs `fn` with the current model bundle held, so a swap meanwhile disposes nothing it uses. */
  private async withModels<T>(fn: (bundle: ModelBundle) => Promise<T>): Promise<T> {
    const bundle = this.o.models.acquire();
    try {
      return await fn(bundle);
    } finally {
      this.o.models.release(bundle);
    }
  }

  private async userState(body: Pick<ScoreRequestBody, 'user_id' | 'history' | 'user_attributes'>): Promise<{ history: BehaviourEntry[]; attributes: AttributeMap; source: 'request' | 'online-store' }> {
    const now = this.o.now?.() ?? Date.now();
    const fromRequest = body.history?.map((h, i): BehaviourEntry => (typeof h === 'string' ? { item_id: h, ts: now - 1 - i } : h));
    if (fromRequest && body.user_attributes) return { history: fromRequest, attributes: body.user_attributes, source: 'request' };
    let state;
    try {
      state = await this.o.online.user(body.user_id, this.o.historyLength);
    } catch (error) {
      throw new ServiceUnavailableError('the online store is not reachable', { cause: error });
    }
    return {
      history: fromRequest ?? state.history,
      attributes: body.user_attributes ?? state.attributes,
      source: fromRequest ? 'request' : 'online-store',
    };
  }

  private async rank(bundle: ModelBundle, userId: string, user: AttributeMap, history: BehaviourEntry[], candidates: readonly string[], context: AttributeMap | undefined): Promise<Float32Array> {
    let attributes: Map<string, AttributeMap>;
    try {
      attributes = await this.o.items.get([...candidates, ...history.map((h) => h.item_id)]);
    } catch (error) {
      throw new ServiceUnavailableError('the online store is not reachable', { cause: error });
    }
    return this.o.batcher.score(
      bundle.ranker,
      { userId, user, history, candidates, ...(context ? { context } : {}) },
      (id) => attributes.get(id) ?? {},
    );
  }

  async score(body: ScoreRequestBody, requestId: string = randomUUID()): Promise<ScoreResult> {
    return this.withModels(async (bundle) => {
      const user = await this.userState(body);
      const scores = await this.rank(bundle, body.user_id, user.attributes, user.history, body.candidates, body.context);
      this.o.metrics?.candidates.observe({ route: 'score' }, body.candidates.length);
      return {
        request_id: requestId,
        models: modelInfo(bundle),
        scores: body.candidates.map((item_id, i) => ({ item_id, score: scores[i]! })),
        history_source: user.source,
      };
    });
  }

  /** `requestId` is the server's (the decision's key); `clientRequestId` the caller's x-request-id, recorded as a trace field only. */
  async recommend(body: RecommendRequestBody, requestId: string = randomUUID(), clientRequestId?: string): Promise<RecommendResult> {
    return this.withModels(async (bundle) => {
      const user = await this.userState(body);
      const exclude = new Set([...user.history.map((h) => h.item_id), ...(body.exclude ?? [])]);
      let candidates: { itemId: string; retrievalScore: number | null }[];
      let query: RecommendResult['query'] = null;
      if (body.candidates) {
        candidates = [...new Set(body.candidates)].filter((id) => !exclude.has(id)).map((itemId) => ({ itemId, retrievalScore: null }));
      } else {
        if (!bundle.retrieval) throw new ValidationError('this server has no retrieval model: pass `candidates` to rank');
        const count = Math.max(body.k, body.num_candidates ?? this.o.numCandidates);
        const q = bundle.retrieval.queryFor(body.user_id, user.history.map((h) => h.item_id));
        query = q.source;
        candidates = bundle.retrieval.retrieve(q.query, count, exclude).map((c) => ({ itemId: c.itemId, retrievalScore: c.score }));
      }
      const ids = candidates.map((c) => c.itemId);
      const scores = ids.length > 0 ? await this.rank(bundle, body.user_id, user.attributes, user.history, ids, body.context) : new Float32Array(0);
      this.o.metrics?.candidates.observe({ route: 'recommend' }, ids.length);
      const order = ids.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
      const ranked = order.map((i) => ({ item_id: ids[i]!, score: scores[i]!, retrieval_score: candidates[i]!.retrievalScore }));
      const exploration = body.exploration ?? this.o.defaultExploration;
      const placements = explore(ranked.map((r) => r.score), body.k, exploration, this.o.random);
      const models = modelInfo(bundle);
      const { items, record } = buildDecision({
        requestId, clientRequestId, userId: body.user_id, ts: this.o.now?.() ?? Date.now(), exploration, k: body.k, ranked, placements, context: body.context,
        features: { history: user.history.map((h) => h.item_id), user: user.attributes },
        models: {
          ranker: { name: models.ranker.model, version: models.ranker.version },
          retrieval: models.retrieval && !body.candidates ? { name: models.retrieval.model, version: models.retrieval.version } : null,
        },
      });
      // Checked here with ingestion's own rules: a record that would be dead-lettered is never served.
      const encoded = encodeDecision(record, this.o.decisions.maxRecordBytes);
      if (!encoded.ok) {
        this.o.metrics?.decisions.inc({ outcome: 'invalid' });
        if (encoded.tooLarge) throw new ValidationError(`${encoded.reason}: ask for fewer candidates or items, or send shorter ids or a smaller context`);
        throw new Error(`refusing to serve a recommendation whose decision record is invalid (${encoded.reason})`);
      }
      try {
        const started = performance.now();
        await this.o.decisions.write(record, encoded.json);
        this.o.metrics?.decisionWrite.observe({ sink: this.o.decisions.name }, (performance.now() - started) / 1000);
        this.o.metrics?.decisions.inc({ outcome: 'written' });
      } catch (error) {
        this.o.metrics?.decisions.inc({ outcome: 'failed' });
        throw new ServiceUnavailableError(`the decision record could not be written (${errorMessage(error)}); no recommendation is served without one`, { cause: error });
      }
      return { request_id: requestId, models, exploration, items, candidates: ranked.length, retrieval: body.candidates ? 'request' : 'index', query };
    });
  }

  async featureEmbeddings(features: readonly { field: string; value: string | number }[]): Promise<{ models: ModelInfo; precision: string; layout: string; embeddings: FeatureEmbedding[] }> {
    return this.withModels(async (bundle) => ({
      models: modelInfo(bundle),
      precision: bundle.ranker.scorer.precision,
      layout: bundle.ranker.model.layout.kind,
      embeddings: features.map((f) => featureEmbedding(bundle.ranker.model, f.field, String(f.value))),
    }));
  }

  async entityEmbeddings(kind: 'items' | 'users', ids: readonly string[], { strict }: { strict: boolean }): Promise<{ model: string; version: number; dim: number; embeddings: { id: string; embedding: number[] | null }[] }> {
    return this.withModels(async (bundle) => {
      const retrieval = bundle.retrieval;
      if (!retrieval) throw new NotFoundError('this server has no retrieval model (start it with --retrieval <graph model>)');
      const embeddings = ids.map((id) => {
        const v = kind === 'items' ? retrieval.itemVector(id) : retrieval.userVector(id);
        if (!v && strict) throw new NotFoundError(`${kind === 'items' ? 'item' : 'user'} ${JSON.stringify(id)} has no embedding in ${retrieval.served.model} v${retrieval.served.version}`);
        return { id, embedding: v ? Array.from(v) : null };
      });
      return { model: retrieval.served.model, version: retrieval.served.version, dim: retrieval.dim, embeddings };
    });
  }
}

function modelInfo(bundle: ModelBundle): ModelInfo {
  return {
    ranker: { model: bundle.ranker.served.model, version: bundle.ranker.served.version },
    retrieval: bundle.retrieval ? { model: bundle.retrieval.served.model, version: bundle.retrieval.served.version } : null,
  };
}
