import { createRng } from '../../features/math/rng.js';

/** 40 users with 6 random items each of 40, the last one held out for validation: a graph small enough to train in a test. */
export function smallCfData() {
  const rng = createRng(4);
  const train: [number[], number[]] = [[], []], validation: [number[], number[]] = [[], []];
  for (let u = 0; u < 40; u++) {
    const items = new Set<number>();
    while (items.size < 6) items.add(rng.int(40));
    [...items].forEach((i, k) => { const part = k < 5 ? train : validation; part[0].push(u); part[1].push(i); });
  }
  const pack = ([users, items]: [number[], number[]]) => ({ users: Int32Array.from(users), items: Int32Array.from(items) });
  return { train: pack(train), validation: pack(validation) };
}
