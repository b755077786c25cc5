import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GRAPH_MODEL_TYPES } from '../../../models/graph/graph-config.js';
import { cfConfigFile, loadCfConfig } from '../../../pipelines/training/cf-config.js';

describe('CF training configs', () => {
  it('every model type ships a valid config whose model type matches its file name', () => {
    for (const type of GRAPH_MODEL_TYPES) {
      const config = loadCfConfig(cfConfigFile(type));
      assert.equal(config.model.type, type);
      assert.equal(config.name, `ml100k-${type}`);
      const paper = cfConfigFile(type, 'paper');
      if (existsSync(paper)) assert.equal(loadCfConfig(paper).model.type, type);
    }
  });

  it('refuses a config with a stalk dimension that does not divide the width, naming the field', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cf-config-'));
    try {
      const file = path.join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify({ name: 'bad', model: { type: 'sheaf-matrix', dim: 64, stalkDim: 3 } }));
      assert.throws(() => loadCfConfig(file), /stalkDim/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
