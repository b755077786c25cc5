import assert from 'node:assert/strict';
import {
  buildLongtailWorld, encodeLongtail, HISTORY_FIELD, LONGTAIL_FIELDS, longtailCounts, longtailEncoder, longtailExamples, longtailIdCount, longtailReport,
  resolveLongtailWorldOptions, sliceLongtail, zipfCdf,
} from '../../../features/datasets/longtail-world.js';
import { auc } from '../../../features/math/auc.js';
import { createRng } from '../../../features/math/rng.js';
import { FIRST_ID, UNKNOWN_ID } from '../../../features/spec/vocabulary.js';

/** The default fields at 1/100 of their vocabularies: the same shape, fast to build. */
const small = {
  examples: 20_000,
  fields: LONGTAIL_FIELDS.map((f) => ({ ...f, vocabulary: Math.max(24, Math.round(f.vocabulary / 100)) })),
};

describe('long-tail world (Zipf fields, every id with signal)', () => {
  it('is deterministic from its seed', () => {
    const a = longtailExamples(buildLongtailWorld({ ...small, seed: 3 }));
    const b = longtailExamples(buildLongtailWorld({ ...small, seed: 3 }));
    const c = longtailExamples(buildLongtailWorld({ ...small, seed: 4 }));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.ids[0], c.ids[0]);
    assert.notDeepEqual(a.probability, c.probability);
  });

  it('has over 2M distinct ids over at least 8 fields by default', () => {
    const o = resolveLongtailWorldOptions();
    assert.ok(o.fields.length >= 8, `${o.fields.length} fields`);
    assert.equal(longtailIdCount(), 2_096_024);
    assert.ok(longtailIdCount() >= 2_000_000);
  });

  it('draws ids with Zipf frequencies: the head and the tail hold the shares the exponent implies', () => {
    const vocabulary = 10_000;
    const world = buildLongtailWorld({ examples: 200_000, fields: [{ name: 'user', vocabulary: 100, exponent: 0.5 }, { name: 'item', vocabulary, exponent: 1 }], pairs: [] });
    const counts = longtailCounts(world, longtailExamples(world))[1]!;
    const cdf = zipfCdf(vocabulary, 1);
    const total = cdf[vocabulary - 1]!;
    const share = (from: number, to: number) => {
      let s = 0;
      for (let r = from; r < to; r++) s += counts[r]!;
      return s / 200_000;
    };
    // Top 1% of the ids: H(100)/H(10000) ≈ 0.53 of the draws; the bottom half: ln 2 / H(10000) ≈ 0.071.
    assert.ok(Math.abs(share(0, 100) - cdf[99]! / total) < 0.005, `head share ${share(0, 100)} vs ${cdf[99]! / total}`);
    assert.ok(Math.abs(share(5000, vocabulary) - (total - cdf[4999]!) / total) < 0.003, `tail share ${share(5000, vocabulary)} vs ${(total - cdf[4999]!) / total}`);
    // Rank 1 is drawn about 10 times as often as rank 10 (2/20 = 1/10 … within sampling noise).
    assert.ok(Math.abs(counts[0]! / counts[9]! - 10) < 1, `count ratio ${counts[0]! / counts[9]!}`);
    // Frequencies fall with rank: every decade of ranks is rarer per id than the one before.
    const perId = [[0, 10], [10, 100], [100, 1000], [1000, 10000]].map(([a, b]) => share(a!, b!) / (b! - a!));
    for (let i = 1; i < perId.length; i++) assert.ok(perId[i]! < perId[i - 1]! / 5, `per-id share by decade ${perId.join(', ')}`);
  });

  it('shows as many distinct ids in a sample as the Zipf law predicts', () => {
    const world = buildLongtailWorld(small);
    const examples = longtailExamples(world);
    const { distinctIds } = longtailReport(world, examples);
    let expected = 0;
    world.options.fields.forEach((f) => {
      const cdf = zipfCdf(f.vocabulary, f.exponent);
      const total = cdf[f.vocabulary - 1]!;
      for (let r = 0; r < f.vocabulary; r++) expected += 1 - (1 - (cdf[r]! - (r > 0 ? cdf[r - 1]! : 0)) / total) ** examples.size;
    });
    assert.ok(Math.abs(distinctIds - expected) / expected < 0.02, `${distinctIds} distinct ids, expected ${expected.toFixed(0)}`);
  });

  it('has a Bayes AUC well above a random score\'s, and rare ids carry as much signal per id as frequent ones', () => {
    const world = buildLongtailWorld(small);
    const examples = longtailExamples(world);
    const report = longtailReport(world, examples);
    const rng = createRng(5);
    const random = auc(examples.labels, Float64Array.from({ length: examples.size }, () => rng.next()));
    assert.ok(Math.abs(random - 0.5) < 0.02, `random AUC ${random}`);
    assert.ok(report.bayesAuc > 0.8, `Bayes AUC ${report.bayesAuc}`);
    assert.ok(report.clickRate > 0.1 && report.clickRate < 0.6, `click rate ${report.clickRate}`);
    // The main effects of the tail half of the user ids spread as widely as the head's.
    const effect = world.effect[world.userField]!;
    const spread = (from: number, to: number) => Math.sqrt(effect.subarray(from, to).reduce((s, x) => s + x * x, 0) / (to - from));
    const users = effect.length;
    assert.ok(Math.abs(spread(0, users / 2) - spread(users / 2, users)) < 0.1, `${spread(0, users / 2)} vs ${spread(users / 2, users)}`);
  });

  it('gives ids seen in training a row and the rest the unknown id; histories share the item vocabulary', () => {
    const world = buildLongtailWorld(small);
    const examples = longtailExamples(world);
    const train = sliceLongtail(examples, 0, 16_000);
    const test = sliceLongtail(examples, 16_000, 20_000);
    const encoder = longtailEncoder(world, train);
    const counts = longtailCounts(world, train);
    const batch = encodeLongtail(world, encoder, test);
    world.options.fields.forEach((f, i) => {
      if (f.name === 'item') return; // items seen only in histories get rows too
      const seen = counts[i]!.reduce((n, c) => n + (c > 0 ? 1 : 0), 0);
      assert.equal(encoder.cardinality(f.name), seen + FIRST_ID, f.name);
      for (let n = 0; n < test.size; n++) {
        const id = batch.single[f.name]![n]!;
        assert.equal(id === UNKNOWN_ID, counts[i]![test.ids[i]![n]!] === 0, `${f.name} example ${n}`);
      }
    });
    const { ids, lengths, maxLength } = batch.lists[HISTORY_FIELD]!;
    const { offsets, items } = world.history;
    for (let n = 0; n < test.size; n += 97) {
      const u = test.ids[world.userField]![n]!;
      assert.equal(lengths[n], offsets[u + 1]! - offsets[u]!);
      assert.ok(lengths[n]! >= world.options.minHistory && lengths[n]! <= world.options.maxHistory);
      for (let j = 0; j < lengths[n]!; j++) assert.equal(ids[n * maxLength + j], encoder.idOf('item', String(items[offsets[u]! + j])));
    }
    assert.deepEqual(Array.from(batch.labels.subarray(0, 50)), Array.from(test.labels.subarray(0, 50)));
  });

  it('refuses bad options, naming them', () => {
    assert.throws(() => resolveLongtailWorldOptions({ examples: 0 }), /examples must be a positive integer, got 0/);
    assert.throws(() => resolveLongtailWorldOptions({ fields: [{ name: 'user', vocabulary: 10, exponent: 1 }] }), /a field named item is required/);
    assert.throws(() => resolveLongtailWorldOptions({ pairs: [['user', 'nope']] }), /pair \[user, nope\]/);
    assert.throws(() => resolveLongtailWorldOptions({ minHistory: 10, maxHistory: 5 }), /maxHistory must be an integer ≥ minHistory \(10\), got 5/);
  });
});
