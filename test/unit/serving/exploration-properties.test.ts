import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRng } from '../../../features/math/rng.js';
import { EXPLORATION_BOUNDS, ExplorationSchema, parseDecision, type Exploration } from '../../../pipelines/decisions/decision-record.js';
import { encodeDecision } from '../../../pipelines/decisions/encode-decision.js';
import { buildDecision } from '../../../serving/decision-builder.js';
import { explore, nextPositionProbabilities } from '../../../serving/exploration.js';

/** Temperatures at and near the bounds, where weights underflow or flatten out. */
const TEMPERATURES = [EXPLORATION_BOUNDS.minTemperature, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 1, 100, EXPLORATION_BOUNDS.maxTemperature];

const explorationArb: fc.Arbitrary<Exploration> = fc.oneof(
  fc.constant({ scheme: 'none' as const }),
  fc.oneof(fc.constantFrom(0, EXPLORATION_BOUNDS.minEpsilon, 1), fc.double({ min: EXPLORATION_BOUNDS.minEpsilon, max: 1, noNaN: true }))
    .map((epsilon) => ({ scheme: 'epsilon-greedy' as const, epsilon })),
  fc.oneof(fc.constantFrom(...TEMPERATURES), fc.double({ min: EXPLORATION_BOUNDS.minTemperature, max: EXPLORATION_BOUNDS.maxTemperature, noNaN: true }))
    .map((temperature) => ({ scheme: 'softmax' as const, temperature })),
);

/** Click probabilities as a ranker gives them: spread out, tied, or a hair apart. */
const scoresArb = fc.oneof(
  fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 60 }),
  fc.array(fc.constantFrom(0.5, 0.5000001, 0.49, 0.1, 0.9, 1e-9), { minLength: 1, maxLength: 60 }),
  fc.integer({ min: 1, max: 200 }).map((n) => Array.from({ length: n }, (_, i) => 1 - i / n)),
);

describe('exploration: properties of the logged propensities', function () {
  this.timeout(120_000);

  it('over random scores, k ≥ candidates and extreme temperatures: every propensity is in (0, 1], is the policy probability, and every decision passes the decision schema', () => {
    fc.assert(
      fc.property(scoresArb, fc.integer({ min: 1, max: 500 }), explorationArb, fc.integer(), (raw, k, exploration, seed) => {
        assert.ok(ExplorationSchema.safeParse(exploration).success, `the generator stays within the schema: ${JSON.stringify(exploration)}`);
        const scores = [...raw].sort((a, b) => b - a);
        const rng = createRng(seed);
        const placements = explore(scores, k, exploration, () => rng.next());
        assert.equal(placements.length, Math.min(k, scores.length));
        assert.equal(new Set(placements.map((p) => p.index)).size, placements.length, 'no item twice');
        placements.forEach((p, position) => assert.ok(p.propensity > 0 && p.propensity <= 1, `position ${position}: propensity ${p.propensity}`));
        const ranked = scores.map((score, i) => ({ item_id: `i${i}`, score, retrieval_score: null }));
        const { record } = buildDecision({
          requestId: 'r1', userId: 'u1', ts: 1_800_000_000_000, exploration, k, ranked, placements,
          models: { ranker: { name: 'din', version: 1 }, retrieval: null },
        });
        const encoded = encodeDecision(record);
        assert.ok(encoded.ok, encoded.ok ? '' : encoded.reason);
        const parsed = parseDecision(encoded.json);
        assert.ok(parsed.ok, parsed.ok ? '' : `ingestion would dead-letter it: ${parsed.reason}`);
        placements.forEach((p, position) => {
          const exact = nextPositionProbabilities(scores, placements.slice(0, position).map((q) => q.index), exploration).get(p.index);
          assert.equal(p.propensity, exact, `position ${position}: logged ${p.propensity}, policy ${exact}`);
        });
      }),
      { numRuns: 600, seed: 17 },
    );
  });

  it('the probabilities the policy gives the remaining items sum to 1 at every position', () => {
    fc.assert(
      fc.property(scoresArb, explorationArb, fc.integer(), (raw, exploration, seed) => {
        const scores = [...raw].sort((a, b) => b - a);
        const rng = createRng(seed);
        const placed = explore(scores, scores.length, exploration, () => rng.next()).map((p) => p.index);
        for (let position = 0; position < placed.length; position++) {
          const probs = [...nextPositionProbabilities(scores, placed.slice(0, position), exploration).values()];
          const total = probs.reduce((a, b) => a + b, 0);
          assert.ok(Math.abs(total - 1) < 1e-9, `position ${position}: sum ${total}`);
          assert.ok(probs.every((p) => p >= 0 && p <= 1), `position ${position}: ${probs.join(', ')}`);
        }
      }),
      { numRuns: 300, seed: 18 },
    );
  });

  it('regression: the last of two softmax picks has propensity exactly 1, not 1.0000000000000002 (a running total left rounding residue)', () => {
    for (let seed = 0; seed < 50; seed++) {
      const rng = createRng(seed);
      const [first, last] = explore([0.0035551493238114035, 0], 2, { scheme: 'softmax', temperature: 1 }, () => rng.next());
      assert.ok(first!.propensity > 0 && first!.propensity < 1, `seed ${seed}: first ${first!.propensity}`);
      assert.equal(last!.propensity, 1, `seed ${seed}: last ${last!.propensity}`);
    }
  });

  it('exploration parameters outside the bounds are refused, naming the bound', () => {
    for (const [exploration, message] of [
      [{ scheme: 'softmax', temperature: 1e-9 }, /temperature must be in \[1e-6, 1e6\]/],
      [{ scheme: 'softmax', temperature: 5e-324 }, /temperature must be in/],
      [{ scheme: 'softmax', temperature: 1e7 }, /temperature must be in/],
      [{ scheme: 'softmax', temperature: 0 }, /temperature must be in/],
      [{ scheme: 'epsilon-greedy', epsilon: 1e-12 }, /ε must be 0 or at least 1e-6/],
      [{ scheme: 'epsilon-greedy', epsilon: 1.5 }, /ε must be in \[0, 1\]/],
      [{ scheme: 'epsilon-greedy', epsilon: -0.1 }, /ε must be in \[0, 1\]/],
    ] as const) {
      const result = ExplorationSchema.safeParse(exploration);
      assert.equal(result.success, false, JSON.stringify(exploration));
      if (!result.success) assert.match(result.error.issues.map((i) => i.message).join('; '), message);
    }
    assert.ok(ExplorationSchema.safeParse({ scheme: 'epsilon-greedy', epsilon: 0 }).success);
    assert.ok(ExplorationSchema.safeParse({ scheme: 'softmax', temperature: 0.05 }).success);
  });
});
