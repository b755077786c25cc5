import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ValidationError } from '../../../../infra/errors.js';
import { formatOf, readTable } from '../../../../features/table/read-table.js';

describe('tabular file readers', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(path.join(tmpdir(), 'read-table-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });
  const file = async (name: string, text: string): Promise<string> => { const f = path.join(dir, name); await writeFile(f, text); return f; };
  const refused = async (f: string, pattern: RegExp): Promise<void> => {
    await assert.rejects(readTable(f), (e: unknown) => e instanceof ValidationError && pattern.test(e.message));
  };

  it('CSV with a BOM, quoted separators and empty cells; TSV by extension', async () => {
    const csv = await readTable(await file('a.csv', '\uFEFFuser,genres,click\nu1,"a,b",1\nu2,,0\n'));
    assert.deepEqual(csv.columns, ['user', 'genres', 'click']);
    assert.deepEqual(csv.rows.map((r) => r.cells), [{ user: 'u1', genres: 'a,b', click: '1' }, { user: 'u2', genres: undefined, click: '0' }]);
    assert.deepEqual(csv.rows.map((r) => r.line), [2, 3]);
    const tsv = await readTable(await file('a.tsv', 'user\tclick\nu1\t1\n'));
    assert.equal(tsv.format, 'tsv');
    assert.deepEqual(tsv.rows[0]!.cells, { user: 'u1', click: '1' });
  });

  it('refuses ragged rows (naming the lines), an empty file, a header alone, a duplicated column, a TSV named .csv', async () => {
    await refused(await file('ragged.csv', 'a,b\n1,2\n3\n4,5,6\n'), /2 ragged rows.*line 3: 1 cells for 2 columns.*line 4: 3 cells/);
    await refused(await file('empty.csv', ''), /is empty/);
    await refused(await file('header.csv', 'a,b\n'), /a header and no rows/);
    await refused(await file('twice.csv', 'a,a\n1,2\n'), /column "a" appears twice/);
    await refused(await file('tabs.csv', 'a\tb\n1\t2\n'), /is it a TSV file/);
  });

  it('refuses an extension it cannot read, naming the formats', () => {
    assert.throws(() => formatOf('data.parquet'), /cannot tell the format.*\.parquet.*csv, tsv, jsonl, libfm/);
    assert.equal(formatOf('x.libsvm'), 'libfm');
  });

  it('JSON lines of flat records: lists kept, null missing; nested values and non-JSON refused by line', async () => {
    const t = await readTable(await file('a.jsonl', '{"u":"u1","tags":["x","y"],"n":3,"gone":null}\n\n{"u":"u2","flag":true}\n'));
    assert.deepEqual(t.columns, ['u', 'tags', 'n', 'flag']);
    assert.deepEqual(t.rows[0]!.cells, { u: 'u1', tags: ['x', 'y'], n: 3 });
    assert.equal(t.rows[1]!.line, 3);
    await refused(await file('bad.jsonl', '{"a":{"b":1}}\nnope\n[1]\n'), /3 invalid records.*line 1: "a" is a nested object.*line 2: not JSON.*line 3: not a JSON object/);
  });

  it('libFM: fields by position (same width) or named field:index:value; a value ≠ 1 is numeric; ragged or malformed rows refused', async () => {
    const positional = await readTable(await file('a.libfm', '1 10:1 20:1 31:0.5\n-1 11:1 20:1 32:2\n'));
    assert.deepEqual(positional.columns, ['label', 'f0', 'f1', 'f2']);
    assert.deepEqual(positional.rows[0]!.cells, { label: '1', f0: '10', f1: '20', f2: 0.5 });
    assert.deepEqual(positional.rows[1]!.cells, { label: '-1', f0: '11', f1: '20', f2: 2 });
    const fields = await readTable(await file('b.libfm', '0 0:5:1 2:7:1\n1 0:6:1\n'));
    assert.deepEqual(fields.rows.map((r) => r.cells), [{ label: '0', f0: '5', f2: '7' }, { label: '1', f0: '6' }]);
    await refused(await file('c.libfm', '1 10:1 20:1\n0 10:1\n1:2 3:1\nx 1:1\n1 a:b\n'), /4 invalid rows.*line 2: 1 entries where the first row has 2.*line 3: starts with "1:2".*line 4: starts with "x".*line 5: entry "a:b" has a value that is not a number/);
  });
});
