import assert from 'node:assert/strict';
import { FeatureEncoder } from '../../../features/spec/feature-encoder.js';
import { parseFeatureSpec, loadFeatureSpec } from '../../../features/spec/feature-spec.js';
import { PAD_ID, UNKNOWN_ID, bucketize } from '../../../features/spec/vocabulary.js';
import type { Example } from '../../../features/samples/example.js';
import { ML100K_SPEC_FILE } from '../../../features/datasets/movielens-ctr.js';

const spec = parseFeatureSpec({
  name: 't', version: 1, label: { from: 'value', threshold: 4 }, exampleTypes: ['rating'],
  behaviour: { types: ['rating'], positiveOnly: true, maxLength: 4 },
  fields: [
    { kind: 'categorical', name: 'item_id', source: 'item_id' },
    { kind: 'categorical', name: 'category', source: 'item.category' },
    { kind: 'categorical', name: 'zip', source: 'user.zip', transform: 'first_char' },
    { kind: 'categorical', name: 'device', source: 'context.device', vocab: { type: 'hash' } },
    { kind: 'numeric', name: 'age', source: 'user.age', boundaries: [18, 25, 35] },
    { kind: 'multi', name: 'genres', source: 'item.genres', maxLength: 2 },
    { kind: 'sequence', name: 'hist_items', of: 'item_id', maxLength: 3 },
    { kind: 'sequence', name: 'hist_categories', of: 'category', maxLength: 3 },
  ],
});

const items: Record<string, { category: string; genres: string[] }> = {
  a: { category: 'x', genres: ['g1', 'g2', 'g3'] },
  b: { category: 'y', genres: ['g2'] },
  c: { category: 'x', genres: [] },
};
const example = (item: string, history: string[], user: Record<string, string | number>, device?: string): Example => ({
  event: { schema_version: 1, type: 'rating', event_id: item, ts: 1e12, user_id: 'u', item_id: item, value: 5, ...(device ? { context: { device } } : {}) },
  label: 1,
  user,
  item: items[item] ?? {},
  history: history.map((h, k) => ({ item_id: h, ts: 1e12 - k })),
  itemAttributes: (id) => items[id] ?? {},
});

describe('feature encoder', () => {
  const train = [example('a', [], { zip: '94043', age: 17 }), example('b', ['a'], { zip: '10001', age: 30 }), example('a', ['b', 'a'], { zip: '94110', age: 60 })];
  const encoder = FeatureEncoder.fit(spec, train);

  it('gives history items and candidate items the same ids', () => {
    const batch = encoder.encode([example('b', ['a', 'b'], { zip: '9', age: 20 })]);
    const { ids, lengths } = batch.lists.hist_items!;
    assert.equal(lengths[0], 2);
    assert.equal(ids[0], encoder.idOf('item_id', 'a'));
    assert.equal(ids[1], batch.single.item_id![0]);
    assert.equal(ids[2], PAD_ID);
    assert.equal(batch.lists.hist_categories!.ids[0], encoder.idOf('category', 'x'));
  });

  it('maps unseen and missing values to the unknown id, and buckets numbers', () => {
    const batch = encoder.encode([example('zzz', ['zzz'], {})]);
    assert.equal(batch.single.item_id![0], UNKNOWN_ID);
    assert.equal(batch.single.category![0], UNKNOWN_ID);
    assert.equal(batch.single.age![0], UNKNOWN_ID);
    assert.equal(batch.lists.hist_items!.ids[0], UNKNOWN_ID);
    assert.deepEqual([17, 18, 24.9, 25, 99].map((x) => bucketize(x, [18, 25, 35])), [0, 1, 1, 2, 3]);
    assert.equal(encoder.encode([train[0]!]).single.age![0], 2 + 0);
    assert.equal(encoder.cardinality('age'), 4 + 2);
  });

  it('truncates multi-valued fields and applies transforms', () => {
    const batch = encoder.encode([train[0]!]);
    assert.equal(batch.lists.genres!.lengths[0], 2);
    assert.equal(batch.single.zip![0], encoder.idOf('zip', '9'));
    assert.notEqual(encoder.idOf('zip', '9'), UNKNOWN_ID);
  });

  it('hashes hashed fields stably and without a vocabulary', () => {
    const [one, two] = [encoder.encode([example('a', [], {}, 'ios')]), encoder.encode([example('a', [], {}, 'ios')])];
    assert.equal(one.single.device![0], two.single.device![0]);
    assert.ok(one.single.device![0]! >= 2);
    assert.equal(encoder.cardinality('device'), undefined);
  });

  it('round-trips through JSON and encodes identically (the serving path)', () => {
    const restored = FeatureEncoder.fromJSON(JSON.parse(JSON.stringify(encoder.toJSON())));
    const batch = [example('b', ['a'], { zip: '1', age: 40 }, 'web')];
    assert.deepEqual(restored.encode(batch), encoder.encode(batch));
  });

  it('refuses invalid specs with the reason', () => {
    assert.throws(() => parseFeatureSpec({ ...spec, fields: [...spec.fields, { kind: 'sequence', name: 's', of: 'zip', maxLength: 2 }] }), /'of' must name an item-side categorical field/);
    assert.throws(() => parseFeatureSpec({ ...spec, fields: [{ kind: 'numeric', name: 'x', source: 'user.age', boundaries: [3, 2] }] }), /strictly increasing/);
    assert.throws(() => parseFeatureSpec({ ...spec, fields: [{ kind: 'categorical', name: 'x', source: 'bogus' }] }), /source/);
    assert.ok(loadFeatureSpec(ML100K_SPEC_FILE).fields.length >= 10);
  });

  it('crosses fields: one id per combination of the sources\' values, unknown when a source is missing', () => {
    const crossSpec = parseFeatureSpec({
      name: 'c', version: 1, label: { from: 'value', threshold: 4 }, exampleTypes: ['rating'],
      behaviour: { types: ['rating'], positiveOnly: true, maxLength: 4 },
      fields: [
        { kind: 'categorical', name: 'item_id', source: 'item_id' },
        { kind: 'cross', name: 'zip_x_category', sources: ['user.zip', 'item.category'] },
      ],
    });
    const crossEncoder = FeatureEncoder.fit(crossSpec, train);
    const ids = crossEncoder.encode([
      example('a', [], { zip: '94043' }), example('c', [], { zip: '94043' }), example('b', [], { zip: '94043' }),
      example('a', [], { zip: '10001' }), example('a', [], {}),
    ]).single.zip_x_category!;
    assert.equal(ids[0], ids[1], 'same zip, same category (a and c are both x)');
    assert.notEqual(ids[0], ids[2], 'same zip, other category');
    assert.equal(ids[3], UNKNOWN_ID, '10001 × x was never seen in training');
    assert.equal(ids[4], UNKNOWN_ID, 'no zip: no cross');
    assert.equal(crossEncoder.cardinality('zip_x_category'), 3 + 2, 'three combinations in training, plus padding and unknown');
    assert.throws(() => parseFeatureSpec({ ...crossSpec, fields: [{ kind: 'cross', name: 'x', sources: ['user_id'] }] }), /invalid feature spec/);
  });
});
