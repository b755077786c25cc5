import type { CtrModel } from '../models/ctr/ctr-model.js';
import { CtrScorer, type Precision } from '../models/ctr/ctr-scorer.js';
import { loadCtrModel } from '../models/ctr-artifact/model-artifact.js';
import { loadGraphEmbeddings, type LoadedGraphEmbeddings } from '../models/graph/graph-artifact.js';
import { ExactIndex, type AnnIndex } from './ann-index.js';
import { buildHnswInWorker } from './hnsw-worker-build.js';
import { RankerThread, type GcPause } from './ranker-thread.js';
import { errorMessage } from '../infra/errors.js';
import type { EncodedBatch } from '../features/spec/feature-encoder.js';

/** A registry version as serving resolved it. */
export interface ServedVersion {
  model: string;
  version: number;
  dir: string;
  /** `serving` when the alias named it, `latest` when the model had no serving alias. */
  via: 'serving' | 'latest';
}

export interface RankerLoadOptions {
  precision: Precision;
  /** Predict in a worker thread (ranker-thread.ts) instead of on the event loop. @default false */
  thread?: boolean;
  /**
   * Called when the thread dies while serving (`serving`) or a new one fails
   * to start in its place (`restart`); predictions go on in-process meanwhile.
   * `retryInMs`: when a new thread will be tried (undefined: none will, the
   * handle is retired).
   */
  onThreadFailure?: (error: Error, when: 'serving' | 'restart', retryInMs: number | undefined) => void;
  /** Called when a new thread took over from one that died or did not start. */
  onThreadRestarted?: () => void;
  /** Called for each garbage collection that paused the thread (its heap is its own). */
  onThreadGc?: (pause: GcPause) => void;
  /**
   * Waits before starting a new thread after a failure: from `firstMs`,
   * doubling up to `maxMs`; back to `firstMs` after a thread that lived
   * `stableMs` (no crash loop). @default { firstMs: 1000, maxMs: 60000, stableMs: 60000 }
   */
  threadRestart?: ThreadRestartPolicy;
}

export interface ThreadRestartPolicy {
  firstMs: number;
  maxMs: number;
  stableMs?: number;
}

/**
 * A loaded CTR model. Reference-counted: requests hold it while they use it,
 * so after a swap the old model is disposed only when its last request ends.
 * With a ranker thread, predictions run there and the in-process copy serves
 * encoding, embedding lookups and, should the thread die, the predictions.
 */
export class RankerHandle {
  private refs = 0;
  private retired = false;
  private disposed = false;
  private thread: RankerThread | undefined;
  private threadSince = 0;
  private readonly restartPolicy: Required<ThreadRestartPolicy>;
  private restartDelayMs: number;
  private restartTimer: NodeJS.Timeout | undefined;

  /** `threadProblem`: why the thread requested with the version did not start (in-process prediction served until a new one did). */
  private constructor(readonly served: ServedVersion, readonly scorer: CtrScorer, private readonly options: RankerLoadOptions, readonly threadProblem?: string) {
    this.restartPolicy = { firstMs: 1000, maxMs: 60_000, stableMs: 60_000, ...options.threadRestart };
    this.restartDelayMs = this.restartPolicy.firstMs;
  }

  get model(): CtrModel {
    return this.scorer.model;
  }

  /** Whether predictions run in a live ranker thread. */
  get threaded(): boolean {
    return this.thread !== undefined && this.thread.failure === undefined;
  }

