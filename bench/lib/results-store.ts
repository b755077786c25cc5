import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Resumable experiment results: one JSON file per (configuration, seed) under
 * results/<experiment>/. A run whose saved file was made with the same
 * configuration is skipped, so a long table can be built across interruptions;
 * a changed configuration is re-run.
 */
export class ResultsStore<R> {
  readonly dir: string;

  constructor(experiment: string, root = process.env.RECSYS_RESULTS ?? 'results') {
    this.dir = path.resolve(root, experiment);
    mkdirSync(this.dir, { recursive: true });
  }

  private file(name: string, seed: number): string {
    return path.join(this.dir, `${name}-seed${seed}.json`);
  }

  get(name: string, seed: number, config: unknown): R | undefined {
    const file = this.file(name, seed);
    if (!existsSync(file)) return undefined;
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { config: unknown; result: R };
    return JSON.stringify(saved.config) === JSON.stringify(config) ? saved.result : undefined;
  }

  put(name: string, seed: number, config: unknown, result: R): void {
    const file = this.file(name, seed);
    // Written then renamed, so an interrupted run never leaves half a result.
    writeFileSync(`${file}.tmp`, `${JSON.stringify({ config, result }, null, 1)}\n`);
    renameSync(`${file}.tmp`, file);
  }
}

export function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
}

export const pm = (xs: number[], digits = 4): string => {
  const { mean, std } = meanStd(xs);
  return `${mean.toFixed(digits)} ± ${std.toFixed(digits)}`;
};
