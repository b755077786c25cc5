import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bucket, hashString } from '../../../../features/hashing.js';
import { EmbeddingTable } from '../../../../features/embedding/tables/embedding-table.js';
import { fieldOutputs, tableGradientsFromFieldOutputs } from '../../../../features/embedding/layouts/field-gradients.js';
import { hashedLayout, rowsForBudget } from '../../../../features/embedding/layouts/hashed-layout.js';
import { perFieldLayout } from '../../../../features/embedding/layouts/per-field-layout.js';
import { unifiedLayout } from '../../../../features/embedding/layouts/unified-layout.js';
import { ValidationError } from '../../../../infra/errors.js';
import { assertClose } from '../../../helpers/assert-close.js';

const sgd = { kind: 'sgd', learningRate: 1 } as const;
const fields = [
  { name: 'user', vocabularySize: 1000 },
  { name: 'item', vocabularySize: 300 },
  { name: 'country', vocabularySize: 20 },
];

function row(table: EmbeddingTable, r: number): number[] {
  return [...table.weights.subarray(r * table.dim, (r + 1) * table.dim)];
}

describe('embedding layouts', () => {
  it('per-field: one full-vocabulary table per field, ids are vocabulary indices', () => {
    const layout = perFieldLayout(fields, { dim: 4, optimizer: sgd });
    assert.deepEqual(layout.parameterCount(), {
      total: (1000 + 300 + 20) * 4,
      tables: [
        { name: 'user', rows: 1000, dim: 4, parameters: 4000 },
        { name: 'item', rows: 300, dim: 4, parameters: 1200 },
        { name: 'country', rows: 20, dim: 4, parameters: 80 },
      ],
    });
    const lookup = layout.lookup({ user: [5, 999, 5], item: [7, 7, 8], country: [19, 0, 0] });
    const outputs = fieldOutputs(lookup);
    assert.deepEqual([...outputs[0]!.subarray(4, 8)], row(layout.tables[0]!, 999));
    assert.deepEqual([...outputs[2]!.subarray(0, 4)], row(layout.tables[2]!, 19));
    assert.throws(() => layout.lookup({ user: [1000], item: [0], country: [0] }), /ids\[0\] = 1000 is not in \[0, 1000\)/);
    assert.throws(() => layout.lookup({ user: ['x'], item: [0], country: [0] }), /per-field tables take vocabulary indices/);
  });

  it('hashed: per-field tables of a given size, ids bucketed with a per-field salt', () => {
    const rows = { user: 64, item: 32, country: 20 };
    const layout = hashedLayout(fields, { rows, dim: 4, optimizer: sgd, seed: 9 });
    assert.equal(layout.parameterCount().total, (64 + 32 + 20) * 4);
    const lookup = layout.lookup({ user: [123456789, 'alice'], item: [3], country: ['fr'] });
    const user = lookup.fields[0]!;
    const expected = [bucket(123456789, hashString('user', 9), 64), bucket('alice', hashString('user', 9), 64)];
    assert.deepEqual([...user.inverse].map((k) => lookup.tables[0]!.unique[k]), expected);
    assert.equal(lookup.tables[2]!.unique[0], bucket('fr', hashString('country', 9), 20));
  });

  it('unified: one shared table, c_f salted chunks per field concatenated', () => {
    const layout = unifiedLayout(fields, { rows: 50, chunkDim: 3, chunks: { user: 2, item: 1, country: 3 }, optimizer: sgd });
    assert.deepEqual(layout.parameterCount(), { total: 150, tables: [{ name: 'unified', rows: 50, dim: 3, parameters: 150 }] });
    const lookup = layout.lookup({ user: [11, 12], item: [11], country: [11] });
    assert.deepEqual(lookup.fields.map((f) => [f.field, f.chunks, f.outputDim, f.positions]), [
      ['user', 2, 6, 2],
      ['item', 1, 3, 1],
      ['country', 3, 9, 1],
    ]);
    const table = layout.tables[0]!;
    const [user, , country] = fieldOutputs(lookup);
    const chunkRow = (field: string, j: number, value: number) => bucket(value, hashString(`${field}/${j}`, 0), 50);
    assert.deepEqual([...user!], [...row(table, chunkRow('user', 0, 11)), ...row(table, chunkRow('user', 1, 11)), ...row(table, chunkRow('user', 0, 12)), ...row(table, chunkRow('user', 1, 12))]);
    assert.deepEqual([...country!], [0, 1, 2].flatMap((j) => row(table, chunkRow('country', j, 11))));
    // One table, so one set of unique rows shared by every field.
    assert.equal(lookup.tables.length, 1);
    assert.equal(new Set(lookup.tables[0]!.unique).size, lookup.tables[0]!.unique.length);
  });

  it('routes field-output gradients to shared rows, summing every collision', () => {
    // 3 rows for 4 fields × several chunks: collisions are certain.
    const layout = unifiedLayout(fields, { rows: 3, chunkDim: 2, chunks: { user: 3, item: 2, country: 2 }, optimizer: sgd });
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 19 }), { minLength: 1, maxLength: 8 }), (ids) => {
        const lookup = layout.lookup({ user: ids, item: ids, country: ids });
        const fieldGrads = lookup.fields.map((f) => Float32Array.from({ length: f.positions * f.outputDim }, (_, i) => Math.sin(i + f.chunks)));
        const [grad] = tableGradientsFromFieldOutputs(lookup, fieldGrads);
        // Brute force: every (field, position, chunk) adds its slice to the row it read.
        const expected = new Float64Array(3 * 2);
        lookup.fields.forEach((f, fi) => {
          for (let i = 0; i < f.positions * f.chunks; i++) {
            const r = lookup.tables[0]!.unique[f.inverse[i]!]!;
            for (let j = 0; j < 2; j++) expected[r * 2 + j]! += fieldGrads[fi]![i * 2 + j]!;
          }
        });
        const got = new Float64Array(3 * 2);
        lookup.tables[0]!.unique.forEach((r, k) => got.set(grad!.subarray(k * 2, k * 2 + 2), r * 2));
        assertClose(got, expected, { atol: 1e-5 });
      }),
      { numRuns: 50 },
    );
  });

  it('applies per-table gradients once per row (SGD lr 1: each row moves by its summed gradient)', () => {
    const layout = unifiedLayout(fields, { rows: 4, chunkDim: 2, chunks: { user: 2 }, optimizer: sgd });
    const lookup = layout.lookup({ user: [1, 2, 3], item: [1, 2], country: [5] });
    const before = layout.tables[0]!.weights.slice();
    const fieldGrads = lookup.fields.map((f) => new Float32Array(f.positions * f.outputDim).fill(1));
    layout.applyGradients(lookup, tableGradientsFromFieldOutputs(lookup, fieldGrads));
    const reads = new Float64Array(4);
    for (const f of lookup.fields) for (const k of f.inverse) reads[lookup.tables[0]!.unique[k]!]!++;
    for (let r = 0; r < 4; r++) assertClose(row(layout.tables[0]!, r), [before[r * 2]! - reads[r]!, before[r * 2 + 1]! - reads[r]!]);
  });

  it('splits a row budget in proportion to vocabularies, never beyond a vocabulary', () => {
    assert.deepEqual(rowsForBudget(fields, 660), { user: 500, item: 150, country: 10 });
    assert.deepEqual(rowsForBudget(fields, 5000), { user: 1000, item: 300, country: 20 });
    assert.deepEqual(rowsForBudget(fields, 1), { user: 1, item: 1, country: 1 });
  });

  it('rejects batches whose fields do not match, and bad options', () => {
    const layout = hashedLayout(fields, { rows: { user: 8, item: 8, country: 8 }, dim: 2, optimizer: sgd });
    assert.throws(
      () => layout.lookup({ user: [1], item: [1], colour: [1] }),
      (e: unknown) => e instanceof ValidationError && /'country' is missing/.test(e.message) && /'colour' is not in the layout/.test(e.message),
    );
    assert.throws(() => hashedLayout(fields, { rows: { user: 8 }, dim: 2, optimizer: sgd }), /rows\['item'\] = undefined/);
    assert.throws(() => unifiedLayout(fields, { rows: 8, chunkDim: 2, chunks: { user: 0 }, optimizer: sgd }), /chunks\['user'\] = 0/);
  });

  it('rebinds to restored tables only when names and shapes match', () => {
    const layout = perFieldLayout(fields, { dim: 2, optimizer: sgd });
    const copies = layout.tables.map((t) => new EmbeddingTable({ name: t.name, rows: t.rows, dim: t.dim, optimizer: sgd, seed: 5 }));
    assert.equal(layout.withTables(copies).tables[1], copies[1]);
    assert.throws(() => layout.withTables(copies.slice(1)), /table 'user' is missing/);
  });
});
