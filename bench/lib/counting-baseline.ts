/**
 * A counting baseline for a click stream, scoring each impression before
 * counting it: the item's click rate times the user's click rate in the
 * item's category relative to the global one (in log-odds), both smoothed
 * towards their parent rate, the user's counts decayed by `decay` at each of
 * that user's impressions so that it follows a drift. It knows only what the
 * stream says: ids, the item's category and the labels.
 */
export interface CountingOptions {
  /** Pseudo-impressions of the parent rate added to each count. @default 20 (items), 5 (user × category), 10 (user) */
  itemPrior?: number;
  userCategoryPrior?: number;
  userPrior?: number;
  /** Factor applied to a user's counts at each of that user's impressions. @default 0.97 */
  decay?: number;
}

interface Counts { clicks: number; views: number }

const logit = (p: number): number => Math.log(p / (1 - p));
const rate = (c: Counts | undefined, parent: number, prior: number): number => ((c?.clicks ?? 0) + prior * parent) / ((c?.views ?? 0) + prior);

export class CountingBaseline {
  private readonly global: Counts = { clicks: 0, views: 0 };
  private readonly items = new Map<string, Counts>();
  private readonly users = new Map<string, { all: Counts; byCategory: Map<string, Counts> }>();
  private readonly o: Required<CountingOptions>;

  constructor(options: CountingOptions = {}) {
    this.o = { itemPrior: 20, userCategoryPrior: 5, userPrior: 10, decay: 0.97, ...options };
  }

  score(user: string, item: string, category: string): number {
    const g = (this.global.clicks + 1) / (this.global.views + 2);
    const pItem = rate(this.items.get(item), g, this.o.itemPrior);
    const u = this.users.get(user);
    const pUser = rate(u?.all, g, this.o.userPrior);
    const pUserCategory = rate(u?.byCategory.get(category), pUser, this.o.userCategoryPrior);
    return 1 / (1 + Math.exp(-(logit(pItem) + logit(pUserCategory) - logit(g))));
  }

  learn(user: string, item: string, category: string, label: number): void {
    const add = (c: Counts) => {
      c.clicks += label;
      c.views += 1;
    };
    add(this.global);
    let i = this.items.get(item);
    if (!i) this.items.set(item, (i = { clicks: 0, views: 0 }));
    add(i);
    let u = this.users.get(user);
    if (!u) this.users.set(user, (u = { all: { clicks: 0, views: 0 }, byCategory: new Map() }));
    for (const c of [u.all, ...u.byCategory.values()]) {
      c.clicks *= this.o.decay;
      c.views *= this.o.decay;
    }
    let uc = u.byCategory.get(category);
    if (!uc) u.byCategory.set(category, (uc = { clicks: 0, views: 0 }));
    add(u.all);
    add(uc);
  }
}
