import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_ROW } from '../../../../../features/embedding/ids/dynamic-ids.js';
import { EmbeddingTable } from '../../../../../features/embedding/tables/embedding-table.js';
import type { EmbeddingTableOptions } from '../../../../../features/embedding/tables/embedding-table.js';
import { initRow } from '../../../../../features/embedding/tables/row-init.js';
import { ValidationError } from '../../../../../infra/errors.js';
import { assertClose } from '../../../../helpers/assert-close.js';

const sgd = { kind: 'sgd', learningRate: 1 } as const;

function table(options: Partial<EmbeddingTableOptions> = {}): EmbeddingTable {
  return new EmbeddingTable({ rows: 10, dim: 3, optimizer: sgd, ...options });
}

function rowOf(t: EmbeddingTable, row: number): number[] {
  return [...t.weights.subarray(row * t.dim, row * t.dim + t.dim)];
}

describe('EmbeddingTable', () => {
  describe('range ids', () => {
    it('returns distinct rows in first-seen order, an inverse index and their weights', () => {
      const t = table();
      const { unique, inverse, rows } = t.lookup([4, 2, 4, 9, 2, 4]);
      assert.deepEqual([...unique], [4, 2, 9]);
      assert.deepEqual([...inverse], [0, 1, 0, 2, 1, 0]);
      assert.deepEqual([...rows], [...rowOf(t, 4), ...rowOf(t, 2), ...rowOf(t, 9)]);
    });

    it('lookup rows agree with the weights for any batch, batch after batch', () => {
      const t = new EmbeddingTable({ rows: 50, dim: 2, optimizer: sgd });
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: 49 }), { maxLength: 200 }), (ids) => {
          const { unique, inverse, rows } = t.lookup(Int32Array.from(ids));
          assert.equal(new Set(unique).size, unique.length);
          assert.deepEqual(new Set(unique), new Set(ids));
          ids.forEach((id, i) => {
            const k = inverse[i]!;
            assert.equal(unique[k], id);
            assert.deepEqual([...rows.subarray(k * 2, k * 2 + 2)], rowOf(t, id));
          });
        }),
      );
    });

    it('initialises deterministically from (seed, row) within the init scale', () => {
      const a = table({ seed: 7, init: { kind: 'uniform', scale: 0.5 } });
      const b = table({ seed: 7, init: { kind: 'uniform', scale: 0.5 } });
      const c = table({ seed: 8, init: { kind: 'uniform', scale: 0.5 } });
      assert.deepEqual(a.weights, b.weights);
      assert.notDeepEqual(a.weights, c.weights);
      assert.ok(a.weights.every((w) => Math.abs(w) <= 0.5));
      assert.ok(new Set(a.weights).size > 25);
    });

    it('normal init has the requested spread', () => {
      const t = new EmbeddingTable({ rows: 2000, dim: 15, optimizer: sgd, init: { kind: 'normal', stddev: 0.1 } });
      const n = t.weights.length;
      const mean = t.weights.reduce((s, w) => s + w, 0) / n;
      const sd = Math.sqrt(t.weights.reduce((s, w) => s + (w - mean) ** 2, 0) / n);
      assert.ok(Math.abs(mean) < 0.003, `mean ${mean}`);
      assert.ok(Math.abs(sd - 0.1) < 0.003, `sd ${sd}`);
    });

    it('updates only the rows given, summing repeated rows into one update', () => {
      const t = table({ optimizer: { kind: 'adam', learningRate: 0.1 } });
      const twin = table({ optimizer: { kind: 'adam', learningRate: 0.1 } });
      const before = t.weights.slice();
      t.applyGradients(Int32Array.from([3, 5, 3]), Float32Array.from([1, 2, 3, 0.5, 0.5, 0.5, 10, 20, 30]));
      twin.applyGradients(Int32Array.from([3, 5]), Float32Array.from([11, 22, 33, 0.5, 0.5, 0.5]));
      assert.deepEqual(t.weights, twin.weights);
      assert.deepEqual(t.optimizerState.slots, twin.optimizerState.slots);
      for (let row = 0; row < 10; row++) {
        const moved = rowOf(t, row).some((w, j) => w !== before[row * 3 + j]);
        assert.equal(moved, row === 3 || row === 5, `row ${row}`);
      }
    });

    it('rejects ids outside [0, rows), non-integers and mismatched gradients', () => {
      const t = table();
      assert.throws(() => t.lookup([1, 10]), (e: unknown) => e instanceof ValidationError && /ids\[1\] = 10 is not in \[0, 10\)/.test(e.message));
      assert.throws(() => t.lookup([-1]), ValidationError);
      assert.throws(() => t.lookup([1.5]), /ids\[0\] = 1.5/);
      assert.throws(() => t.applyGradients(Int32Array.from([1]), new Float32Array(2)), /gradient size mismatch/);
      assert.throws(() => t.applyGradients(Int32Array.from([11]), new Float32Array(3)), /unique\[0\] = 11/);
      assert.throws(() => new EmbeddingTable({ rows: 0, dim: 0, optimizer: sgd }), (e: unknown) => e instanceof ValidationError && /rows must be/.test(e.message) && /dim must be/.test(e.message));
    });

    it('accounts its memory: weights, optimizer state, id map and scratch', () => {
      const t = new EmbeddingTable({ rows: 1000, dim: 16, optimizer: { kind: 'adam', learningRate: 0.1 } });
      const memory = t.memory();
      assert.equal(memory.weightBytes, 1000 * 16 * 4);
      assert.equal(memory.optimizerBytes, 2 * 1000 * 16 * 4);
      assert.equal(memory.idMapBytes, 0);
      assert.equal(memory.scratchBytes, 1000 * 4);
      assert.equal(memory.bytesPerRow, 64 + 128 + 4);
    });
  });

  describe('dynamic ids', () => {
    const dynamic = (options: Partial<EmbeddingTableOptions> & { ids?: EmbeddingTableOptions['ids'] } = {}) =>
      table({ rows: 5, ids: { kind: 'dynamic' }, ...options });

    it('gives any int32 id a row on first touch, the same row after, and keeps row 0 zero', () => {
      const t = dynamic();
      const first = t.lookup([-7, 2 ** 31 - 1, -7]);
      assert.deepEqual([...first.unique], [1, 2]);
      assert.deepEqual([...first.inverse], [0, 1, 0]);
      assert.deepEqual([...t.lookup([2 ** 31 - 1]).unique], [2]);
      assert.deepEqual(rowOf(t, DEFAULT_ROW), [0, 0, 0]);
      assert.equal(t.stats()!.liveRows, 2);
    });

    it('initialises a row from (seed, id), whatever row or order it arrives in', () => {
      const a = dynamic({ seed: 3 });
      const b = dynamic({ seed: 3 });
      const ra = a.lookup([100, 200]);
      const rb = b.lookup([200, 100]);
      assert.deepEqual([...ra.rows.subarray(0, 3)], [...rb.rows.subarray(3, 6)]);
      const expected = new Float32Array(3);
      initRow(expected, 0, 3, a.init, 3, 100);
      assert.deepEqual([...ra.rows.subarray(0, 3)], [...expected]);
    });

    it('admits an id only at its Nth sighting; before that it reads row 0 and is not trained', () => {
      const t = dynamic({ ids: { kind: 'dynamic', admitAfter: 3 } });
      const early = t.lookup([42, 42]);
      assert.deepEqual([...early.unique], [DEFAULT_ROW]);
      assert.deepEqual([...early.rows], [0, 0, 0]);
      t.applyGradients(early.unique, Float32Array.from([1, 1, 1]));
      assert.deepEqual(rowOf(t, DEFAULT_ROW), [0, 0, 0]);
      assert.equal(t.stats()!.filtered, 2);
      const admitted = t.lookup([42, 42]);
      assert.deepEqual([...admitted.unique], [1]);
      assert.deepEqual([...admitted.inverse], [0, 0]);
      assert.equal(t.stats()!.liveRows, 1);
    });

    it('resets a row unseen for longer than expireAfter lookups, weights and optimizer state', () => {
      const t = dynamic({ ids: { kind: 'dynamic', expireAfter: 2 }, optimizer: { kind: 'adagrad', learningRate: 0.5 } });
      const { unique, rows: fresh } = t.lookup([9]);
      t.applyGradients(unique, Float32Array.from([1, 1, 1]));
      assert.notDeepEqual(rowOf(t, 1), [...fresh]);
      t.lookup([8]);
      assert.notDeepEqual([...t.lookup([9]).rows], [...fresh], 'unseen for 2 lookups: kept');
      t.lookup([8]);
      t.lookup([8]);
      t.lookup([8]);
      const again = t.lookup([9]);
      assert.deepEqual([...again.rows], [...fresh]);
      assert.deepEqual([...t.optimizerState.slots[0]!.subarray(3, 6)], [0, 0, 0]);
      assert.equal(t.stats()!.expired, 1);
    });

    it('when full, reuses expired rows; without expiry, extra ids read row 0', () => {
      const full = dynamic({ ids: { kind: 'dynamic' } });
      full.lookup([1, 2, 3, 4]);
      const over = full.lookup([5]);
      assert.deepEqual([...over.unique], [DEFAULT_ROW]);
      assert.equal(full.stats()!.overflowed, 1);

      const expiring = dynamic({ ids: { kind: 'dynamic', expireAfter: 1 } });
      expiring.lookup([1, 2, 3, 4]);
      expiring.lookup([4]);
      expiring.lookup([4]);
      const reused = expiring.lookup([5, 6, 7, 8]);
      assert.deepEqual([...reused.unique].sort((a, b) => a - b), [DEFAULT_ROW, 1, 2, 3]);
      assert.equal(expiring.stats()!.overflowed, 1, 'three rows expired for four new ids');
      assert.equal(expiring.stats()!.liveRows, 4);
    });

    it('measures expiry in milliseconds on an injected clock', () => {
      let now = 1_000;
      const t = dynamic({ ids: { kind: 'dynamic', expireAfter: 500, expiryUnit: 'ms' }, now: () => now });
      const { unique, rows: fresh } = t.lookup([5]);
      t.applyGradients(unique, Float32Array.from([1, 1, 1]));
      now += 500;
      assert.notDeepEqual([...t.lookup([5]).rows], [...fresh]);
      now += 501;
      assert.deepEqual([...t.lookup([5]).rows], [...fresh]);
    });

    it('counts the id map in its memory', () => {
      const t = new EmbeddingTable({ rows: 1000, dim: 8, optimizer: sgd, ids: { kind: 'dynamic', admitAfter: 2, filterWidth: 4096, filterDepth: 2 } });
      const { idMapBytes } = t.memory();
      // map 2048 slots × 8 B, free list 4 B, rowIds 4 B, live 1 B, lastSeen 8 B per row, filter 8192 B.
      assert.equal(idMapBytes, 2048 * 8 + 1000 * (4 + 4 + 1 + 8) + 8192);
    });

    it('rejects bad dynamic options', () => {
      assert.throws(() => dynamic({ ids: { kind: 'dynamic', admitAfter: 0 } }), /admitAfter must be an integer in \[1, 255\], got 0/);
      assert.throws(() => table({ rows: 1, ids: { kind: 'dynamic' } }), /needs ≥ 2 rows/);
    });
  });

  it('gradient for a looked-up batch trains the rows it read (SGD, lr 1)', () => {
    const t = table();
    const { unique, rows } = t.lookup([7, 1]);
    const grad = Float32Array.from([0.5, -0.5, 1, 2, 0, -1]);
    t.applyGradients(unique, grad);
    assertClose([...rowOf(t, 7), ...rowOf(t, 1)], rows.map((w, i) => w - grad[i]!));
  });

  describe('frozen (serving, replay, evaluation)', () => {
    it('reads without allocating, admitting, expiring or counting; unseen ids read the zero default row', () => {
      const t = new EmbeddingTable({ rows: 16, dim: 2, optimizer: sgd, ids: { kind: 'dynamic', admitAfter: 2, expireAfter: 3 } });
      for (let i = 0; i < 4; i++) t.lookup([11, 22, 33]);
      const trained = t.lookup([11, 22]);
      t.applyGradients(trained.unique, new Float32Array(trained.unique.length * 2).fill(0.25));
      t.freeze();
      const weights = t.weights.slice();
      const { rowIds, live, lastSeen, filterCounts } = t.dynamicState!;
      const state = [rowIds.slice(), live.slice(), lastSeen.slice(), filterCounts.slice(), t.lookups, t.stats()];
      const first = t.lookup([11, 22, 44]);
      // Far past expiry, and every unseen id sighted often enough to be admitted twice over.
      for (let i = 0; i < 50; i++) t.lookup([44, 55, 1000 + i, 1000 + i, 1000 + i]);
      const again = t.lookup([11, 22, 44]);
      assert.deepEqual(again, first);
      assert.deepEqual([...again.unique].slice(-1), [DEFAULT_ROW], 'an unseen id reads the default row');
      assert.deepEqual([...again.rows.subarray(4, 6)], [0, 0]);
      assert.deepEqual(t.weights, weights);
      assert.deepEqual([rowIds, live, lastSeen, filterCounts, t.lookups, t.stats()], state);
      assert.ok(t.readOnly);
    });

    it('refuses gradients, naming the table', () => {
      const t = table({ name: 'items' });
      const { unique } = t.lookup([1, 2]);
      t.freeze();
      assert.throws(() => t.applyGradients(unique, new Float32Array(6)), /table 'items' is read-only/);
    });
  });
});

