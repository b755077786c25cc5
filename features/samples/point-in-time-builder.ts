import type { AttributeMap, Event, InteractionEvent } from '../events/event-schema.js';
import type { FeatureSpec } from '../spec/feature-spec.js';
import type { BehaviourEntry, Example } from './example.js';
import { ActivityOrder } from './activity-order.js';
import { compareEvents, isBefore, type EventOrder } from './event-order.js';

export interface PointInTimeOptions {
  /** @default 'time' */
  order?: EventOrder;
  /**
   * How long (ms of event time) to hold events so that late arrivals can still
   * enter the history of events after them. 0 suits sorted sources (files,
   * ClickHouse ordered by time). @default 0
   */
  allowedLatenessMs?: number;
  /**
   * Most users whose state (behaviour history, attributes) is kept; past it
   * the least recently active user's state is dropped (a long-lived stream
   * sees ever more users: this bounds memory and checkpoints). A dropped
   * user who comes back starts with an empty history. @default unbounded
   */
  maxUsers?: number;
  /**
   * Drop a user's state once the stream's event time is this far past the
   * user's last event (ms of event time). @default never
   */
  userIdleMs?: number;
}

export interface BuilderStats {
  events: number;
  examples: number;
  /** Events that arrived after the watermark had passed them. */
  late: number;
  /** Users whose state was dropped (maxUsers or userIdleMs). Absent in older snapshots. */
  expiredUsers?: number;
}

/** The label rule of a spec, applied to one interaction. */
export function labelOf(spec: FeatureSpec, event: InteractionEvent): number | undefined {
  if (spec.label.from === 'label') return event.label;
  return event.value === undefined ? undefined : event.value >= spec.label.threshold ? 1 : 0;
}

interface HistoryItem extends BehaviourEntry {
  /** Arrival sequence, so equal keys keep a stable order. */
  seq: number;
}

/** One user's state, as checkpoints store it one user at a time (see userStates). */
export interface UserState {
  user: string;
  attributes: AttributeMap | null;
  history: HistoryItem[];
  /** Event time of the user's latest event. */
  lastTs: number;
}

/**
 * A builder's whole state as plain JSON (a streaming trainer's checkpoint):
 * histories, attributes, the events still held for lateness, the watermark.
 * ±Infinity (nothing seen yet) is written as null. With `snapshot({ users:
 * false })` the per-user part (histories, users) is left out, to be written
 * one user at a time from userStates() (a million users do not fit in one
 * JSON string).
 */
export interface BuilderSnapshot {
  stats: BuilderStats;
  histories: [string, HistoryItem[]][];
  users: [string, AttributeMap][];
  /** Users from least to most recently active, with their last event time (the expiry order); absent in older snapshots. */
  activity?: [string, number][];
  items: [string, AttributeMap][];
  pending: { event: Event; seq: number }[];
  maxTs: number | null;
  minPendingTs: number | null;
  emittedUpTo: number | null;
  seq: number;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/**
 * Turns a stream of events, in roughly increasing time, into examples whose
 * history holds only events strictly earlier than the example (by `order`).
 * The one implementation for files, ClickHouse and Kafka.
 *
 * Events are held in a reorder buffer until the watermark (largest ts seen −
 * allowedLateness) passes them, then processed in order. An event later than
 * that still gets a correct history (histories are kept sorted), but examples
 * already emitted could not see it: those are counted in `stats.late`.
 */
export class PointInTimeSampleBuilder {
  readonly stats: BuilderStats = { events: 0, examples: 0, late: 0, expiredUsers: 0 };
  private readonly order: EventOrder;
  private readonly lateness: number;
  private readonly histories = new Map<string, HistoryItem[]>();
  private readonly users = new Map<string, AttributeMap>();
  private readonly items = new Map<string, AttributeMap>();
  private pending: { event: Event; seq: number }[] = [];
  private maxTs = -Infinity;
  private minPendingTs = Infinity;
  private emittedUpTo = -Infinity;
  private seq = 0;
  private readonly keep: number;
  /** Users with state, least recently active first, with their last event time. */
  private readonly activity = new ActivityOrder();
  private readonly maxUsers: number;
  private readonly userIdleMs: number;

