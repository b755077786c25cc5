import { cfSplit, type CfSplit, type CfSplitOptions } from '../interactions/cf-split.js';
import type { MovieLens, MovieLensRating } from './movielens.js';

export type { CfInteractions, CfSplit } from '../interactions/cf-split.js';

export interface MovieLensCfOptions extends Omit<CfSplitOptions, 'userIds' | 'itemIds'> {
  /** Positives are ratings ≥ this. @default 4 */
  minRating?: number;
  userIds?: Iterable<number>;
  itemIds?: Iterable<number>;
}

/** The CF protocol on explicit ratings: positives are ratings ≥ 4, split by time per user (cfSplit). */
export function movieLensCfSplit(ratings: readonly MovieLensRating[], options: MovieLensCfOptions = {}): CfSplit {
  const { minRating = 4, userIds, itemIds, ...split } = options;
  const positives = ratings.filter((r) => r.rating >= minRating).map((r) => ({ user: String(r.user), item: String(r.item), ts: r.ts * 1000 }));
  return cfSplit(positives, {
    ...split,
    userIds: [...(userIds ?? []), ...ratings.map((r) => r.user)].map(String),
    itemIds: [...(itemIds ?? []), ...ratings.map((r) => r.item)].map(String),
  });
}

/** The protocol on the whole dataset, with every user and item of u.user/u.item indexed. */
export function movieLensCf(ml: MovieLens, options: MovieLensCfOptions = {}): CfSplit {
  return movieLensCfSplit(ml.ratings, { userIds: ml.users.keys(), itemIds: ml.items.keys(), ...options });
}
