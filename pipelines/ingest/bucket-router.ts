import { emptyOps, type EntityKind, type OnlineOps, type OpsTarget } from '../online-store/online-ops.js';
import type { RecentIds } from './recent-ids.js';

/**
 * Routes the records of one chunk of a partition to the online store's
 * buckets: each entity's share of a record goes to the ops of the entity's
 * bucket, unless that bucket holds the record already — its watermark is at
 * or past the record's offset, or the record's id is in the bucket's dedupe
 * window (a record produced twice) or earlier in this chunk. Buckets decide
 * alone because a writer that died mid-apply leaves some buckets with a
 * chunk and others without it.
 */
export class BucketRouter {
  /** Per bucket, the chunk's ops. */
  readonly ops: OnlineOps[];
  /** Per bucket, the ids of the records the chunk applies there (with a dedupe window). */
  readonly ids: string[][];
  /** True when the current record was found applied already in a bucket it touches (by id). */
  duplicate = false;
  private readonly fresh: Set<string>[] | undefined;
  private offset = -1;
  private id: string | undefined;
  /** The buckets the current record touched so far, and whether each takes it. */
  private readonly touched: number[] = [];
  private readonly takes: boolean[] = [];

  /**
   * @param watermarks per bucket, the partition's watermark when the chunk was built
   * @param recent per bucket, the ids within the partition's dedupe window (undefined: no window)
   */
  constructor(private readonly bucketOf: (id: string) => number, private readonly watermarks: readonly number[], private readonly recent: readonly RecentIds[] | undefined) {
    this.ops = watermarks.map(() => emptyOps());
    this.ids = watermarks.map(() => []);
    this.fresh = recent?.map(() => new Set<string>());
  }

  /** Starts the next record: its offset and, with a dedupe window, its id. */
  next(offset: number, id: string | undefined): void {
    this.offset = offset;
    this.id = this.recent ? id : undefined;
    this.duplicate = false;
    this.touched.length = 0;
    this.takes.length = 0;
  }

  readonly target: OpsTarget = (_kind: EntityKind, entityId: string) => {
    const b = this.bucketOf(entityId);
    const seen = this.touched.indexOf(b);
    if (seen !== -1) return this.takes[seen] ? this.ops[b] : undefined;
    let take = this.offset > this.watermarks[b]!;
    const id = this.id;
    if (take && id !== undefined) {
      if (this.recent![b]!.has(id) || this.fresh![b]!.has(id)) {
        take = false;
        this.duplicate = true;
      } else {
        this.fresh![b]!.add(id);
        this.ids[b]!.push(id);
      }
    }
    this.touched.push(b);
    this.takes.push(take);
    return take ? this.ops[b] : undefined;
  };
}