  constructor(private readonly spec: FeatureSpec, { order = 'time', allowedLatenessMs = 0, maxUsers = Infinity, userIdleMs = Infinity }: PointInTimeOptions = {}) {
    if (!(maxUsers >= 1)) throw new RangeError(`maxUsers must be at least 1, got ${maxUsers}`);
    if (!(userIdleMs > 0)) throw new RangeError(`userIdleMs must be positive, got ${userIdleMs}`);
    this.order = order;
    this.lateness = allowedLatenessMs;
    this.maxUsers = maxUsers;
    this.userIdleMs = userIdleMs;
    // Late events may fall behind a few newer ones; keep slack beyond maxLength.
    this.keep = spec.behaviour.maxLength * 2 + 16;
  }

  /** Everything needed to carry on later exactly as this builder would (see restore); `users: false` leaves the per-user part out. */
  snapshot({ users = true }: { users?: boolean } = {}): BuilderSnapshot {
    return {
      stats: { ...this.stats },
      // In activity order, so equal states give equal snapshots however they were built.
      histories: users ? [...this.activity].map(([u]) => u).flatMap((u): [string, HistoryItem[]][] => { const h = this.histories.get(u); return h ? [[u, h.map((x) => ({ ...x }))]] : []; }) : [],
      users: users ? [...this.activity].map(([u]) => u).flatMap((u): [string, AttributeMap][] => { const a = this.users.get(u); return a ? [[u, a]] : []; }) : [],
      ...(users ? { activity: [...this.activity] } : {}),
      items: [...this.items],
      pending: this.pending.map((p) => ({ ...p })),
      maxTs: finiteOrNull(this.maxTs),
      minPendingTs: finiteOrNull(this.minPendingTs),
      emittedUpTo: finiteOrNull(this.emittedUpTo),
      seq: this.seq,
    };
  }

  /** A builder in the state a snapshot recorded (the same spec and options as the one that took it). */
  static restore(spec: FeatureSpec, options: PointInTimeOptions, snapshot: BuilderSnapshot): PointInTimeSampleBuilder {
    const builder = new PointInTimeSampleBuilder(spec, options);
    Object.assign(builder.stats, snapshot.stats);
    for (const [user, items] of snapshot.histories) builder.histories.set(user, items.map((h) => ({ ...h })));
    for (const [id, attributes] of snapshot.users) builder.users.set(id, attributes);
    // Older snapshots have no activity order: their users count as active at the watermark, in map order.
    const activity = snapshot.activity ?? [...new Set([...builder.histories.keys(), ...builder.users.keys()])].map((u): [string, number] => [u, snapshot.maxTs ?? -Infinity]);
    for (const [user, ts] of activity) builder.activity.set(user, ts);
    for (const [id, attributes] of snapshot.items) builder.items.set(id, attributes);
    builder.pending = snapshot.pending.map((p) => ({ ...p }));
    builder.maxTs = snapshot.maxTs ?? -Infinity;
    builder.minPendingTs = snapshot.minPendingTs ?? Infinity;
    builder.emittedUpTo = snapshot.emittedUpTo ?? -Infinity;
    builder.seq = snapshot.seq;
    return builder;
  }

  /** Every user's state, least recently active first (a checkpoint writes them one by one). */
  *userStates(): Generator<UserState> {
    for (const [user, lastTs] of this.activity) {
      yield { user, attributes: this.users.get(user) ?? null, history: this.histories.get(user) ?? [], lastTs };
    }
  }

  /** Adds one user's state, as the next most recently active (restoring userStates() in order restores the builder). */
  restoreUser(state: UserState): void {
    this.activity.set(state.user, state.lastTs);
    if (state.attributes) this.users.set(state.user, state.attributes);
    if (state.history.length > 0) this.histories.set(state.user, state.history.map((h) => ({ ...h })));
  }

  /** Users whose state is kept. */
  get userCount(): number {
    return this.activity.size;
  }

  /** Events held for lateness (consumed, not yet turned into examples). */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** The events held for lateness, in arrival order (a published version carries them: see version-publisher.ts). */
  pendingEvents(): Event[] {
    return this.pending.map((p) => p.event);
  }

  /** Adds one event; returns the examples that became final. */
  push(event: Event): Example[] {
    this.stats.events++;
    const seq = this.seq++;
    if (event.ts < this.emittedUpTo) {
      this.stats.late++;
      return this.process([{ event, seq }]);
    }
    this.pending.push({ event, seq });
    if (event.ts < this.minPendingTs) this.minPendingTs = event.ts;
    if (event.ts > this.maxTs) this.maxTs = event.ts;
    const watermark = this.maxTs - this.lateness;
    // Events AT the watermark wait: a peer with the same ts may still come.
    if (this.minPendingTs >= watermark) return [];
    const ready: { event: Event; seq: number }[] = [];
    const held: { event: Event; seq: number }[] = [];
    let minHeld = Infinity;
    for (const p of this.pending) {
      if (p.event.ts < watermark) ready.push(p);
      else {
        held.push(p);
        if (p.event.ts < minHeld) minHeld = p.event.ts;
      }
    }
    this.pending = held;
    this.minPendingTs = minHeld;
    this.emittedUpTo = watermark;
    return this.process(ready);
  }

