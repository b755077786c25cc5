import type { MovieLens, MovieLensRating } from './movielens.js';

/** Interactions as parallel index arrays (user index, item index), compact enough for graph building. */
export interface CfInteractions {
  users: Int32Array;
  items: Int32Array;
}

export interface CfSplit {
  /** Index → external id (MovieLens ids), ascending. */
  userIds: number[];
  itemIds: number[];
  /** What the model is fitted on: the train part without its validation tail. */
  train: CfInteractions;
  /** The last ceil(10%) of each user's train part: early stopping only. */
  validation: CfInteractions;
  /** Held out: the last ceil(20%) of each user's positives. */
  test: CfInteractions;
  /** Latest event time in train ∪ validation (epoch ms). */
  trainedUntil: number;
}

export interface CfSplitOptions {
  /** Positives are ratings ≥ this. @default 4 */
  minRating?: number;
  /** Users with fewer positives keep them all in train. @default 5 */
  minPositivesForTest?: number;
  /** @default 0.2 */
  testFraction?: number;
  /** @default 0.1 */
  validationFraction?: number;
  /** Every known user/item gets an index even without positives (so serving knows them). */
  userIds?: Iterable<number>;
  itemIds?: Iterable<number>;
}

/**
 * The collaborative-filtering protocol on explicit ratings: positives are
 * ratings ≥ 4; per user in (ts, item_id) order the last ceil(20%) are test,
 * the rest train; users with < 5 positives keep everything in train (a 1-item
 * test set says nothing and would take away their only signal). Validation is
 * the last ceil(10%) of each user's train part, taken only from users that
 * have a test part: for the small users ceil(10%) would be 25–100% of their
 * history. Same (user, item) pair twice counts once (its first occurrence).
 */
export function movieLensCfSplit(ratings: readonly MovieLensRating[], options: CfSplitOptions = {}): CfSplit {
  const { minRating = 4, minPositivesForTest = 5, testFraction = 0.2, validationFraction = 0.1 } = options;
  const userIds = sortedUnique([...(options.userIds ?? []), ...ratings.map((r) => r.user)]);
  const itemIds = sortedUnique([...(options.itemIds ?? []), ...ratings.map((r) => r.item)]);
  const userIndex = new Map(userIds.map((id, i) => [id, i]));
  const itemIndex = new Map(itemIds.map((id, i) => [id, i]));

  const byUser = new Map<number, MovieLensRating[]>();
  for (const r of ratings) {
    if (r.rating < minRating) continue;
    let list = byUser.get(r.user);
    if (!list) byUser.set(r.user, (list = []));
    list.push(r);
  }
  const parts = { train: new Builder(), validation: new Builder(), test: new Builder() };
  let trainedUntil = 0;
  for (const user of [...byUser.keys()].sort((a, b) => a - b)) {
    const seen = new Set<number>();
    const positives = byUser.get(user)!
      .sort((a, b) => a.ts - b.ts || a.item - b.item)
      .filter((r) => !seen.has(r.item) && seen.add(r.item));
    const n = positives.length;
    const nTest = n >= minPositivesForTest ? Math.ceil(testFraction * n - 1e-9) : 0;
    const nTrainPart = n - nTest;
    const nValidation = nTest > 0 ? Math.ceil(validationFraction * nTrainPart - 1e-9) : 0;
    const u = userIndex.get(user)!;
    positives.forEach((r, k) => {
      const part = k < nTrainPart - nValidation ? parts.train : k < nTrainPart ? parts.validation : parts.test;
      part.push(u, itemIndex.get(r.item)!);
      if (k < nTrainPart) trainedUntil = Math.max(trainedUntil, r.ts * 1000);
    });
  }
  return { userIds, itemIds, train: parts.train.build(), validation: parts.validation.build(), test: parts.test.build(), trainedUntil };
}

/** The protocol on the whole dataset, with every user and item of u.user/u.item indexed. */
export function movieLensCf(ml: MovieLens, options: CfSplitOptions = {}): CfSplit {
  return movieLensCfSplit(ml.ratings, { userIds: ml.users.keys(), itemIds: ml.items.keys(), ...options });
}

function sortedUnique(ids: number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

class Builder {
  private readonly users: number[] = [];
  private readonly items: number[] = [];
  push(user: number, item: number): void {
    this.users.push(user);
    this.items.push(item);
  }
  build(): CfInteractions {
    return { users: Int32Array.from(this.users), items: Int32Array.from(this.items) };
  }
}
