import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readInteractionsFile } from '../../../../features/interactions/interactions-file.js';
import { ValidationError } from '../../../../infra/errors.js';

describe('features/interactions/interactions-file', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(path.join(tmpdir(), 'interactions-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });
  const write = async (name: string, text: string) => {
    const file = path.join(dir, name);
    await writeFile(file, text);
    return file;
  };

  it('reads CSV with timestamps in seconds, milliseconds and ISO-8601, and weights against the threshold', async () => {
    const file = await write('a.csv', 'user_id,item_id,timestamp,weight\nu1,i1,1700000000,1\nu1,"i,2",1700000000500,0.5\nu2,i3,2024-01-02T00:00:00Z,3\n');
    const read = await readInteractionsFile(file);
    assert.deepEqual(read.positives, [
      { user: 'u1', item: 'i1', ts: 1_700_000_000_000 },
      { user: 'u2', item: 'i3', ts: Date.UTC(2024, 0, 2) },
    ]);
    assert.equal(read.rows, 3);
    assert.deepEqual([...read.itemIds], ['i1', 'i,2', 'i3'], 'a weight below the threshold still names its item');
    const low = await readInteractionsFile(file, { minWeight: 0.5 });
    assert.equal(low.positives.length, 3);
  });

  it('reads TSV with only the two id columns, in any column order; rows keep file order', async () => {
    const file = await write('b.tsv', 'item_id\tuser_id\n10\t7\n11\t7\n');
    const read = await readInteractionsFile(file);
    assert.deepEqual(read.positives, [{ user: '7', item: '10', ts: 0 }, { user: '7', item: '11', ts: 1 }]);
  });

  it('refuses unknown columns, a missing id column, an events file, and names the bad lines', async () => {
    await assert.rejects(readInteractionsFile(await write('c.csv', 'user_id,item_id,rating\nu,i,4\n')), /line 1: unknown column "rating"/);
    await assert.rejects(readInteractionsFile(await write('d.csv', 'user_id,timestamp\nu,1\n')), /line 1: no item_id column/);
    await assert.rejects(readInteractionsFile(await write('e.csv', '{"type":"click"}\n')), /line 1 is JSON, not a header: an events file\? use --source jsonl/);
    const bad = await write('f.csv', 'user_id,item_id,timestamp,weight\nu1,i1,1,1\n,i2,1,1\nu3,i3,yesterday,1\nu4,i4,1,heavy\n');
    await assert.rejects(readInteractionsFile(bad), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(error.issues, [
        'line 3: missing user_id',
        'line 4: timestamp "yesterday" is neither epoch seconds/milliseconds nor an ISO-8601 date',
        'line 5: weight "heavy" is not a number',
      ]);
      return true;
    });
    await assert.rejects(readInteractionsFile(await write('g.csv', '')), /line 1: empty/);
    await assert.rejects(readInteractionsFile(path.join(dir, 'missing.csv')), /ENOENT/);
  });
});
