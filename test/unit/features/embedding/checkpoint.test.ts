import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadCheckpoint } from '../../../../features/embedding/checkpoint/load-checkpoint.js';
import { loadForServing } from '../../../../features/embedding/checkpoint/load-for-serving.js';
import { saveCheckpoint } from '../../../../features/embedding/checkpoint/save-checkpoint.js';
import { EmbeddingTable } from '../../../../features/embedding/tables/embedding-table.js';
import { NonRetriableError } from '../../../../infra/errors.js';

function trainedTables(): EmbeddingTable[] {
  const dense = new EmbeddingTable({ name: 'item', rows: 40, dim: 4, optimizer: { kind: 'adam', learningRate: 0.05 }, seed: 1 });
  const dynamic = new EmbeddingTable({
    name: 'user',
    rows: 16,
    dim: 3,
    optimizer: { kind: 'ftrl', alpha: 0.1, l1: 0.001 },
    ids: { kind: 'dynamic', admitAfter: 2, expireAfter: 5, filterWidth: 64 },
    seed: 2,
  });
  for (let step = 0; step < 6; step++) {
    for (const [table, ids] of [
      [dense, [step, 3, 7, step * 5]],
      [dynamic, [-5, 1000 + step, 77, 77, 2 ** 30]],
    ] as const) {
      const { unique } = table.lookup(ids);
      table.applyGradients(unique, Float32Array.from({ length: unique.length * table.dim }, (_, i) => Math.sin(i + step)));
    }
  }
  return [dense, dynamic];
}

async function rejects(promise: Promise<unknown>, file: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof NonRetriableError, `expected NonRetriableError, got ${String(error)}`);
    assert.ok(error.message.includes(file), `message names the file: ${error.message}`);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('embedding checkpoints', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'embedding-checkpoint-'));
    file = path.join(dir, 'tables.ckpt');
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('round-trips weights, optimizer state and id maps, and training continues identically', async () => {
    const tables = trainedTables();
    const bytes = await saveCheckpoint(file, tables);
    assert.equal((await stat(file)).size, bytes);
    const loaded = await loadCheckpoint(file);
    assert.deepEqual(loaded.map((t) => t.name), ['item', 'user']);
    loaded.forEach((copy, i) => {
      const original = tables[i]!;
      assert.deepEqual(copy.weights, original.weights);
      assert.deepEqual(copy.optimizerState, original.optimizerState);
      assert.deepEqual(copy.optimizer.config, original.optimizer.config);
      assert.deepEqual(copy.idsConfig, original.idsConfig);
      assert.deepEqual(copy.dynamicState, original.dynamicState);
      assert.equal(copy.lookups, original.lookups);
    });
    // Same next steps on both: admission counts, expiry clock and moments all carried over.
    for (const pair of [tables, loaded]) {
      for (const table of pair) {
        for (const raw of [[77, 5000, 5000, 3], [-5, 9], [1, 2, 3], [], [], [], [], [], [1000, 77]]) {
          // Range tables take row indices; dynamic ones any int32.
          const ids = table.idsConfig.kind === 'dynamic' ? raw : raw.map((id) => ((id % table.rows) + table.rows) % table.rows);
          const { unique } = table.lookup(ids);
          table.applyGradients(unique, new Float32Array(unique.length * table.dim).fill(0.25));
        }
      }
    }
    loaded.forEach((copy, i) => assert.deepEqual(copy.weights, tables[i]!.weights));
  });

  it('serves weights and id maps without optimizer state', async () => {
    const tables = trainedTables();
    await saveCheckpoint(file, tables);
    const [item, user] = await loadForServing(file);
    assert.deepEqual(item!.weights, tables[0]!.weights);
    assert.deepEqual(item!.lookup([7, 3, 7]).rows, tables[0]!.lookup([7, 3, 7]).rows);
    const served = user!.lookup([77, -5, 123456]);
    assert.deepEqual([...served.rows.subarray(0, 3)], [...tables[1]!.lookup([77]).rows]);
    assert.deepEqual([...served.rows.subarray(6, 9)], [0, 0, 0], 'an unknown id reads the zero row');
    assert.throws(() => item!.lookup([40]), /id 40 is not in \[0, 40\)/);
  });

  it('serving does not read optimizer sections, so damage there does not stop it', async () => {
    await saveCheckpoint(file, trainedTables());
    const data = await readFile(file);
    const manifest = JSON.parse(data.subarray(48, 48 + data.readUInt32LE(12)).toString('utf8'));
    data[manifest.tables[0].sections['slot:m'].offset + 5]! ^= 0xff;
    await writeFile(file, data);
    assert.equal((await loadForServing(file)).length, 2);
    await rejects(loadCheckpoint(file), file, /table 'item' section 'slot:m' fails its sha256 check/);
  });

  it('rejects a truncated file, wherever it is cut', async () => {
    const size = await saveCheckpoint(file, trainedTables());
    for (const [cut, pattern] of [
      [size - 1, /file is \d+ bytes, the manifest says \d+ \(truncated\)/],
      [200, /manifest of \d+ bytes runs past the end .* \(truncated\)/],
      [20, /shorter than the 48-byte header/],
      [0, /shorter than the 48-byte header/],
    ] as const) {
      await truncate(file, cut);
      await rejects(loadCheckpoint(file), file, pattern);
      await rejects(loadForServing(file), file, pattern);
      await saveCheckpoint(file, trainedTables());
    }
  });

  it('rejects a flipped byte in the weights or in the manifest', async () => {
    await saveCheckpoint(file, trainedTables());
    const clean = await readFile(file);
    const manifest = JSON.parse(clean.subarray(48, 48 + clean.readUInt32LE(12)).toString('utf8'));

    const inWeights = Buffer.from(clean);
    inWeights[manifest.tables[1].sections.weights.offset + 11]! ^= 0x01;
    await writeFile(file, inWeights);
    await rejects(loadForServing(file), file, /table 'user' section 'weights' fails its sha256 check/);

    const inManifest = Buffer.from(clean);
    inManifest[48 + 30]! ^= 0x01;
    await writeFile(file, inManifest);
    await rejects(loadCheckpoint(file), file, /manifest fails its sha256 check/);
  });

  it('rejects another format version and files that are not checkpoints', async () => {
    await saveCheckpoint(file, trainedTables());
    const data = await readFile(file);
    data.writeUInt32LE(2, 8);
    await writeFile(file, data);
    await rejects(loadCheckpoint(file), file, /format version 2, this reader supports version 1/);

    await writeFile(file, Buffer.alloc(100, 7));
    await rejects(loadForServing(file), file, /bad magic bytes \(not an embedding checkpoint\)/);
    await rejects(loadCheckpoint(path.join(dir, 'missing.ckpt')), 'missing.ckpt', /cannot open/);
  });

  it('refuses to save two tables under one name and leaves no temporary file on success', async () => {
    const [a] = trainedTables();
    await assert.rejects(saveCheckpoint(file, [a!, a!]), /'item' repeats/);
    await saveCheckpoint(file, [a!]);
    assert.deepEqual(await readdir(dir), ['tables.ckpt']);
  });
});