  static async load(served: ServedVersion, options: RankerLoadOptions): Promise<RankerHandle> {
    let handle: RankerHandle | undefined;
    let first: RankerThread | undefined;
    // A failure before the handle exists is seen when the handle adopts the thread.
    const onFailure = (error: Error) => { if (first) handle?.threadFailed(first, error); };
    const started = options.thread
      ? RankerThread.start({ dir: served.dir, precision: options.precision }, { onFailure, ...(options.onThreadGc ? { onGc: options.onThreadGc } : {}) }).then((t) => ({ thread: (first = t) }), (error: unknown) => ({ problem: errorMessage(error) }))
      : undefined;
    let model: CtrModel | undefined;
    try {
      ({ model } = await loadCtrModel(served.dir));
      const scorer = CtrScorer.fromModel(model, options.precision);
      const outcome = await started;
      handle = new RankerHandle(served, scorer, options, outcome && 'problem' in outcome ? outcome.problem : undefined);
      if (outcome && 'thread' in outcome) handle.adopt(outcome.thread);
      else if (outcome) handle.scheduleRestart();
      return handle;
    } catch (error) {
      // Nothing half-loaded stays behind: a registry poll retries the same version.
      model?.dispose();
      const outcome = await started;
      if (outcome && 'thread' in outcome) await outcome.thread.close();
      throw error;
    }
  }

  /** Click probabilities for an encoded batch: in the ranker thread while it lives, else in-process. */
  async predict(batch: EncodedBatch): Promise<Float32Array> {
    const thread = this.thread;
    if (thread && thread.failure === undefined) {
      try {
        return await thread.predict(batch);
      } catch (error) {
        // A batch the thread could not score is an error; one it died holding is scored here.
        if (thread.failure === undefined) throw error;
      }
    }
    return this.scorer.model.predict(batch);
  }

  acquire(): void {
    this.refs++;
  }

  release(): void {
    this.refs--;
    this.maybeDispose();
  }

  /** No new requests will take it; disposed when the last one releases it. */
  retire(): void {
    this.retired = true;
    clearTimeout(this.restartTimer);
    this.maybeDispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private adopt(thread: RankerThread): void {
    this.thread = thread;
    this.threadSince = Date.now();
    // Failed already while the handle was being made: its callback found no handle to tell.
    if (thread.failure) this.threadFailed(thread, thread.failure);
  }

  /** The serving thread died: predictions run here until a new thread, started after a backoff, takes over. */
  private threadFailed(thread: RankerThread, error: Error): void {
    if (thread !== this.thread || this.disposed) return;
    if (Date.now() - this.threadSince >= this.restartPolicy.stableMs) this.restartDelayMs = this.restartPolicy.firstMs;
    // A retired handle still drains its requests (in-process now) and reports the death, but starts no thread.
    this.options.onThreadFailure?.(error, 'serving', this.retired ? undefined : this.scheduleRestart());
  }

  /** Schedules a new thread's start; returns the wait. */
  private scheduleRestart(): number | undefined {
    if (this.retired || this.disposed) return undefined;
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(this.restartPolicy.maxMs, delay * 2);
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart(), delay);
    this.restartTimer.unref();
    return delay;
  }

  private async restart(): Promise<void> {
    if (this.retired || this.disposed) return;
    let thread: RankerThread;
    try {
      thread = await RankerThread.start({ dir: this.served.dir, precision: this.options.precision }, {
        onFailure: (error) => this.threadFailed(thread, error),
        ...(this.options.onThreadGc ? { onGc: this.options.onThreadGc } : {}),
      });
    } catch (error) {
      if (this.retired || this.disposed) return;
      this.options.onThreadFailure?.(error instanceof Error ? error : new Error(String(error)), 'restart', this.scheduleRestart());
      return;
    }
    try {
      if (this.retired || this.disposed) {
        await thread.close();
        return;
      }
      this.adopt(thread);
      if (this.thread === thread && thread.failure === undefined) this.options.onThreadRestarted?.();
    } catch {
      // Only a caller's callback can throw here: the new thread is in place either way.
    }
  }

  private maybeDispose(): void {
    if (this.retired && this.refs <= 0 && !this.disposed) {
      this.disposed = true;
      clearTimeout(this.restartTimer);
      void this.thread?.close();
      this.scorer.model.dispose();
    }
  }
}

