import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readArtifact } from '../../../models/artifact/read-artifact.js';
import { listVersions, writeArtifact } from '../../../models/artifact/write-artifact.js';

describe('model artifacts', () => {
  const registry = () => mkdtempSync(path.join(tmpdir(), 'registry-'));
  const contents = { model: 'din-test', modelType: 'din', files: { 'config.json': '{"a":1}', 'dense/weights.bin': new Uint8Array([1, 2, 3, 4]) }, metrics: { auc: 0.8 } };

  it('round-trips files and metadata through a numbered version folder', async () => {
    const reg = registry();
    const { dir, manifest } = await writeArtifact(reg, contents);
    assert.equal(path.basename(dir), 'v000001');
    const artifact = await readArtifact(dir);
    assert.deepEqual(artifact.manifest, manifest);
    assert.equal((await artifact.read('config.json')).toString(), '{"a":1}');
    assert.deepEqual([...(await artifact.read('dense/weights.bin'))], [1, 2, 3, 4]);
    assert.equal(artifact.manifest.metrics.auc, 0.8);
  });

  it('gives concurrent writers distinct versions and leaves no staging folders', async () => {
    const reg = registry();
    await Promise.all(Array.from({ length: 6 }, () => writeArtifact(reg, contents)));
    assert.deepEqual(await listVersions(reg, 'din-test'), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(readdirSync(path.join(reg, 'din-test')).filter((f) => f.startsWith('.')), []);
  });

  it('refuses a corrupt, truncated, incomplete or foreign artifact with the reason', async () => {
    const reg = registry();
    const fresh = async () => (await writeArtifact(reg, contents)).dir;

    const flipped = await fresh();
    const file = path.join(flipped, 'dense/weights.bin');
    const bytes = readFileSync(file);
    bytes[0] = bytes[0]! ^ 0xff;
    writeFileSync(file, bytes);
    await assert.rejects(readArtifact(flipped), /weights\.bin fails its sha256 check/);

    const truncated = await fresh();
    truncateSync(path.join(truncated, 'config.json'), 3);
    await assert.rejects(readArtifact(truncated), /config\.json has 3 bytes, manifest says 7/);

    const future = await fresh();
    const manifestFile = path.join(future, 'manifest.json');
    writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(readFileSync(manifestFile, 'utf8')), formatVersion: 99 }));
    await assert.rejects(readArtifact(future), /format version 99 is not supported/);

    await assert.rejects(readArtifact(path.join(reg, 'nope')), /no readable manifest\.json/);
    await assert.rejects(writeArtifact(reg, { ...contents, model: 'Bad Name' }), /model name/);
  });
});
