import { compareIds, type Interaction } from './interaction.js';

/** Interactions as parallel index arrays (user index, item index), compact enough for graph building. */
export interface CfInteractions {
  users: Int32Array;
  items: Int32Array;
}

export interface CfSplit {
  /** Index → external id, in compareIds order. */
  userIds: string[];
  itemIds: string[];
  /** What the model is fitted on: the train part without its validation tail. */
  train: CfInteractions;
  /** The last ceil(validationFraction) of each eligible user's train part: early stopping only. */
  validation: CfInteractions;
  /** Held out: the last ceil(testFraction) of each eligible user's positives. */
  test: CfInteractions;
  /** Latest event time in train ∪ validation (epoch ms); 0 when there is none. */
  trainedUntil: number;
}

export interface CfSplitOptions {
  /** Users with fewer positives keep them all in train. @default 5 */
  minPositivesForTest?: number;
  /** 0 holds out no test part (a production run trains on everything). @default 0.2 */
  testFraction?: number;
  /** 0 holds out no validation tail. @default 0.1 */
  validationFraction?: number;
  /** Every known user/item gets an index even without positives (so serving knows them). */
  userIds?: Iterable<string>;
  itemIds?: Iterable<string>;
}

/**
 * The time-based per-user split of collaborative filtering: per user in
 * (ts, item id) order the last ceil(20%) of the positives are test, the
 * rest train; users with < 5 positives keep everything in train (a 1-item
 * test set says nothing and would take away their only signal). Validation is
 * the last ceil(10%) of each eligible user's train part: for the small users
 * ceil(10%) would be 25–100% of their history. The same (user, item) pair
 * twice counts once (its first occurrence).
 */
export function cfSplit(positives: readonly Interaction[], options: CfSplitOptions = {}): CfSplit {
  const { minPositivesForTest = 5, testFraction = 0.2, validationFraction = 0.1 } = options;
  const userIds = sortedUnique(options.userIds, positives, (p) => p.user);
  const itemIds = sortedUnique(options.itemIds, positives, (p) => p.item);
  const userIndex = new Map(userIds.map((id, i) => [id, i]));
  const itemIndex = new Map(itemIds.map((id, i) => [id, i]));

  const byUser = new Map<string, Interaction[]>();
  for (const p of positives) {
    let list = byUser.get(p.user);
    if (!list) byUser.set(p.user, (list = []));
    list.push(p);
  }
  const parts = { train: new Builder(), validation: new Builder(), test: new Builder() };
  let trainedUntil = 0;
  for (const user of [...byUser.keys()].sort(compareIds)) {
    const seen = new Set<string>();
    const ordered = byUser.get(user)!
      .sort((a, b) => a.ts - b.ts || compareIds(a.item, b.item))
      .filter((p) => !seen.has(p.item) && seen.add(p.item));
    const n = ordered.length;
    const eligible = n >= minPositivesForTest;
    const nTest = eligible ? Math.ceil(testFraction * n - 1e-9) : 0;
    const nTrainPart = n - nTest;
    const nValidation = eligible ? Math.ceil(validationFraction * nTrainPart - 1e-9) : 0;
    const u = userIndex.get(user)!;
    ordered.forEach((p, k) => {
      const part = k < nTrainPart - nValidation ? parts.train : k < nTrainPart ? parts.validation : parts.test;
      part.push(u, itemIndex.get(p.item)!);
      if (k < nTrainPart) trainedUntil = Math.max(trainedUntil, p.ts);
    });
  }
  return { userIds, itemIds, train: parts.train.build(), validation: parts.validation.build(), test: parts.test.build(), trainedUntil };
}

function sortedUnique(known: Iterable<string> | undefined, positives: readonly Interaction[], id: (p: Interaction) => string): string[] {
  const ids = new Set(known ?? []);
  for (const p of positives) ids.add(id(p));
  return [...ids].sort(compareIds);
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
