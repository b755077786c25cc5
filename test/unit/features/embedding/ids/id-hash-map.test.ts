import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IdHashMap } from '../../../../../features/embedding/ids/id-hash-map.js';

describe('IdHashMap', () => {
  it('behaves like a Map under any mix of sets, deletes and gets', () => {
    // Capacity 8 gives 16 slots; keys whose home slot is 14 or 15 collide and
    // wrap around the end, so chains are long and deletes shift across the wrap.
    const colliding: number[] = [];
    for (let k = -(2 ** 31); colliding.length < 6; k += 7919) if (Math.imul(k, 0x9e3779b1) >>> 28 >= 14) colliding.push(k);
    const key = fc.oneof(fc.constantFrom(...colliding), fc.integer({ min: -3, max: 3 }));
    const op = fc.oneof(
      fc.tuple(fc.constant('set' as const), key, fc.nat(1000)),
      fc.tuple(fc.constant('delete' as const), key, fc.constant(0)),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const map = new IdHashMap(13);
        const model = new Map<number, number>();
        for (const [kind, k, v] of ops) {
          if (kind === 'set') {
            map.set(k, v);
            model.set(k, v);
          } else {
            assert.equal(map.delete(k), model.delete(k));
          }
          assert.equal(map.size, model.size);
        }
        for (const k of [...colliding, -3, -2, -1, 0, 1, 2, 3, 99]) assert.equal(map.get(k), model.get(k) ?? -1, `key ${k}`);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses more entries than its capacity', () => {
    const map = new IdHashMap(2);
    map.set(1, 0);
    map.set(2, 0);
    map.set(2, 1);
    assert.throws(() => map.set(3, 0), /full/);
  });
});
