import { createRng } from '../../features/math/rng.js';
import { ValidationError } from '../../infra/errors.js';

export interface EvolutionOptions {
  /** Candidates in the first generation. */
  population: number;
  generations: number;
  /** Best candidates kept as parents of the next generation. */
  topK: number;
  /** Children by mutation and by crossover per generation. */
  mutations: number;
  crossovers: number;
  /** Chance that a mutation resamples each field. */
  mutationProbability: number;
  seed: number;
}

export interface SearchResult {
  best: Int32Array;
  fitness: number;
  /** Distinct candidates scored. */
  evaluated: number;
  /** Best fitness after each generation. */
  history: number[];
}

/** How often a constrained sampler may try before the constraint is declared unsatisfiable. */
const MAX_TRIES = 10_000;

/**
 * OptEmbed's evolutionary search over per-field sizes: a random first
 * population (each field uniform in 1..max), then each generation keeps the
 * top k of everything scored so far and breeds children by mutation
 * (resample each field with a probability) and uniform crossover. Candidates
 * that break the constraint (e.g. a parameter budget) are resampled, never
 * scored; one scored before is not scored again. Deterministic for a seed
 * and a deterministic fitness.
 */
export function evolutionarySearch(
  max: ArrayLike<number>,
  fitness: (candidate: Int32Array) => number,
  options: EvolutionOptions,
  allowed: (candidate: Int32Array) => boolean = () => true,
  onGeneration?: (generation: number, best: number) => void,
): SearchResult {
  const { population, generations, topK, mutations, crossovers, mutationProbability, seed } = options;
  if (!(population >= 1 && generations >= 1 && topK >= 1)) {
    throw new ValidationError('evolutionary search needs population, generations and topK ≥ 1', [JSON.stringify({ population, generations, topK })]);
  }
  const rng = createRng(seed).fork(41);
  const n = max.length;
  const sample = (field: number) => 1 + rng.int(max[field]!);
  const draw = (make: () => Int32Array): Int32Array => {
    for (let i = 0; i < MAX_TRIES; i++) {
      const c = make();
      if (allowed(c)) return c;
    }
    throw new ValidationError('evolutionary search: no candidate satisfies the constraint (budget too small?)', [`tried ${MAX_TRIES} candidates`]);
  };
  const scored = new Map<string, { candidate: Int32Array; fitness: number }>();
  const score = (c: Int32Array) => {
    const key = c.join(',');
    if (!scored.has(key)) scored.set(key, { candidate: c, fitness: fitness(c) });
  };
  const top = () => [...scored.values()].sort((a, b) => b.fitness - a.fitness || a.candidate.join(',').localeCompare(b.candidate.join(','))).slice(0, topK);

  for (let i = 0; i < population; i++) score(draw(() => Int32Array.from({ length: n }, (_, f) => sample(f))));
  const history: number[] = [];
  for (let g = 0; g < generations; g++) {
    if (g > 0) {
      const parents = top();
      const pick = () => parents[rng.int(parents.length)]!.candidate;
      for (let i = 0; i < mutations; i++) {
        score(draw(() => Int32Array.from(pick(), (v, f) => (rng.next() < mutationProbability ? sample(f) : v))));
      }
      for (let i = 0; i < crossovers; i++) {
        score(draw(() => {
          const [a, b] = [pick(), pick()];
          return Int32Array.from(a, (v, f) => (rng.next() < 0.5 ? v : b[f]!));
        }));
      }
    }
    history.push(top()[0]!.fitness);
    onGeneration?.(g + 1, history[history.length - 1]!);
  }
  const best = top()[0]!;
  return { best: best.candidate, fitness: best.fitness, evaluated: scored.size, history };
}
