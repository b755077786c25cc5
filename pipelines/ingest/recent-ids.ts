/**
 * The record ids a partition applied to the online store within its dedupe
 * window (the last `window` offsets), kept by the ingesting process beside
 * the copy in Redis, which it reloads from whenever it re-reads the
 * partition's watermark. Ids leave chunk by chunk, as in Redis.
 */
export class RecentIds {
  /** id → the last offset of the chunk that applied it. */
  private readonly ids = new Map<string, number>();
  private readonly chunks: { last: number; ids: readonly string[] }[] = [];

  constructor(readonly window: number) {}

  /** From the window as Redis holds it: chunk's last offset → its ids. */
  static from(window: number, chunks: ReadonlyMap<number, readonly string[]>): RecentIds {
    const recent = new RecentIds(window);
    for (const [last, ids] of [...chunks].sort(([a], [b]) => a - b)) recent.add(last, ids);
    return recent;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }

  /** A chunk ending at offset `last` applied `ids`; chunks that ended `window` or more offsets before it leave. */
  add(last: number, ids: readonly string[]): void {
    if (ids.length > 0) {
      this.chunks.push({ last, ids });
      for (const id of ids) this.ids.set(id, last);
    }
    while (this.chunks.length > 0 && this.chunks[0]!.last <= last - this.window) {
      const old = this.chunks.shift()!;
      for (const id of old.ids) if (this.ids.get(id) === old.last) this.ids.delete(id);
    }
  }
}