  /** Processes everything still held (end of a bounded source). */
  flush(): Example[] {
    const ready = this.pending;
    this.pending = [];
    this.minPendingTs = Infinity;
    if (ready.length > 0) this.emittedUpTo = Math.max(this.emittedUpTo, this.maxTs + 1);
    return this.process(ready);
  }

  /** Attributes of an item as currently known (serving and tests). */
  itemAttributes = (itemId: string): AttributeMap => this.items.get(itemId) ?? {};

  private process(batch: { event: Event; seq: number }[]): Example[] {
    batch.sort((a, b) => compareEvents(this.order, key(a.event), key(b.event)) || typeRank(a.event) - typeRank(b.event) || a.seq - b.seq);
    const examples: Example[] = [];
    for (const { event, seq } of batch) {
      if (event.type === 'item_update') {
        this.items.set(event.item_id, { ...this.items.get(event.item_id), ...event.attributes });
        continue;
      }
      this.touch(event.user_id, event.ts);
      if (event.type === 'user_update') {
        this.users.set(event.user_id, { ...this.users.get(event.user_id), ...event.attributes });
        continue;
      }
      const label = labelOf(this.spec, event);
      if (this.spec.exampleTypes.includes(event.type) && label !== undefined) {
        examples.push({
          event,
          label,
          user: this.users.get(event.user_id) ?? {},
          item: this.items.get(event.item_id) ?? {},
          history: this.historyBefore(event),
          itemAttributes: this.itemAttributes,
        });
      }
      if (this.isBehaviour(event, label)) this.remember(event, seq);
    }
    this.stats.examples += examples.length;
    this.expireUsers();
    return examples;
  }

  private touch(user: string, ts: number): void {
    this.activity.touch(user, ts);
  }

  /** Drops the least recently active users past maxUsers, and those idle (event time) longer than userIdleMs. */
  private expireUsers(): void {
    const idleBefore = this.maxTs - this.userIdleMs;
    while (this.activity.size > this.maxUsers || this.activity.oldestTs < idleBefore) {
      const user = this.activity.oldestUser!;
      this.activity.delete(user);
      this.histories.delete(user);
      this.users.delete(user);
      this.stats.expiredUsers = (this.stats.expiredUsers ?? 0) + 1;
    }
  }

  private isBehaviour(event: InteractionEvent, label: number | undefined): boolean {
    const { types, positiveOnly } = this.spec.behaviour;
    return types.includes(event.type) && (!positiveOnly || label === 1);
  }

  /** Most recent first, strictly before `event`, at most behaviour.maxLength. */
  private historyBefore(event: InteractionEvent): BehaviourEntry[] {
    const history = this.histories.get(event.user_id);
    if (!history) return [];
    let end = history.length;
    while (end > 0 && !isBefore(this.order, history[end - 1]!.ts, history[end - 1]!.item_id, event.ts, event.item_id)) end--;
    const out: BehaviourEntry[] = [];
    for (let i = end - 1; i >= 0 && out.length < this.spec.behaviour.maxLength; i--) {
      out.push({ item_id: history[i]!.item_id, ts: history[i]!.ts });
    }
    return out;
  }

  private remember(event: InteractionEvent, seq: number): void {
    let history = this.histories.get(event.user_id);
    if (!history) this.histories.set(event.user_id, (history = []));
    const entry = { item_id: event.item_id, ts: event.ts, seq };
    let at = history.length;
    while (at > 0 && compareEvents(this.order, key2(history[at - 1]!), key2(entry)) > 0) at--;
    history.splice(at, 0, entry);
    if (history.length > this.keep) history.splice(0, history.length - this.keep);
  }
}

const key = (event: Event) => ({ ts: event.ts, item: 'item_id' in event ? event.item_id : '' });
const key2 = (entry: BehaviourEntry) => ({ ts: entry.ts, item: entry.item_id });
/** At one instant, attribute updates apply before the interactions that may use them. */
const typeRank = (event: Event) => (event.type === 'item_update' || event.type === 'user_update' ? 0 : 1);
