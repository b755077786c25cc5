import { UNKNOWN_ID } from '../../features/spec/vocabulary.js';
import type { CtrModel } from './ctr-model.js';

/**
 * The share of `itemIds` a ranker has learned something about: in its fixed
 * vocabulary, or holding a row of their own in a dynamic-id table. Undefined
 * when the model cannot tell (no categorical field read from `item_id`).
 * Serving uses it to refuse a retrieval model whose items the ranker has
 * never seen (e.g. MovieLens retrieval in front of a ranker of another catalog).
 */
export function knownItemShare(model: CtrModel, itemIds: readonly string[]): number | undefined {
  const { encoder } = model;
  const field = encoder.spec.fields.find((f) => f.kind === 'categorical' && f.source === 'item_id');
  if (!field || itemIds.length === 0) return undefined;
  const ids = Int32Array.from(itemIds, (id) => encoder.idOf(field.name, id));
  if (encoder.cardinality(field.name) !== undefined) return ids.filter((id) => id !== UNKNOWN_ID).length / ids.length;
  const plan = model.plans.find((p) => p.parts.some((part) => part.kind === 'single' && part.name === field.name));
  const known = plan ? model.layout.knows(plan.field, ids) : undefined;
  return known ? known.filter(Boolean).length / known.length : undefined;
}
