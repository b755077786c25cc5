import type { Logger } from '../infra/logger.js';
import { errorMessage } from '../infra/errors.js';
import type { Redis } from '../infra/redis/redis-client.js';
import type { ModelRegistry } from '../pipelines/registry/model-registry.js';
import { RegistryError } from '../pipelines/registry/registry-errors.js';
import type { Precision } from '../models/ctr/ctr-scorer.js';
import { RankerHandle, Retrieval, type ModelBundle, type RetrievalOptions, type ServedVersion, type ThreadRestartPolicy } from './model-bundle.js';
import type { ServingMetrics } from './serving-metrics.js';
import type { GcPause } from './ranker-thread.js';
import { ServiceUnavailableError } from './http-errors.js';
import { checkItemOverlap } from './item-overlap.js';
import type { FoldInMessage, FoldInStore } from '../pipelines/fold-in/fold-in-store.js';

export interface ModelHolderOptions {
  registry: ModelRegistry;
  /** The CTR model's registry name. */
  ranker: string;
  /** The graph model's registry name, or null for no retrieval. */
  retrieval: string | null;
  precision: Precision;
  /** Run the ranker's predictions in a worker thread (ranker-thread.ts). @default false */
  rankerThread?: boolean;
  /** Waits before a new ranker thread replaces one that died (model-bundle.ts). @default { firstMs: 1000, maxMs: 60000, stableMs: 60000 } */
  rankerThreadRestart?: ThreadRestartPolicy;
  retrievalOptions: RetrievalOptions;
  /**
   * Serve a model's newest version when it has no serving alias. Off, such a
   * model is not served: a version nobody promoted never answers traffic. @default false
   */
  allowLatest?: boolean;
  /** Serve a retrieval model whose items the ranker does not know (item-overlap.ts), with a warning instead of refusing. @default false */
  allowItemMismatch?: boolean;
  /** Where the fold-in worker writes new items' vectors (Redis); absent: the retrieval model serves its trained items only. */
  foldIns?: FoldInStore;
  log: Logger;
  metrics?: ServingMetrics;
}

export interface RefreshOutcome {
  outcome: 'swapped' | 'unchanged' | 'failed';
  reason: string;
  ranker: { model: string; version: number } | null;
  retrieval: { model: string; version: number } | null;
  error?: string;
}

/**
 * Holds the serving models and swaps them when the registry's serving alias
 * moves. A new version is loaded and warmed beside the old one, then swapped
 * in with one assignment; requests that took the old bundle finish on it (its
 * model is disposed when the last of them releases it). A version that fails
 * to load leaves the old one serving. Refreshes are single-flight: triggers
 * that arrive during one run one more refresh after it.
 */
export class ModelHolder {
  private bundle: ModelBundle | undefined;
  private running: Promise<RefreshOutcome> | undefined;
  private again: Promise<RefreshOutcome> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private subscriber: Redis | undefined;
  private closed = false;

  constructor(private readonly options: ModelHolderOptions) {}

  get current(): ModelBundle | undefined {
    return this.bundle;
  }

  get names(): string[] {
    return [this.options.ranker, ...(this.options.retrieval ? [this.options.retrieval] : [])];
  }

  /** Loads the first versions; throws if the ranker cannot be loaded. */
  async start(): Promise<RefreshOutcome> {
    const outcome = await this.refresh('start');
    if (!this.bundle) throw new ServiceUnavailableError(`no model to serve: ${outcome.error ?? 'unknown error'}`);
    return outcome;
  }

  /** The bundle for one request; call release() when the request is done with it. */
  acquire(): ModelBundle {
    const bundle = this.bundle;
    if (this.closed) throw new ServiceUnavailableError('the server is shutting down');
    if (!bundle) throw new ServiceUnavailableError('models are not loaded yet');
    bundle.ranker.acquire();
    return bundle;
  }

  release(bundle: ModelBundle): void {
    bundle.ranker.release();
  }

  refresh(reason: string): Promise<RefreshOutcome> {
    if (this.closed) return Promise.resolve({ outcome: 'unchanged', reason: `${reason} (closed)`, ...(this.bundle ? this.versions(this.bundle) : { ranker: null, retrieval: null }) });
    if (!this.running) {
      this.running = this.load(reason).finally(() => { this.running = undefined; });
      return this.running;
    }
    // One more run after the current one covers every trigger that came meanwhile.
    this.again ??= this.running.then(() => {
      this.again = undefined;
      return this.refresh(reason);
    });
    return this.again;
  }

  /** Checks the registry every `seconds` (0: never). */
  poll(seconds: number): void {
    if (seconds <= 0) return;
    this.timer = setInterval(() => void this.refresh('poll'), seconds * 1000);
    this.timer.unref();
  }

