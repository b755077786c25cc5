import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultMovieLensDir, loadMovieLens } from '../../../../features/datasets/movielens.js';
import { movieLensCf } from '../../../../features/datasets/movielens-cf.js';
import { cfSplit } from '../../../../features/interactions/cf-split.js';
import { CfSourceSchema } from '../../../../pipelines/training/cf-config.js';
import { loadCfData } from '../../../../pipelines/training/cf-sources.js';

describe('pipelines/training/cf-sources', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(path.join(tmpdir(), 'cf-sources-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('MovieLens as an interactions file splits exactly as the MovieLens source does', async () => {
    const ml = defaultMovieLensDir();
    const rows = (await readFile(path.join(ml, 'u.data'), 'utf8')).trim().split('\n').map((l) => l.split('\t'));
    const csv = path.join(dir, 'ml.csv');
    await writeFile(csv, `user_id,item_id,timestamp,weight\n${rows.map(([u, i, r, t]) => `${u},${i},${t},${r}`).join('\n')}\n`);
    const fromFile = await loadCfData(CfSourceSchema.parse({ kind: 'interactions', file: csv, minWeight: 4 }));
    const fromMovieLens = await loadCfData(CfSourceSchema.parse({ kind: 'movielens', dir: ml }));
    assert.equal(fromFile.positives.length, fromMovieLens.positives.length);
    const a = cfSplit(fromFile.positives, { userIds: fromFile.userIds, itemIds: fromFile.itemIds });
    const b = movieLensCf(await loadMovieLens(ml));
    for (const part of ['train', 'validation', 'test'] as const) {
      assert.deepEqual(a[part].users.map((u) => Number(a.userIds[u])), b[part].users.map((u) => Number(b.userIds[u])), part);
      assert.deepEqual(a[part].items.map((i) => Number(a.itemIds[i])), b[part].items.map((i) => Number(b.itemIds[i])), part);
    }
    assert.equal(a.trainedUntil, b.trainedUntil);
  });

  it('an events file: positives by rule; a file with none is refused', async () => {
    const file = path.join(dir, 'events.jsonl');
    const event = (id: string, type: string, extra: object) => JSON.stringify({ event_id: id, ts: 1_700_000_000_000, type, user_id: 'u1', item_id: 'i1', ...extra });
    await writeFile(file, [event('a', 'click', {}), event('b', 'impression', {}), event('c', 'rating', { item_id: 'i2', value: 5 })].join('\n'));
    const data = await loadCfData(CfSourceSchema.parse({ kind: 'jsonl', file }));
    assert.deepEqual(data.positives.map((p) => p.item), ['i1', 'i2']);
    const none = path.join(dir, 'none.jsonl');
    await writeFile(none, event('d', 'impression', {}));
    await assert.rejects(loadCfData(CfSourceSchema.parse({ kind: 'jsonl', file: none })), /no positive interactions in events file .*none\.jsonl: nothing to train on/);
    const wrong = path.join(dir, 'wrong.jsonl');
    await writeFile(wrong, 'user_id,item_id\nu1,i1\n');
    await assert.rejects(loadCfData(CfSourceSchema.parse({ kind: 'jsonl', file: wrong })), /wrong\.jsonl has 2 invalid events .*line 1/);
  });
});
