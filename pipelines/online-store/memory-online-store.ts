import type { AttributeMap, Event } from '../../features/events/event-schema.js';
import { compareNewestFirst, entityRef, opsOf, sequenceMember, type OnlineOps, type OnlineStoreSpec } from './online-ops.js';
import { emptyCounters, type Counters, type ItemState, type OnlineStoreReader, type UserState } from './online-store.js';

/**
 * The online store in process memory, with the Redis store's semantics: for
 * running without services (serving on a laptop) and as the reference the
 * Redis store is compared with in tests.
 */
export class MemoryOnlineStore implements OnlineStoreReader {
  private readonly counters = new Map<string, Counters>();
  private readonly attributes = new Map<string, { ts: number; values: AttributeMap }>();
  private readonly histories = new Map<string, { ts: number; member: string; item_id: string }[]>();

  constructor(private readonly spec: OnlineStoreSpec) {}

  applyEvents(events: Iterable<Event>): void {
    this.apply(opsOf(this.spec, events));
  }

  apply(ops: OnlineOps): void {
    for (const [ref, fields] of ops.counters) {
      const c = this.countersOf(ref);
      for (const [field, delta] of fields) c.counts[field] = (c.counts[field] ?? 0) + delta;
    }
    for (const [ref, ts] of ops.lastTs) {
      const c = this.countersOf(ref);
      if (c.lastTs === undefined || c.lastTs < ts) c.lastTs = ts;
    }
    for (const [userId, entries] of ops.sequences) {
      let history = this.histories.get(userId);
      if (!history) this.histories.set(userId, (history = []));
      for (const e of entries) {
        const member = sequenceMember(e);
        if (!history.some((h) => h.member === member)) history.push({ ts: e.ts, member, item_id: e.item_id });
      }
      history.sort(compareNewestFirst);
      history.length = Math.min(history.length, this.spec.behaviour.maxLength);
    }
    for (const u of ops.attributes) {
      const ref = entityRef(u.kind, u.id);
      const current = this.attributes.get(ref);
      if (current && current.ts > u.ts) continue;
      this.attributes.set(ref, { ts: u.ts, values: { ...current?.values, ...u.attributes } });
    }
  }

  async user(userId: string, limit = this.spec.behaviour.maxLength): Promise<UserState> {
    const history = (this.histories.get(userId) ?? []).slice(0, limit).map((h) => ({ item_id: h.item_id, ts: h.ts }));
    return { history, attributes: { ...this.attributes.get(entityRef('user', userId))?.values }, counters: this.copyCounters(entityRef('user', userId)) };
  }

  async items(itemIds: readonly string[]): Promise<Map<string, ItemState>> {
    return new Map(itemIds.map((id) => [id, { attributes: { ...this.attributes.get(entityRef('item', id))?.values }, counters: this.copyCounters(entityRef('item', id)) }]));
  }

  private countersOf(ref: string): Counters {
    let c = this.counters.get(ref);
    if (!c) this.counters.set(ref, (c = emptyCounters()));
    return c;
  }

  private copyCounters(ref: string): Counters {
    const c = this.counters.get(ref);
    return c ? { counts: { ...c.counts }, lastTs: c.lastTs } : emptyCounters();
  }
}
