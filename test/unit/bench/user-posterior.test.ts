import assert from 'node:assert/strict';
import fc from 'fast-check';
import { syntheticImpressions } from '../../../features/datasets/synthetic.js';
import { buildSyntheticWorld, userClickProbability } from '../../../features/datasets/synthetic-world.js';
import { auc } from '../../../features/math/auc.js';
import { createRng } from '../../../features/math/rng.js';
import { InformedLearner, interestTerm, interestTermMoments, knownTerms } from '../../../bench/lib/informed-learner.js';
import { solveSpd, UserPosterior, type Impression, type UserPrior } from '../../../bench/lib/user-posterior.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);

describe('informed learner (bench/lib)', () => {
  const prior: UserPrior = { categories: 5, latentDim: 3, interestMean: -0.5, interestVariance: 1.5 };

  it('solves a symmetric positive-definite system', () => {
    const m = Float64Array.from([4, 1, 0, 1, 3, 0.5, 0, 0.5, 2]);
    const x = solveSpd(m, Float64Array.from([1, 2, 3]), 3);
    for (let i = 0; i < 3; i++) close(m[i * 3]! * x[0]! + m[i * 3 + 1]! * x[1]! + m[i * 3 + 2]! * x[2]!, i + 1, 1e-12, `row ${i}`);
  });

  it('before any impression: the prior mean and variance of the logit', () => {
    const p = new UserPosterior(prior);
    const x: Impression = { category: 2, z: [0.5, -1, 2], offset: 0.3 };
    const { mean, variance } = p.logitMoments(x);
    close(mean, 0.3 - 0.5, 1e-12, 'mean');
    close(variance, 1.5 + 0.25 + 1 + 4, 1e-9, 'variance');
  });

  it('recovers a planted user from many impressions, and then predicts the true probability', () => {
    const rng = createRng(3);
    const v = [1, -2, 0, 0.5, -1], a = [0.8, -0.5, 1.2];
    const xs: Impression[] = [];
    const labels: number[] = [];
    const truth = (x: Impression) => sigmoid(x.offset + v[x.category]! + a.reduce((s, ad, d) => s + ad * Number(x.z[d]), 0));
    for (let n = 0; n < 20_000; n++) {
      const x = { category: rng.int(5), z: [rng.normal() * 0.5, rng.normal() * 0.5, rng.normal() * 0.5], offset: rng.normal() * 0.5 - 1 };
      xs.push(x);
      labels.push(rng.next() < truth(x) ? 1 : 0);
    }
    const p = new UserPosterior(prior);
    p.observeMany(xs, labels);
    v.forEach((vc, c) => close(p.v[c]!, vc, 0.12, `v[${c}]`));
    a.forEach((ad, d) => close(p.a[d]!, ad, 0.08, `a[${d}]`));
    const errors = xs.slice(0, 500).map((x) => Math.abs(p.predict(x) - truth(x)));
    close(errors.reduce((s, e) => s + e, 0) / errors.length, 0, 0.01, 'mean |predictive − true probability|');
    close(Math.max(...errors), 0, 0.04, 'largest |predictive − true probability|');
  });

  it('is sure of nothing it has not seen: observing an impression shrinks the logit variance there', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 4 }), fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 3, maxLength: 3 }), fc.double({ min: -3, max: 1, noNaN: true }), fc.boolean(),
      (category, z, offset, clicked) => {
        const p = new UserPosterior(prior);
        const x = { category, z, offset };
        const before = p.logitMoments(x).variance;
        p.observe(x, clicked ? 1 : 0);
        const after = p.logitMoments(x);
        const probability = p.predict(x);
        return after.variance < before && probability > 0 && probability < 1 && (clicked ? after.mean > offset - 0.5 : after.mean < offset - 0.5);
      },
    ), { numRuns: 50 });
  });

  it('given a user\'s true parameters, its logit is the generator\'s click probability', () => {
    const world = buildSyntheticWorld({ seed: 5, users: 20, items: 200 });
    const rng = createRng(9);
    for (let n = 0; n < 200; n++) {
      const user = world.user[rng.int(world.users)]!;
      const i = rng.int(world.items);
      const recent = Array.from({ length: rng.int(11) }, () => rng.int(world.categories));
      const progress = rng.next();
      const x = knownTerms(world, recent, i);
      const theta = (1 - progress) * user.from[x.category]! + progress * user.to[x.category]!;
      let dot = 0;
      for (let d = 0; d < world.latentDim; d++) dot += user.latent[d]! * x.z[d]!;
      close(sigmoid(x.offset + interestTerm(world, theta) + dot), userClickProbability(world, user, i, recent, progress), 1e-12, `impression ${n}`);
    }
  });

  it('the interest prior matches the Dirichlet: more spread for focused users', () => {
    const focused = interestTermMoments(0.3, 20, 0.9, 0, 2000, 1);
    const broad = interestTermMoments(5, 20, 0.9, 0, 2000, 1);
    assert.ok(focused.interestVariance > broad.interestVariance);
    assert.ok(focused.interestMean < broad.interestMean && broad.interestMean < 0);
  });

  it('on a small drifting stream, learns users well above chance and below the Bayes AUC', () => {
    const options = { seed: 11, users: 100, items: 500, events: 20_000, abruptDriftAt: 0.5 };
    const labels: number[] = [];
    const probabilities: number[] = [];
    const stream: { user: number; item: number; label: number }[] = [];
    for (const { event, probability } of syntheticImpressions(options)) {
      labels.push(event.label!);
      probabilities.push(probability);
      stream.push({ user: Number(event.user_id.slice(1)), item: Number(event.item_id.slice(1)), label: event.label! });
    }
    const scores = new InformedLearner(options, { priorSamples: 2000 }).run(stream);
    const tail = (xs: ArrayLike<number>) => Array.from(xs).slice(16_000);
    const learned = auc(tail(labels), tail(scores));
    const bayes = auc(tail(labels), tail(probabilities));
    assert.ok(learned > 0.65 && learned < bayes, `informed ${learned.toFixed(3)}, Bayes ${bayes.toFixed(3)}`);
  });
});
