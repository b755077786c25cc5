import { ValidationError } from '../../../infra/errors.js';
import { DEFAULT_ROW, DynamicIds, resolveDynamicIds } from '../ids/dynamic-ids.js';
import type { DynamicIdsConfig, DynamicIdsOptions, DynamicIdsState, DynamicIdsStats } from '../ids/dynamic-ids.js';
import { mergeGradients } from './merge-gradients.js';
import { createOptimizer } from '../optimizers/create-optimizer.js';
import { ParallelApply } from '../optimizers/parallel-apply.js';
import { createOptimizerState, resetRowState } from '../optimizers/sparse-optimizer.js';
import type { OptimizerConfig, OptimizerState, SparseOptimizer } from '../optimizers/sparse-optimizer.js';
import { checkRowInit, initRow } from './row-init.js';
import type { RowInit } from './row-init.js';
import { RowDeduper } from './row-deduper.js';
import { allocateTableArray, onSharedMemory } from './table-arrays.js';
import { copyRows, toInt32Ids } from './table-lookup.js';
import type { TableLookup } from './table-lookup.js';

/** Ids are row indices in [0, rows): a dense vocabulary or already-hashed buckets. */
export interface RangeIdsOptions {
  kind: 'range';
}

export interface EmbeddingTableOptions {
  /** Names the table in errors and checkpoints. @default 'embedding' */
  name?: string;
  rows: number;
  dim: number;
  optimizer: OptimizerConfig;
  /** @default { kind: 'range' } */
  ids?: RangeIdsOptions | DynamicIdsOptions;
  /** @default uniform in ±1/√dim */
  init?: RowInit;
  /** Seeds row init: a row's first values depend only on (seed, id). @default 0 */
  seed?: number;
  /** Wall clock for expiryUnit 'ms'. @default Date.now */
  now?: () => number;
  /**
   * Threads for the optimizer update (the caller's plus threads−1 workers);
   * above 1, weights and optimizer state live on SharedArrayBuffers. Call
   * close() when done. @default 1
   */
  threads?: number;
}

/** Restored state, as a checkpoint holds it. */
export interface EmbeddingTableState {
  weights: Float32Array;
  optimizer: OptimizerState;
  lookups: number;
  dynamic?: DynamicIdsState;
}

export interface TableMemory {
  weightBytes: number;
  optimizerBytes: number;
  idMapBytes: number;
  /** The dedupe scratch: sized to the largest batch looked up (8 bytes × a power of two ≥ 2 × its ids), not to the table. */
  scratchBytes: number;
  totalBytes: number;
  bytesPerRow: number;
}

/**
 * A rows×dim embedding table kept outside the autograd tape. TF.js has no
 * sparse gradient for gather, so a table in a tf.Variable would pay for every
 * row every step; here a step costs only the rows the batch touched:
 * `lookup` hands out those rows, `applyGradients` takes their gradient back
 * and runs the sparse optimizer on them alone.
 */
export class EmbeddingTable {
  readonly name: string;
  readonly rows: number;
  readonly dim: number;
  readonly seed: number;
  readonly init: RowInit;
  readonly optimizer: SparseOptimizer;
  readonly idsConfig: RangeIdsOptions | DynamicIdsConfig;
  readonly weights: Float32Array;
  readonly optimizerState: OptimizerState;
  private readonly dynamic: DynamicIds | null;
  private readonly updater: ParallelApply;
  private readonly now: () => number;
  private lookupCount: number;
  private readonly deduper: RowDeduper;
  private rowScratch = new Int32Array(0);
  private uniqueScratch = new Int32Array(0);
  private readonly issued = new WeakSet<Int32Array>();
  /** 1 per row changed since the last takeChangedRows(), when tracking (see trackChanges). */
  private changed: Uint8Array | null = null;
  private frozen = false;

