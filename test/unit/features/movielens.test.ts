import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { defaultMovieLensDir, loadMovieLens } from '../../../features/datasets/movielens.js';
import { movieLensCtrSplits } from '../../../features/datasets/movielens-ctr.js';
import { movieLensEvents } from '../../../features/datasets/movielens-events.js';

describe('MovieLens-100K', function () {
  this.timeout(60_000);
  const dir = defaultMovieLensDir();

  it('loads the published files', async () => {
    const ml = await loadMovieLens(dir, { download: false });
    assert.equal(ml.ratings.length, 100_000);
    assert.equal(ml.users.size, 943);
    assert.equal(ml.items.size, 1682);
    assert.deepEqual(ml.items.get(1)!.genres, ['Animation', "Children's", 'Comedy']);
    assert.deepEqual(ml.users.get(1), { age: 24, gender: 'M', occupation: 'technician', zip: '85711' });
  });

  it('downloads the zip when the directory is missing (served here on loopback)', async () => {
    const zip = zipSync(Object.fromEntries(['u.data', 'u.item', 'u.user'].map((f) => [`ml-100k/${f}`, new Uint8Array(readFileSync(path.join(dir, f)))])));
    const server = createServer((_req, res) => res.end(Buffer.from(zip)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const target = path.join(mkdtempSync(path.join(tmpdir(), 'ml-')), 'ml-100k');
      const ml = await loadMovieLens(target, { url: `http://127.0.0.1:${port}/ml-100k.zip` });
      assert.equal(ml.ratings.length, 100_000);
      await assert.rejects(loadMovieLens(path.join(target, 'nope'), { download: false }), /not found/);
      await assert.rejects(loadMovieLens(path.join(target, 'nope2'), { url: `http://127.0.0.1:1/x.zip` }), /cannot download/);
    } finally {
      server.close();
    }
  });

  it('follows the CTR protocol: per-user 80/20 split in (ts, item) order, validation from the train part', async () => {
    const ml = await loadMovieLens(dir, { download: false });
    const splits = movieLensCtrSplits(ml);
    const all = [...splits.train, ...splits.validation, ...splits.test];
    assert.equal(all.length, 100_000);
    const perUser = new Map<string, number>();
    for (const r of ml.ratings) perUser.set(String(r.user), (perUser.get(String(r.user)) ?? 0) + 1);
    let expectedTest = 0, expectedValidation = 0;
    for (const n of perUser.values()) {
      const nTrain = Math.floor(0.8 * n);
      expectedTest += n - nTrain;
      expectedValidation += Math.ceil(0.1 * nTrain);
    }
    assert.equal(splits.test.length, expectedTest);
    assert.equal(splits.validation.length, expectedValidation);
    // Every test event of a user comes after all their train events in (ts, item) order.
    const lastTrain = new Map<string, [number, number]>();
    for (const e of [...splits.train, ...splits.validation]) {
      const key: [number, number] = [e.event.ts, Number(e.event.item_id)];
      const prev = lastTrain.get(e.event.user_id);
      if (!prev || key[0] > prev[0] || (key[0] === prev[0] && key[1] > prev[1])) lastTrain.set(e.event.user_id, key);
    }
    for (const e of splits.test) {
      const [ts, item] = lastTrain.get(e.event.user_id)!;
      assert.ok(e.event.ts > ts || (e.event.ts === ts && Number(e.event.item_id) > item));
    }
    // Labels are rating >= 4; history holds only earlier positives, at most 50.
    for (const e of all) {
      assert.equal(e.label, e.event.value! >= 4 ? 1 : 0);
      assert.ok(e.history.length <= 50);
    }
    assert.equal(movieLensEvents(ml).filter((e) => e.type === 'item_update').length, 1682);
  });
});
