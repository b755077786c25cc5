import { knownItemShare } from '../models/ctr/known-items.js';
import { ValidationError } from '../infra/errors.js';
import type { ModelBundle } from './model-bundle.js';

/** Below this share of the retrieval model's items known to the ranker, the pair is refused (or warned about). */
export const MIN_ITEM_OVERLAP = 0.1;
/** Items sampled (evenly over the retrieval model's rows) for the check. */
const SAMPLE = 2000;

export interface ItemOverlap {
  /** Share of sampled retrieval items the ranker knows; undefined when the ranker cannot tell. */
  share: number | undefined;
  sampled: number;
}

/**
 * Whether the ranker has seen the items the retrieval model retrieves, in the
 * ids serving uses (prefixes applied). A MovieLens graph model in front of a
 * synthetic ranker would otherwise serve meaningless items without a word.
 */
export function itemOverlap(bundle: ModelBundle): ItemOverlap | undefined {
  const retrieval = bundle.retrieval;
  if (!retrieval) return undefined;
  const ids = retrieval.itemIds;
  const sampled = Math.min(SAMPLE, ids.length);
  const sample = Array.from({ length: sampled }, (_, i) => ids[Math.floor((i * ids.length) / sampled)]!);
  return { share: knownItemShare(bundle.ranker.model, sample), sampled };
}

export class ItemMismatchError extends ValidationError {}

/** Throws ItemMismatchError when the overlap is below MIN_ITEM_OVERLAP, unless allowed (then returns the message to warn with). */
export function checkItemOverlap(bundle: ModelBundle, allowMismatch: boolean): string | undefined {
  const overlap = itemOverlap(bundle);
  if (!overlap || overlap.share === undefined || overlap.share >= MIN_ITEM_OVERLAP) return undefined;
  const { ranker, retrieval } = bundle;
  const message = `only ${(100 * overlap.share).toFixed(1)}% of ${overlap.sampled} sampled items of retrieval model ${retrieval!.served.model} v${retrieval!.served.version} are known to ranker ${ranker.served.model} v${ranker.served.version} (e.g. ${JSON.stringify(retrieval!.itemIds[0])}): they were trained on different catalogs or id spaces (check --item-id-prefix)`;
  if (!allowMismatch) throw new ItemMismatchError(`${message}; refusing to serve them together (--allow-item-mismatch serves them anyway)`);
  return message;
}
