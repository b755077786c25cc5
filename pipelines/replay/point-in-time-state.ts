import type { AttributeMap, Event } from '../../features/events/event-schema.js';
import type { BehaviourEntry } from '../../features/samples/example.js';
import { labelOf } from '../../features/samples/point-in-time-builder.js';
import type { FeatureSpec } from '../../features/spec/feature-spec.js';
import { sequenceMember } from '../online-store/online-ops.js';

/**
 * What serving knew about users and items at a past instant, rebuilt from the
 * offline store's events: each user's behaviour sequence (the spec's
 * behaviour rule: types, positive only, most recent maxLength) and the latest
 * attributes of users and items. Events are pushed in time order (those of
 * one millisecond in any order: they are placed as the online store places
 * them, pipelines/online-store/online-ops.ts); a decision at ts reads the
 * state after every event with an earlier ts (strictly before, as in
 * training's point-in-time examples).
 */
export class PointInTimeState {
  /** Oldest first: by ts, then by sequence member (the online store's order, reversed). */
  private readonly histories = new Map<string, (BehaviourEntry & { member: string })[]>();
  private readonly users = new Map<string, AttributeMap>();
  private readonly items = new Map<string, AttributeMap>();
  private readonly keep: number;

  constructor(private readonly spec: FeatureSpec) {
    this.keep = spec.behaviour.maxLength;
  }

  push(event: Event): void {
    switch (event.type) {
      case 'item_update':
        this.items.set(event.item_id, { ...this.items.get(event.item_id), ...event.attributes });
        return;
      case 'user_update':
        this.users.set(event.user_id, { ...this.users.get(event.user_id), ...event.attributes });
        return;
      default: {
        const { types, positiveOnly } = this.spec.behaviour;
        if (!types.includes(event.type) || (positiveOnly && labelOf(this.spec, event) !== 1)) return;
        let history = this.histories.get(event.user_id);
        if (!history) this.histories.set(event.user_id, (history = []));
        const entry = { item_id: event.item_id, ts: event.ts, member: sequenceMember(event) };
        // Events come in time order; within one millisecond the online store
        // orders by sequence member (and keeps a member once), so this does too.
        let at = history.length;
        while (at > 0 && history[at - 1]!.ts === entry.ts && history[at - 1]!.member >= entry.member) {
          if (history[at - 1]!.member === entry.member) return;
          at--;
        }
        history.splice(at, 0, entry);
        if (history.length > 2 * this.keep) history.splice(0, history.length - this.keep);
      }
    }
  }

  /** Most recent first, at most behaviour.maxLength. */
  history(userId: string): BehaviourEntry[] {
    return (this.histories.get(userId) ?? []).slice(-this.keep).reverse().map(({ item_id, ts }) => ({ item_id, ts }));
  }

  user(userId: string): AttributeMap {
    return this.users.get(userId) ?? {};
  }

  readonly itemAttributes = (itemId: string): AttributeMap => this.items.get(itemId) ?? {};
}

/** Pushes events from an ordered async source into states until the next one is at or after `ts`. */
export class EventCursor {
  private pending: Event | undefined;
  private done = false;

  constructor(private readonly source: AsyncIterator<Event>, private readonly states: readonly PointInTimeState[]) {}

  async advanceTo(ts: number): Promise<void> {
    while (!this.done) {
      if (!this.pending) {
        const next = await this.source.next();
        if (next.done) {
          this.done = true;
          return;
        }
        this.pending = next.value;
      }
      if (this.pending.ts >= ts) return;
      for (const state of this.states) state.push(this.pending);
      this.pending = undefined;
    }
  }
}
