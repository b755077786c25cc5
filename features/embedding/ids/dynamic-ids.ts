import { ValidationError } from '../../../infra/errors.js';
import { CountMinSketch } from './count-min-sketch.js';
import { IdHashMap } from './id-hash-map.js';

export interface DynamicIdsOptions {
  kind: 'dynamic';
  /**
   * Sightings (occurrences, not batches) before an id gets a row of its own;
   * until then it reads the shared zero row 0 and gets no updates. @default 1
   */
  admitAfter?: number;
  /** A row unseen for longer than this is reset to a fresh row and may be given to another id. @default never */
  expireAfter?: number;
  /** What expireAfter counts: the table's lookups, or wall-clock milliseconds. @default 'steps' */
  expiryUnit?: 'steps' | 'ms';
  /** Admission-filter cells per hash (one byte each). @default max(1024, rows) */
  filterWidth?: number;
  /** Admission-filter hashes per id. @default 2 */
  filterDepth?: number;
}

export interface DynamicIdsConfig {
  kind: 'dynamic';
  admitAfter: number;
  /** null: rows never expire. */
  expireAfter: number | null;
  expiryUnit: 'steps' | 'ms';
  filterWidth: number;
  filterDepth: number;
}

/** What a checkpoint stores to rebuild the id → row map. */
export interface DynamicIdsState {
  rowIds: Int32Array;
  live: Uint8Array;
  lastSeen: Float64Array;
  filterCounts: Uint8Array;
}

export interface DynamicIdsStats {
  liveRows: number;
  /** Sightings mapped to the zero row because the id was not admitted yet. */
  filtered: number;
  /** Sightings mapped to the zero row because no row was free. */
  overflowed: number;
  /** Rows reset after going unseen for longer than expireAfter. */
  expired: number;
}

/** Row 0 is shared by every id without a row of its own; it stays zero. */
export const DEFAULT_ROW = 0;

export function resolveDynamicIds(options: DynamicIdsOptions, rows: number): DynamicIdsConfig {
  const { admitAfter = 1, expireAfter, expiryUnit = 'steps', filterWidth = Math.max(1024, rows), filterDepth = 2 } = options;
  const issues = [
    Number.isInteger(admitAfter) && admitAfter >= 1 && admitAfter <= 255 ? '' : `admitAfter must be an integer in [1, 255], got ${admitAfter}`,
    expireAfter === undefined || expireAfter >= 0 ? '' : `expireAfter must be ≥ 0, got ${expireAfter}`,
    expiryUnit === 'steps' || expiryUnit === 'ms' ? '' : `expiryUnit must be 'steps' or 'ms', got ${String(expiryUnit)}`,
    Number.isInteger(filterWidth) && filterWidth >= 1 ? '' : `filterWidth must be a positive integer, got ${filterWidth}`,
    Number.isInteger(filterDepth) && filterDepth >= 1 && filterDepth <= 8 ? '' : `filterDepth must be an integer in [1, 8], got ${filterDepth}`,
    rows >= 2 ? '' : `a dynamic table needs ≥ 2 rows (row 0 is the shared default), got ${rows}`,
  ].filter(Boolean);
  if (issues.length > 0) throw new ValidationError('invalid dynamic ids options', issues);
  return { kind: 'dynamic', admitAfter, expireAfter: expireAfter ?? null, expiryUnit, filterWidth, filterDepth };
}

/**
 * Maps arbitrary int32 ids (hashed or raw) to rows allocated on first touch,
 * with Monolith's admission filter and expiry.
 */
export class DynamicIds {
  readonly state: DynamicIdsState;
  private readonly map: IdHashMap;
  private readonly free: Int32Array;
  private freeCount = 0;
  private readonly sketch: CountMinSketch | null;
  private lastSweep = Number.NaN;
  private readonly counters = { filtered: 0, overflowed: 0, expired: 0 };

  constructor(
    readonly config: DynamicIdsConfig,
    readonly rows: number,
    /** Gives `row` the fresh state of `id` (weights and optimizer state). */
    private readonly onAllocate: (row: number, id: number) => void,
    state?: DynamicIdsState,
    /** Told about each row a sweep frees (expired rows nobody asked for again). */
    private readonly onFree: (row: number) => void = () => {},
  ) {
    this.state = state ?? {
      rowIds: new Int32Array(rows),
      live: new Uint8Array(rows),
      lastSeen: new Float64Array(rows),
      filterCounts: new Uint8Array(config.admitAfter > 1 ? config.filterWidth * config.filterDepth : 0),
    };
    this.sketch = config.admitAfter > 1 ? new CountMinSketch(config.filterWidth, config.filterDepth, this.state.filterCounts) : null;
    this.map = new IdHashMap(rows - 1);
    this.free = new Int32Array(rows);
    const { rowIds, live } = this.state;
    live[DEFAULT_ROW] = 0;
    for (let row = 1; row < rows; row++) if (live[row]) this.map.set(rowIds[row]!, row);
    // Highest first, so rows fill from 1 upwards.
    for (let row = rows - 1; row >= 1; row--) if (!live[row]) this.free[this.freeCount++] = row;
  }

  get bytes(): number {
    const { rowIds, live, lastSeen, filterCounts } = this.state;
    return this.map.bytes + this.free.byteLength + rowIds.byteLength + live.byteLength + lastSeen.byteLength + filterCounts.byteLength;
  }

  stats(): DynamicIdsStats {
    return { liveRows: this.map.size, ...this.counters };
  }

  /** The row of `id` without touching anything: DEFAULT_ROW if it has none. */
  rowOf(id: number): number {
    const row = this.map.get(id);
    return row < 0 ? DEFAULT_ROW : row;
  }

  /** Rows of `ids` into `out`, allocating, admitting and expiring as of time `now`. */
  mapBatch(ids: Int32Array, out: Int32Array, now: number): void {
    const { lastSeen } = this.state;
    const expireAfter = this.config.expireAfter ?? Infinity;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      let row = this.map.get(id);
      if (row >= 0) {
        // Checked on every hit, not only at sweeps, so whether a row was
        // reset never depends on when a sweep happened to run.
        if (now - lastSeen[row]! > expireAfter) {
          this.counters.expired++;
          this.onAllocate(row, id);
        }
      } else {
        row = this.admit(id, now);
      }
      lastSeen[row] = now;
      out[i] = row;
    }
  }

  private admit(id: number, now: number): number {
    if (this.sketch && this.sketch.add(id) < this.config.admitAfter) {
      this.counters.filtered++;
      return DEFAULT_ROW;
    }
    if (this.freeCount === 0 && this.config.expireAfter !== null && this.lastSweep !== now) this.sweep(now);
    if (this.freeCount === 0) {
      this.counters.overflowed++;
      return DEFAULT_ROW;
    }
    const row = this.free[--this.freeCount]!;
    this.map.set(id, row);
    this.state.rowIds[row] = id;
    this.state.live[row] = 1;
    this.onAllocate(row, id);
    return row;
  }

  /** Frees every row unseen for longer than expireAfter; at most once per clock value. */
  private sweep(now: number): void {
    this.lastSweep = now;
    const { rowIds, live, lastSeen } = this.state;
    const expireAfter = this.config.expireAfter ?? Infinity;
    for (let row = 1; row < this.rows; row++) {
      if (live[row] && now - lastSeen[row]! > expireAfter) {
        this.map.delete(rowIds[row]!);
        live[row] = 0;
        this.free[this.freeCount++] = row;
        this.counters.expired++;
        this.onFree(row);
      }
    }
  }
}
