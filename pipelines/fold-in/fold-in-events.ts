import type { Event } from '../../features/events/event-schema.js';
import { isPositive, type EventPositives } from '../../features/interactions/event-positives.js';

/** What one batch of events changes for fold-in. */
export interface FoldInChanges {
  /** Items the model has no row for → the users who had a positive interaction with them. */
  interactions: Map<string, Set<string>>;
  /** Items whose catalog attribute turned false (taken out of retrieval), and true again. */
  removed: Set<string>;
  restored: Set<string>;
}

export interface FoldInEventRules {
  positives: EventPositives;
  /** An `item_update` setting this attribute to false removes the item from retrieval; true restores it. */
  catalogAttribute: string;
}

/**
 * The batch's fold-in changes, in order (a removal after a restoration of
 * the same item wins, and the reverse). Positives on items the model knows
 * are left out: it was trained on them. Users are kept as ids, known to the
 * model or not: a later version may know them.
 */
export function foldInChanges(events: Iterable<Event>, knowsItem: (id: string) => boolean, rules: FoldInEventRules): FoldInChanges {
  const changes: FoldInChanges = { interactions: new Map(), removed: new Set(), restored: new Set() };
  for (const e of events) {
    if (e.type === 'user_update') continue;
    if (e.type === 'item_update') {
      const flag = e.attributes[rules.catalogAttribute];
      if (flag === false) { changes.removed.add(e.item_id); changes.restored.delete(e.item_id); }
      if (flag === true) { changes.restored.add(e.item_id); changes.removed.delete(e.item_id); }
      continue;
    }
    if (knowsItem(e.item_id) || !isPositive(e, rules.positives)) continue;
    let users = changes.interactions.get(e.item_id);
    if (!users) changes.interactions.set(e.item_id, (users = new Set()));
    users.add(e.user_id);
  }
  return changes;
}
