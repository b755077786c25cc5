import type { InteractionEvent } from '../../features/events/event-schema.js';
import type { Rng } from '../../features/math/rng.js';
import { clickProbability, rememberClick, type SyntheticWorld } from '../../features/datasets/synthetic-world.js';

/**
 * A simulated user's answer to one recommendation: each shown item is clicked
 * independently with the generator's true probability (no position effect:
 * the synthetic click model has none), computed from the user's recent clicks
 * as they were when the list was served; clicks then join the recent history.
 * Every click becomes a `click` event carrying the decision's `request_id`.
 */
export interface ShownItem {
  item_id: string;
  position: number;
}

export interface ClickDraw extends ShownItem {
  /** The world item the served id maps to. */
  index: number;
  probability: number;
  clicked: boolean;
}

/**
 * Served item id → world item: `<prefix><n>` is item n mod the catalog size
 * (the synthetic stream's ids are i0, i1, … and match one for one when the
 * catalog sizes match); any other id is hashed (FNV-1a) onto the catalog.
 */
export function worldItemIndex(itemId: string, prefix: string, items: number): number {
  const rest = itemId.startsWith(prefix) ? itemId.slice(prefix.length) : '';
  if (/^\d+$/.test(rest)) return Number(rest) % items;
  let h = 0x811c9dc5;
  for (let k = 0; k < itemId.length; k++) h = Math.imul(h ^ itemId.charCodeAt(k), 0x01000193) >>> 0;
  return h % items;
}

export function drawClicks(world: SyntheticWorld, user: number, recent: number[], shown: readonly ShownItem[], itemIdPrefix: string, rng: Rng, progress = 1): ClickDraw[] {
  const snapshot = [...recent];
  const draws = [...shown].sort((a, b) => a.position - b.position).map((s): ClickDraw => {
    const index = worldItemIndex(s.item_id, itemIdPrefix, world.items);
    const probability = clickProbability(world, user, index, snapshot, progress);
    return { item_id: s.item_id, position: s.position, index, probability, clicked: rng.next() < probability };
  });
  for (const d of draws) if (d.clicked) rememberClick(world, recent, d.index);
  return draws;
}

export interface ClickEventInput {
  runId: string;
  /** The simulated request's sequence number in the run. */
  request: number;
  requestId: string;
  userId: string;
  itemId: string;
  position: number;
  ts: number;
}

/** The outcome event of one click, in the event schema (id `simu-<run>-<request>-<position>`). */
export function clickEvent(c: ClickEventInput): InteractionEvent {
  return {
    schema_version: 1,
    type: 'click',
    event_id: `simu-${c.runId}-${c.request}-${c.position}`,
    ts: c.ts,
    user_id: c.userId,
    item_id: c.itemId,
    label: 1,
    request_id: c.requestId,
    context: { position: c.position },
  };
}