  constructor(options: EmbeddingTableOptions, restored?: EmbeddingTableState) {
    const { name = 'embedding', rows, dim, ids = { kind: 'range' }, seed = 0, now = Date.now, threads = 1 } = options;
    const issues = [
      Number.isInteger(rows) && rows >= 1 && rows <= 2 ** 31 - 1 ? '' : `rows must be an integer in [1, 2^31-1], got ${rows}`,
      Number.isInteger(dim) && dim >= 1 ? '' : `dim must be a positive integer, got ${dim}`,
      rows * dim <= 2 ** 32 ? '' : `rows×dim must fit one Float32Array (≤ 2^32 floats), got ${rows * dim}`,
      Number.isInteger(seed) ? '' : `seed must be an integer, got ${seed}`,
      Number.isInteger(threads) && threads >= 1 ? '' : `threads must be a positive integer, got ${threads}`,
      ids.kind === 'range' || ids.kind === 'dynamic' ? '' : `ids.kind must be 'range' or 'dynamic', got ${String((ids as { kind: unknown }).kind)}`,
    ].filter(Boolean);
    if (issues.length > 0) throw new ValidationError(`invalid embedding table '${name}'`, issues);
    this.name = name;
    this.rows = rows;
    this.dim = dim;
    this.seed = seed;
    this.now = now;
    this.init = checkRowInit(options.init ?? { kind: 'uniform', scale: 1 / Math.sqrt(dim) });
    this.optimizer = createOptimizer(options.optimizer);
    this.idsConfig = ids.kind === 'dynamic' ? resolveDynamicIds(ids, rows) : { kind: 'range' };
    const place = threads > 1 ? onSharedMemory : (array: Float32Array) => array;
    const allocate = (n: number): Float32Array => allocateTableArray(n, threads > 1);
    this.weights = place(restored?.weights ?? allocate(rows * dim));
    const state = restored?.optimizer ?? createOptimizerState(this.optimizer, rows, dim, allocate);
    this.optimizerState = { slots: state.slots.map(place), step: state.step };
    this.updater = new ParallelApply(this.optimizer, threads, this.weights, this.optimizerState.slots, dim);
    this.lookupCount = restored?.lookups ?? 0;
    this.deduper = new RowDeduper(rows);
    this.dynamic =
      this.idsConfig.kind === 'dynamic'
        ? new DynamicIds(this.idsConfig, rows, (row, id) => this.freshRow(row, id), restored?.dynamic, (row) => this.markRow(row))
        : null;
    if (!restored && !this.dynamic) for (let row = 0; row < rows; row++) initRow(this.weights, row * dim, dim, this.init, seed, row);
  }

  /** What rebuilds this table: same name, shape, ids, optimizer, init and seed (`now` and threads are not kept). */
  get options(): EmbeddingTableOptions {
    const ids = this.idsConfig.kind === 'dynamic' ? { ...this.idsConfig, expireAfter: this.idsConfig.expireAfter ?? undefined } : this.idsConfig;
    return { name: this.name, rows: this.rows, dim: this.dim, optimizer: this.optimizer.config, ids, init: this.init, seed: this.seed, now: this.now };
  }

  /** The live state, as a checkpoint holds it (the arrays themselves, not copies). */
  get state(): EmbeddingTableState {
    return { weights: this.weights, optimizer: this.optimizerState, lookups: this.lookupCount, ...(this.dynamic ? { dynamic: this.dynamic.state } : {}) };
  }

  /**
   * Starts recording which rows change: trained, given to an id, reset or
   * freed by expiry (what a delta publish must carry). Idempotent.
   */
  trackChanges(): void {
    this.changed ??= new Uint8Array(this.rows);
  }

  /** Rows changed since tracking started or the last call, ascending; clears the record. Empty when not tracking. */
  takeChangedRows(): Int32Array {
    const changed = this.changed;
    if (!changed) return new Int32Array(0);
    let n = 0;
    for (let row = 0; row < changed.length; row++) n += changed[row]!;
    const out = new Int32Array(n);
    for (let row = 0, k = 0; row < changed.length; row++) if (changed[row]) out[k++] = row;
    changed.fill(0);
    return out;
  }

  /** Records rows as changed (e.g. restoring a record saved with a checkpoint); starts tracking. */
  markChanged(rows: ArrayLike<number>): void {
    this.trackChanges();
    for (let i = 0; i < rows.length; i++) this.markRow(rows[i]!);
  }

  /** Whether `id` has a row of its own (dynamic ids), without touching anything; undefined when every id maps to a row (range ids). */
  hasRow(id: number): boolean | undefined {
    return this.dynamic ? this.dynamic.rowOf(id) !== DEFAULT_ROW : undefined;
  }

  /**
   * Makes the table read-only, for serving, replay and evaluation: lookups no
   * longer allocate, admit, expire or count (an id without a row reads the
   * default row) and gradients are refused. Otherwise any request could move
   * the served model (a random fresh row per unseen id, a trained row reset by
   * expiry) and a score would depend on the requests that came before it.
   * There is no way back: a trainer loads its own copy.
   */
  freeze(): this {
    this.frozen = true;
    return this;
  }

  get readOnly(): boolean {
    return this.frozen;
  }

  /** Lookups so far: the clock of expiryUnit 'steps'. */
  get lookups(): number {
    return this.lookupCount;
  }

  /** Id-map state for a checkpoint; null for range ids. */
  get dynamicState(): DynamicIdsState | null {
    return this.dynamic?.state ?? null;
  }

  stats(): DynamicIdsStats | null {
    return this.dynamic?.stats() ?? null;
  }