describe('EmbeddingTable with update threads', () => {
  for (const optimizer of [{ kind: 'adam', learningRate: 0.01 }, { kind: 'ftrl', alpha: 0.1, l1: 0.001 }] as const) {
    it(`${optimizer.kind}: two threads give bit-identical weights and state to one`, async () => {
      const options = { rows: 20_000, dim: 8, optimizer, seed: 4 };
      const serial = new EmbeddingTable(options);
      const parallel = new EmbeddingTable({ ...options, threads: 2 });
      try {
        assert.ok(parallel.weights.buffer instanceof SharedArrayBuffer);
        for (let step = 0; step < 4; step++) {
          // 6000 ids over 20k rows: ~5k distinct rows, above the threshold for handing work out.
          const ids = Int32Array.from({ length: 6000 }, (_, i) => (i * 7919 + step * 104_729) % 20_000);
          for (const t of [serial, parallel]) {
            const { unique } = t.lookup(ids);
            t.applyGradients(unique, Float32Array.from({ length: unique.length * 8 }, (_, i) => Math.sin(i * 0.37 + step)));
          }
        }
        assert.deepEqual(parallel.weights, serial.weights);
        parallel.optimizerState.slots.forEach((slot, s) => assert.deepEqual(slot, serial.optimizerState.slots[s]));
        assert.equal(parallel.optimizerState.step, 4);
      } finally {
        await parallel.close();
      }
    });
  }
});