export interface RetrievalOptions {
  ann: 'hnsw' | 'exact';
  ef: number;
  m: number;
  itemIdPrefix: string;
  userIdPrefix: string;
  /** HNSW whose recall@100 on sampled user queries is below this is replaced by exact search. @default 0.9 */
  minRecall?: number;
}

/** What a Retrieval serves: the graph model's embeddings, the index chosen over its items and how it measured. */
type RetrievalParts = Pick<Retrieval, 'served' | 'embeddings' | 'index' | 'exact' | 'buildSeconds' | 'recall'>;

/** A graph model's embeddings with the index over its items and id maps in external (string) ids. */
export class Retrieval {
  readonly itemIds: string[];
  readonly itemRow: Map<string, number>;
  readonly userRow: Map<string, number>;
  /** Mean item vector: the query for a user with neither a row nor known history (cold start). */
  readonly meanItem: Float32Array;

  readonly served: ServedVersion;
  readonly embeddings: LoadedGraphEmbeddings;
  readonly index: AnnIndex;
  readonly exact: ExactIndex;
  readonly buildSeconds: number;
  /** recall@100 of the index against exact search on sampled user queries (1 for exact search). */
  readonly recall: number;
  /** Vectors of folded-in items (rows from the trained count on), by row. */
  private readonly placed = new Map<number, Float32Array>();
  /** Items taken out of the catalog → their row (kept so a restore finds it). */
  private readonly removedRows = new Map<string, number>();
  private readonly trainedItems: number;
  private readonly prefix: string;

  private constructor(parts: RetrievalParts, options: RetrievalOptions) {
    ({ served: this.served, embeddings: this.embeddings, index: this.index, exact: this.exact, buildSeconds: this.buildSeconds, recall: this.recall } = parts);
    const { embeddings } = parts;
    this.prefix = options.itemIdPrefix;
    this.itemIds = embeddings.itemIds.map((id) => `${options.itemIdPrefix}${id}`);
    this.trainedItems = this.itemIds.length;
    this.itemRow = new Map(this.itemIds.map((id, row) => [id, row]));
    this.userRow = new Map(embeddings.userIds.map((id, row) => [`${options.userIdPrefix}${id}`, row]));
    const dim = embeddings.dim;
    this.meanItem = new Float32Array(dim);
    const n = this.itemIds.length;
    for (let r = 0; r < n; r++) for (let d = 0; d < dim; d++) this.meanItem[d]! += embeddings.items[r * dim + d]! / n;
  }

  get dim(): number {
    return this.embeddings.dim;
  }

  /**
   * Loads the embeddings and builds the index. The HNSW index's recall@100 is
   * measured against exact search on up to 64 users' rows; below
   * `minRecall` the exact index serves instead (slower, never wrong).
   */
  static async load(served: ServedVersion, options: RetrievalOptions): Promise<Retrieval> {
    const embeddings = await loadGraphEmbeddings(served.dir);
    const { dim } = embeddings;
    const exact = new ExactIndex(embeddings.items, dim);
    if (options.ann === 'exact') return new Retrieval({ served, embeddings, index: exact, exact, buildSeconds: 0, recall: 1 }, options);
    const users = embeddings.userIds.length;
    const sample = Math.min(64, users);
    const queries = new Float32Array(sample * dim);
    for (let i = 0; i < sample; i++) {
      const row = Math.floor((i * users) / sample);
      queries.set(embeddings.users.subarray(row * dim, (row + 1) * dim), i * dim);
    }
    // Built (and its recall measured) in a worker thread: requests keep being served meanwhile.
    const { index: hnsw, recall, buildSeconds } = await buildHnswInWorker(embeddings.items, dim, queries, { ef: options.ef, m: options.m });
    const useExact = recall < (options.minRecall ?? 0.9);
    return new Retrieval({ served, embeddings, index: useExact ? exact : hnsw, exact, buildSeconds, recall: useExact ? 1 : recall }, options);
  }