  memory(): TableMemory {
    const weightBytes = this.weights.byteLength;
    const optimizerBytes = this.optimizerState.slots.reduce((sum, slot) => sum + slot.byteLength, 0);
    const idMapBytes = this.dynamic?.bytes ?? 0;
    const scratchBytes = this.deduper.bytes;
    const totalBytes = weightBytes + optimizerBytes + idMapBytes + scratchBytes;
    return { weightBytes, optimizerBytes, idMapBytes, scratchBytes, totalBytes, bytesPerRow: totalBytes / this.rows };
  }

  /**
   * The distinct rows of a batch of ids. Range ids must lie in [0, rows);
   * dynamic ids are any int32 and may allocate, admit or expire rows (unless
   * the table is frozen).
   */
  lookup(ids: ArrayLike<number>): TableLookup {
    const positions = toInt32Ids(ids, this.name);
    const n = positions.length;
    let rowOf: Int32Array = positions;
    if (this.frozen) {
      if (this.dynamic) {
        rowOf = new Int32Array(n);
        for (let i = 0; i < n; i++) rowOf[i] = this.dynamic.rowOf(positions[i]!);
      } else {
        this.checkRows(positions, 'ids');
      }
      const unique = new Int32Array(n);
      const inverse = new Int32Array(n);
      const u = this.deduper.dedupe(rowOf, n, unique, inverse);
      const distinct = unique.slice(0, u);
      return { unique: distinct, inverse, rows: copyRows(this.weights, distinct, this.dim) };
    }
    this.lookupCount++;
    if (this.dynamic) {
      rowOf = this.scratchRows(n);
      this.dynamic.mapBatch(positions, rowOf, this.idsConfig.kind === 'dynamic' && this.idsConfig.expiryUnit === 'ms' ? this.now() : this.lookupCount);
    } else {
      this.checkRows(positions, 'ids');
    }
    if (this.uniqueScratch.length < n) this.uniqueScratch = new Int32Array(n);
    const inverse = new Int32Array(n);
    const u = this.deduper.dedupe(rowOf, n, this.uniqueScratch, inverse);
    const unique = this.uniqueScratch.slice(0, u);
    // Dynamic tables may issue the zero row, which must still be filtered out.
    if (!this.dynamic) this.issued.add(unique);
    return { unique, inverse, rows: copyRows(this.weights, unique, this.dim) };
  }

  /**
   * Runs the optimizer on rows `unique` with `grad` (unique.length × dim).
   * Repeated rows have their gradients summed first, so gradients gathered
   * from several lookups of one table can be concatenated and passed at once.
   * A `unique` array exactly as a range table's lookup returned it is trusted
   * to be distinct and in range; do not modify it.
   */
  applyGradients(unique: Int32Array, grad: Float32Array): void {
    if (this.frozen) throw new ValidationError(`table '${this.name}' is read-only (loaded for serving, replay or evaluation)`, ['load the model with { trainable: true } to train it']);
    if (grad.length !== unique.length * this.dim) {
      throw new ValidationError(`table '${this.name}': gradient size mismatch`, [
        `grad has ${grad.length} floats, expected unique.length × dim = ${unique.length} × ${this.dim}`,
      ]);
    }
    // An array this range table issued is known distinct and in range; the
    // check would cost a cache miss per row (~1 ms at 17k rows).
    let merged = { unique, grad };
    if (!this.issued.has(unique)) {
      this.checkRows(unique, 'unique');
      merged = mergeGradients(unique, grad, this.dim, this.deduper, this.dynamic ? DEFAULT_ROW : -1);
    }
    const step = ++this.optimizerState.step;
    if (this.changed) for (let i = 0; i < merged.unique.length; i++) this.changed[merged.unique[i]!] = 1;
    this.updater.apply({ weights: this.weights, slots: this.optimizerState.slots, step, unique: merged.unique, grad: merged.grad, dim: this.dim });
  }

  /** Stops the update threads (threads > 1); the table must not be trained afterwards. */
  async close(): Promise<void> {
    await this.updater.close();
  }

  private markRow(row: number): void {
    if (this.changed && row >= 0 && row < this.rows) this.changed[row] = 1;
  }

  private freshRow(row: number, id: number): void {
    this.markRow(row);
    initRow(this.weights, row * this.dim, this.dim, this.init, this.seed, id);
    resetRowState(this.optimizer, this.optimizerState, row, this.dim);
  }

  private scratchRows(n: number): Int32Array {
    if (this.rowScratch.length < n) this.rowScratch = new Int32Array(n);
    return this.rowScratch.length === n ? this.rowScratch : this.rowScratch.subarray(0, n);
  }

  private checkRows(rows: Int32Array, what: string): void {
    const limit = this.rows;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      if (row < 0 || row >= limit) {
        throw new ValidationError(`table '${this.name}': row out of range`, [`${what}[${i}] = ${row} is not in [0, ${limit})`]);
      }
    }
  }
}
