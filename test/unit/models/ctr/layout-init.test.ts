import assert from 'node:assert/strict';
import { buildLongtailWorld, longtailEncoder, longtailExamples } from '../../../../features/datasets/longtail-world.js';
import { createCtrModel } from '../../../../models/create-model.js';

describe('per-field layout: row init from the model config', () => {
  const world = buildLongtailWorld({ examples: 2000, fields: [{ name: 'user', vocabulary: 300, exponent: 1 }, { name: 'item', vocabulary: 200, exponent: 1 }], pairs: [] });
  const encoder = longtailEncoder(world, longtailExamples(world));
  const largest = (model: ReturnType<typeof createCtrModel>) => Math.max(...model.layout.tables.map((t) => t.weights.reduce((m, w) => Math.max(m, Math.abs(w)), 0)));

  it('fills fresh rows as the config says, and keeps ±1/√dim when it says nothing', () => {
    const small = createCtrModel(encoder, { type: 'dnn', embedding: { kind: 'per-field', dim: 16, init: { kind: 'uniform', scale: 0.01 } } });
    const plain = createCtrModel(encoder, { type: 'dnn', embedding: { kind: 'per-field', dim: 16 } });
    try {
      assert.ok(largest(small) <= 0.01 && largest(small) > 0.005, `largest |w| ${largest(small)}`);
      assert.ok(largest(plain) > 0.2 && largest(plain) <= 0.25, `largest |w| ${largest(plain)}`);
    } finally {
      small.dispose();
      plain.dispose();
    }
  });

  it('refuses a negative scale, naming it', () => {
    assert.throws(() => createCtrModel(encoder, { type: 'dnn', embedding: { kind: 'per-field', dim: 16, init: { kind: 'uniform', scale: -1 } } }), /scale/);
  });
});