  itemVector(id: string): Float32Array | undefined {
    const row = this.itemRow.get(id);
    if (row === undefined) return undefined;
    return row < this.trainedItems ? this.embeddings.items.subarray(row * this.dim, (row + 1) * this.dim) : this.placed.get(row);
  }

  /** Items placed by fold-in (model ids, as the fold-in worker writes them); a known trained item is left as trained. */
  addItems(vectors: ReadonlyMap<string, Float32Array>): number {
    let added = 0;
    for (const [modelId, vector] of vectors) {
      if (vector.length !== this.dim) continue;
      const id = `${this.prefix}${modelId}`;
      let row = this.itemRow.get(id) ?? this.removedRows.get(id);
      if (row !== undefined && row < this.trainedItems) continue;
      if (row === undefined) {
        row = this.itemIds.length;
        this.itemIds.push(id);
        this.itemRow.set(id, row);
        added++;
      }
      this.placed.set(row, vector);
      for (const index of this.indexes()) index.set(row, vector);
    }
    return added;
  }

  /** Takes items out of retrieval (the catalog removed them), or puts them back. */
  setCatalog(removed: readonly string[], restored: readonly string[]): void {
    for (const modelId of removed) {
      const id = `${this.prefix}${modelId}`;
      const row = this.itemRow.get(id);
      if (row === undefined) continue;
      for (const index of this.indexes()) index.remove(row);
      this.itemRow.delete(id);
      this.removedRows.set(id, row);
    }
    for (const modelId of restored) {
      const id = `${this.prefix}${modelId}`;
      const row = this.removedRows.get(id);
      if (row === undefined) continue;
      for (const index of this.indexes()) index.restore(row);
      this.removedRows.delete(id);
      this.itemRow.set(id, row);
    }
  }

  /** Items placed by fold-in. */
  get foldedItems(): number {
    return this.placed.size;
  }

  private indexes(): AnnIndex[] {
    return this.index === this.exact ? [this.index] : [this.index, this.exact];
  }

  userVector(id: string): Float32Array | undefined {
    const row = this.userRow.get(id);
    return row === undefined ? undefined : this.embeddings.users.subarray(row * this.dim, (row + 1) * this.dim);
  }

  /**
   * The query for a user: their own row; else (a user the model never saw)
   * the mean of their known history items; else the mean item.
   */
  queryFor(userId: string, history: readonly string[]): { query: Float32Array; source: 'user' | 'history' | 'mean' } {
    const own = this.userVector(userId);
    if (own) return { query: own, source: 'user' };
    const query = new Float32Array(this.dim);
    let n = 0;
    for (const id of history) {
      const v = this.itemVector(id);
      if (!v) continue;
      for (let d = 0; d < this.dim; d++) query[d]! += v[d]!;
      n++;
    }
    if (n === 0) return { query: this.meanItem, source: 'mean' };
    for (let d = 0; d < this.dim; d++) query[d]! /= n;
    return { query, source: 'history' };
  }

  /** Up to `count` items by dot product, best first, leaving out `exclude`. */
  retrieve(query: Float32Array, count: number, exclude: ReadonlySet<string>): { itemId: string; score: number }[] {
    // Over-fetch by the excluded items the index holds, then drop them.
    let excluded = 0;
    for (const id of exclude) if (this.itemRow.has(id)) excluded++;
    const found = this.index.search(query, Math.min(this.itemRow.size, count + excluded));
    const out: { itemId: string; score: number }[] = [];
    for (let i = 0; i < found.rows.length && out.length < count; i++) {
      const itemId = this.itemIds[found.rows[i]!]!;
      if (!exclude.has(itemId)) out.push({ itemId, score: found.scores[i]! });
    }
    return out;
  }
}

/** What one request is served with: a ranker and, optionally, retrieval. Swapped whole; only fold-in and catalog changes touch its retrieval in place. */
export interface ModelBundle {
  ranker: RankerHandle;
  retrieval: Retrieval | null;
  loadedAt: number;
}