  /** Refreshes on the registry's Redis notifications (publish, promote, rollback) of the served models. */
  async subscribe(subscriber: Redis, channel: string): Promise<void> {
    this.subscriber = subscriber;
    subscriber.on('message', (ch: string, message: string) => {
      if (ch !== channel) return;
      let model: unknown;
      let kind: unknown;
      try {
        ({ model, kind } = JSON.parse(message) as { model?: unknown; kind?: unknown });
      } catch {
        this.options.log.warn({ channel }, 'ignored a registry message that is not JSON');
        return;
      }
      if (typeof model === 'string' && this.names.includes(model)) void this.refresh(`redis:${String(kind)}:${model}`);
    });
    await subscriber.subscribe(channel);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.subscriber) this.subscriber.disconnect();
    this.closed = true;
    await this.again?.catch(() => {});
    await this.running?.catch(() => {});
    // No request takes the models from now on; those still holding them keep them until they release (reference count).
    this.bundle?.ranker.retire();
  }

  /** `name@serving`, or with allowLatest `name@latest` (logged) when the model has no serving alias yet. */
  private async resolve(name: string): Promise<ServedVersion> {
    const registry = this.options.registry;
    if (await registry.serving(name)) {
      const r = await registry.resolve(`${name}@serving`);
      return { model: r.model, version: r.version, dir: r.dir, via: 'serving' };
    }
    if (!this.options.allowLatest) {
      throw new RegistryError(`model '${name}' has no serving version: promote one (recsys models promote ${name}@<version>) or serve its newest with --allow-latest (RECSYS_SERVE_ALLOW_LATEST=true)`);
    }
    const r = await registry.resolve(`${name}@latest`);
    return { model: r.model, version: r.version, dir: r.dir, via: 'latest' };
  }

  private async load(reason: string): Promise<RefreshOutcome> {
    const { log, metrics } = this.options;
    const old = this.bundle;
    let ranker: RankerHandle | undefined;
    try {
      const rankerVersion = await this.resolve(this.options.ranker);
      const retrievalVersion = this.options.retrieval ? await this.resolve(this.options.retrieval) : null;
      const rankerSame = old?.ranker.served.version === rankerVersion.version && old.ranker.served.dir === rankerVersion.dir;
      const retrievalSame = (old?.retrieval?.served.version ?? null) === (retrievalVersion?.version ?? null) && old !== undefined;
      if (old && rankerSame && retrievalSame) {
        // Same versions; the alias may now name them (latest → serving).
        old.ranker.served.via = rankerVersion.via;
        if (old.retrieval && retrievalVersion) old.retrieval.served.via = retrievalVersion.via;
        metrics?.reloads.inc({ outcome: 'unchanged' });
        return { outcome: 'unchanged', reason, ...this.versions(old) };
      }
      for (const v of [rankerSame ? null : rankerVersion, retrievalSame ? null : retrievalVersion]) {
        if (v?.via === 'latest') log.warn({ model: v.model, version: v.version }, `model ${v.model} has no serving alias: serving its latest version v${v.version} (promote one: recsys models promote ${v.model}@<version>)`);
      }
      const started = performance.now();
      const rankerLoad = rankerSame ? undefined : RankerHandle.load(rankerVersion, {
        precision: this.options.precision,
        thread: this.options.rankerThread ?? false,
        onThreadFailure: (error, when, retryInMs) => {
          metrics?.rankerThreadFailures.inc({ when });
          const next = retryInMs === undefined ? 'the version is being replaced' : `a new thread is tried in ${(retryInMs / 1000).toFixed(1)} s`;
          log.error({ model: rankerVersion.model, version: rankerVersion.version, err: error.message, when, retryInMs },
            `${when === 'serving' ? 'the ranker thread died' : 'a new ranker thread did not start'}: predictions run on the event loop; ${next}`);
        },
        onThreadRestarted: () => {
          metrics?.rankerThreadRestarts.inc();
          log.info({ model: rankerVersion.model, version: rankerVersion.version }, 'a new ranker thread took over the predictions');
        },
        ...(metrics ? { onThreadGc: ({ kind, seconds }: GcPause) => metrics.rankerThreadGc.observe({ kind }, seconds) } : {}),
        ...(this.options.rankerThreadRestart ? { threadRestart: this.options.rankerThreadRestart } : {}),
      });
      let newRanker: RankerHandle | undefined;
      let newRetrieval: Retrieval | undefined;
      try {
        [newRanker, newRetrieval] = await Promise.all([
          rankerLoad,
          retrievalSame || !retrievalVersion ? undefined : Retrieval.load(retrievalVersion, this.options.retrievalOptions),
        ]);
      } catch (error) {
        // A ranker that loaded beside a retrieval version that failed is let go below (tensors and thread), not leaked.
        ranker = await rankerLoad?.catch(() => undefined);
        throw error;
      }
      ranker = newRanker;
      if (newRanker?.threadProblem) {
        metrics?.rankerThreadFailures.inc({ when: 'start' });
        log.warn({ model: rankerVersion.model, version: rankerVersion.version, err: newRanker.threadProblem }, 'the ranker thread did not start: predictions run on the event loop until a new thread starts (tried after a wait)');
      }
      const next: ModelBundle = { ranker: newRanker ?? old!.ranker, retrieval: retrievalVersion ? newRetrieval ?? old!.retrieval : null, loadedAt: Date.now() };
      const mismatch = checkItemOverlap(next, this.options.allowItemMismatch ?? false);
      if (mismatch) log.warn({ ranker: next.ranker.served, retrieval: next.retrieval?.served }, mismatch);
      if (newRetrieval) await this.loadFoldIns(newRetrieval);
      warm(next);
      this.bundle = next; // the swap: one assignment; requests already running keep the bundle they took
      ranker = undefined; // served now: a later error must not retire it
      // Vectors announced while this version loaded were ignored (not yet served): read them again.
      if (newRetrieval) await this.loadFoldIns(newRetrieval);
      if (old && newRanker) old.ranker.retire();
      this.publishVersions(next, old);
      metrics?.reloads.inc({ outcome: 'swapped' });
      if (newRetrieval) {
        metrics?.annBuildSeconds.set(newRetrieval.buildSeconds);
        metrics?.annRecall.set(newRetrieval.recall);
        if (this.options.retrievalOptions.ann === 'hnsw' && newRetrieval.index.kind === 'exact') {
          log.warn({ model: newRetrieval.served.model, version: newRetrieval.served.version }, `HNSW recall@100 on sampled users was below ${this.options.retrievalOptions.minRecall ?? 0.9}: retrieval uses exact search for this version`);
        }
      }
      log.info({ reason, ranker: next.ranker.served, retrieval: next.retrieval?.served ?? null, loadSeconds: (performance.now() - started) / 1000, annBuildSeconds: newRetrieval?.buildSeconds, annRecall: newRetrieval?.recall, annIndex: newRetrieval?.index.kind }, old ? 'swapped in new model versions' : 'models loaded');
      return { outcome: 'swapped', reason, ...this.versions(next) };
    } catch (error) {
      ranker?.retire();
      metrics?.reloads.inc({ outcome: 'failed' });
      const message = errorMessage(error);
      if (old) log.error({ reason, err: message }, 'loading a new model version failed: the old version keeps serving');
      else log.error({ reason, err: message }, error instanceof RegistryError ? 'no model to serve' : 'loading the models failed');
      return { outcome: 'failed', reason, error: message, ...(old ? this.versions(old) : { ranker: null, retrieval: null }) };
    }
  }

  /** Applies one fold-in announcement to the served retrieval model (vectors only when written for its version). */
  async applyFoldIn(message: FoldInMessage): Promise<void> {
    const retrieval = this.bundle?.retrieval;
    const store = this.options.foldIns;
    if (!retrieval || !store || message.model !== retrieval.served.model) return;
    retrieval.setCatalog(message.removed, message.restored);
    if (message.version !== retrieval.served.version || message.items.length === 0) return;
    const added = retrieval.addItems(await store.readVectors(message.model, message.version, message.items));
    this.options.metrics?.foldedItems.set(retrieval.foldedItems);
    if (added > 0) this.options.log.debug({ added, model: message.model, version: message.version }, 'folded-in items added to the index');
  }

  private async loadFoldIns(retrieval: Retrieval): Promise<void> {
    const store = this.options.foldIns;
    if (!store) return;
    const { model, version } = retrieval.served;
    try {
      const [vectors, removed] = await Promise.all([store.readVectors(model, version), store.removed(model)]);
      retrieval.addItems(vectors);
      retrieval.setCatalog(removed, []);
      this.options.metrics?.foldedItems.set(retrieval.foldedItems);
    } catch (error) {
      // Fold-in adds to a model that serves without it: a Redis outage must not stop a version from loading.
      this.options.log.warn({ model, version, err: errorMessage(error) }, 'could not read folded-in items: serving the trained items only');
    }
  }

  private versions(b: ModelBundle): Pick<RefreshOutcome, 'ranker' | 'retrieval'> {
    return {
      ranker: { model: b.ranker.served.model, version: b.ranker.served.version },
      retrieval: b.retrieval ? { model: b.retrieval.served.model, version: b.retrieval.served.version } : null,
    };
  }

  private publishVersions(next: ModelBundle, old: ModelBundle | undefined): void {
    const gauge = this.options.metrics?.modelVersion;
    if (!gauge) return;
    if (old) gauge.remove({ role: 'ranker', model: old.ranker.served.model });
    gauge.set({ role: 'ranker', model: next.ranker.served.model }, next.ranker.served.version);
    if (next.retrieval) gauge.set({ role: 'retrieval', model: next.retrieval.served.model }, next.retrieval.served.version);
  }
}

/** First calls compile TF kernels and touch the index: done before the swap, so no request pays for them. */
function warm(bundle: ModelBundle): void {
  const items = bundle.retrieval ? bundle.retrieval.itemIds.slice(0, 8) : [];
  bundle.ranker.scorer.score({ userId: 'warm-up', history: items.slice(0, 2).map((item_id, i) => ({ item_id, ts: i })), candidates: items.length > 0 ? items : ['warm-up'] });
  if (bundle.retrieval) bundle.retrieval.index.search(bundle.retrieval.meanItem, 10);
}
