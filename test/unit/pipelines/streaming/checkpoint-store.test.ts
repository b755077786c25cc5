import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CheckpointStore } from '../../../../pipelines/streaming/checkpoint-store.js';

describe('checkpoint store', () => {
  it('removes the staging folders a crashed writer left when a trainer opens it, keeping the checkpoints', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ckpt-store-'));
    const store = new CheckpointStore(dir);
    const saved = await store.save({ 'state.json': Buffer.from('{"n":1}') });
    for (const leftover of ['.staging-dead1', '.staging-dead2']) {
      mkdirSync(path.join(dir, leftover));
      writeFileSync(path.join(dir, leftover, 'tables.ckpt'), Buffer.alloc(1024));
    }
    const opened = await new CheckpointStore(dir).latest();
    assert.equal(opened?.dir, saved.dir);
    assert.deepEqual(readdirSync(dir).filter((e) => e.startsWith('.staging-')), [], 'no staging folder left');
    assert.ok(existsSync(saved.dir));
    assert.equal((await opened!.read('state.json')).toString(), '{"n":1}');
  });
});
