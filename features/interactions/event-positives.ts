import { z } from 'zod';
import type { Event, InteractionEvent } from '../events/event-schema.js';
import type { Interaction } from './interaction.js';

/**
 * Which interaction events count as positives for collaborative filtering.
 * Defaults: a click (unless labelled 0), a rating of 4 or more, and an
 * impression labelled 1 (a shown item that was clicked); unlabelled
 * impressions are exposures, not preferences.
 */
export const EventPositivesSchema = z.object({
  clicks: z.boolean().default(true),
  /** Ratings with value ≥ this; null: ratings never count. */
  minRating: z.number().finite().nullable().default(4),
  labelledImpressions: z.boolean().default(true),
}).strict();

export type EventPositives = z.infer<typeof EventPositivesSchema>;

export function isPositive(event: InteractionEvent, rule: EventPositives): boolean {
  switch (event.type) {
    case 'click': return rule.clicks && event.label !== 0;
    case 'rating': return rule.minRating !== null && event.value !== undefined && event.value >= rule.minRating;
    case 'impression': return rule.labelledImpressions && event.label === 1;
  }
}

/** The positives among events (attribute updates are skipped), with every user and item the events name. */
export function positivesFromEvents(events: Iterable<Event>, rule: EventPositives): { positives: Interaction[]; userIds: Set<string>; itemIds: Set<string> } {
  const positives: Interaction[] = [];
  const userIds = new Set<string>();
  const itemIds = new Set<string>();
  for (const e of events) {
    if (e.type === 'item_update' || e.type === 'user_update') continue;
    userIds.add(e.user_id);
    itemIds.add(e.item_id);
    if (isPositive(e, rule)) positives.push({ user: e.user_id, item: e.item_id, ts: e.ts });
  }
  return { positives, userIds, itemIds };
}
