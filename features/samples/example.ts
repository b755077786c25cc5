import type { AttributeMap, InteractionEvent } from '../events/event-schema.js';

/** One earlier behaviour event of the user, as the model sees it. */
export interface BehaviourEntry {
  item_id: string;
  ts: number;
}

/**
 * A training (or serving) example: the event, the label, the entities'
 * attributes as of the event, and the user's behaviour strictly before it,
 * most recent first. Serving builds the same shape from a request.
 */
export interface Example {
  event: InteractionEvent;
  label: number;
  user: AttributeMap;
  item: AttributeMap;
  history: BehaviourEntry[];
  /** Attributes of the items in `history` (and the candidate), as of the event. */
  itemAttributes: (itemId: string) => AttributeMap;
}
