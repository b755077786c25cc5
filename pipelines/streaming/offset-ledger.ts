/** Per partition: the offsets consumed into training state, as a list of [from, to) ranges (normally one). */
export interface LedgerSnapshot {
  partitions: Record<string, [number, number][]>;
  /** Messages seen again below the next offset (redelivered after a restart or rebalance) and skipped. */
  replaysSkipped: number;
  /** Offsets the stream jumped over (a hole between ranges), whatever the cause. */
  gaps: number;
  /** Offsets consumed twice into the state (must stay 0). */
  doubles: number;
  /** Of `gaps`: offsets the broker no longer had (retention, delete-records) when the trainer came to them. Absent in older checkpoints. */
  deleted?: number;
  /** Of `gaps`: offsets the log never gave (compacted away, transaction markers, aborted records). Absent in older checkpoints. */
  absent?: number;
}

export type LedgerVerdict = 'next' | 'replay' | 'gap';

/** Why offsets were skipped: removed from the log before they were read, or not in the log at all. */
export type SkipReason = 'deleted' | 'absent';

/**
 * The consumed-offset accounting of a trainer: which offsets of each
 * partition are in its state. It lives in the checkpoint with the state it
 * describes, so after a restart the trainer knows exactly where to resume:
 * a redelivered offset (below `next`) is skipped, a jump is a gap.
 */
export class OffsetLedger {
  private readonly ranges = new Map<number, [number, number][]>();
  replaysSkipped = 0;
  gaps = 0;
  doubles = 0;
  deleted = 0;
  absent = 0;

  constructor(snapshot?: LedgerSnapshot) {
    if (!snapshot) return;
    for (const [p, ranges] of Object.entries(snapshot.partitions)) this.ranges.set(Number(p), ranges.map(([a, b]) => [a, b]));
    this.replaysSkipped = snapshot.replaysSkipped;
    this.gaps = snapshot.gaps;
    this.doubles = snapshot.doubles;
    this.deleted = snapshot.deleted ?? 0;
    this.absent = snapshot.absent ?? 0;
  }

  /** The offset to consume next on a partition; undefined if nothing was consumed there. */
  next(partition: number): number | undefined {
    return this.ranges.get(partition)?.at(-1)?.[1];
  }

  /** Every partition's next offset. */
  positions(): Map<number, number> {
    return new Map([...this.ranges].map(([p, r]) => [p, r.at(-1)![1]]));
  }

  /** Sets where a partition starts (e.g. a published version's offsets) when nothing was consumed there yet. */
  start(partition: number, offset: number): void {
    if (!this.ranges.has(partition)) this.ranges.set(partition, [[offset, offset]]);
  }

  /** How `offset` relates to what was consumed: the next one, an already consumed one, or past a hole. */
  classify(partition: number, offset: number): LedgerVerdict {
    const next = this.next(partition);
    if (next === undefined || offset === next) return 'next';
    return offset < next ? 'replay' : 'gap';
  }

  /** Records `offset` as consumed; a jump opens a new range (counted in `gaps`), a repeat is counted in `doubles`. */
  record(partition: number, offset: number): void {
    let ranges = this.ranges.get(partition);
    if (!ranges) this.ranges.set(partition, (ranges = []));
    const last = ranges.at(-1);
    if (last && offset === last[1]) {
      last[1]++;
      return;
    }
    if (ranges.some(([a, b]) => offset >= a && offset < b)) {
      this.doubles++;
      return;
    }
    if (last && offset > last[1]) this.gaps += offset - last[1];
    // An empty range only marks where a partition starts: replaced by the first real one.
    if (last && last[0] === last[1]) ranges.pop();
    ranges.push([offset, offset + 1]);
  }

  /**
   * Moves a partition's next offset forward to `to` over offsets that will
   * never come (see SkipReason); they count in `gaps` and in their reason's
   * counter. Returns how many were skipped (0 if `to` is not ahead).
   */
  skip(partition: number, to: number, reason: SkipReason): number {
    const next = this.next(partition);
    if (next === undefined || to <= next) return 0;
    const ranges = this.ranges.get(partition)!;
    const last = ranges.at(-1)!;
    // An empty range only marks where a partition starts: moved rather than kept.
    if (last[0] === last[1]) ranges.pop();
    ranges.push([to, to]);
    const skipped = to - next;
    this.gaps += skipped;
    this[reason] += skipped;
    return skipped;
  }

  /** Messages consumed on a partition (sum of its ranges). */
  consumed(partition: number): number {
    return (this.ranges.get(partition) ?? []).reduce((n, [a, b]) => n + b - a, 0);
  }

  snapshot(): LedgerSnapshot {
    return {
      partitions: Object.fromEntries([...this.ranges].sort((a, b) => a[0] - b[0]).map(([p, r]) => [String(p), r.map(([a, b]) => [a, b] as [number, number])])),
      replaysSkipped: this.replaysSkipped,
      gaps: this.gaps,
      doubles: this.doubles,
      deleted: this.deleted,
      absent: this.absent,
    };
  }
}
