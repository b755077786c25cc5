// `npm run bench -- <name> [args]` runs bench/<name>.ts; `npm run experiment -- <name>`
// runs bench/experiments/<name>.ts. Each prints its figures and ends with one JSON line.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { heapGrowingPercentFromEnv, setHeapGrowingPercent } from '../infra/v8-heap.js';

export async function runNamed(kind: 'bench' | 'experiment', dir: string): Promise<void> {
  const available = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !['run.ts', 'experiment.ts'].includes(f))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
  const name = process.argv[2];
  if (!name || name === '--help' || name === '-h' || !available.includes(name)) {
    console.log(`usage: npm run ${kind} -- <name> [options]\n\navailable: ${available.join(', ') || '(none yet)'}`);
    process.exitCode = name && name !== '--help' && name !== '-h' ? 2 : 0;
    return;
  }
  process.argv.splice(2, 1);
  // In-process benches and experiments train as recsys processes do (infra/v8-heap.ts).
  setHeapGrowingPercent(heapGrowingPercentFromEnv());
  const file = path.join(dir, `${name}.ts`);
  if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
    console.log(headerComment(file));
    return;
  }
  await import(file);
}

/** A script's help: the comment it opens with (what it measures, its flags, its command line). */
function headerComment(file: string): string {
  const lines: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('//')) break;
    lines.push(line.replace(/^\/\/ ?/, ''));
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runNamed('bench', path.dirname(fileURLToPath(import.meta.url)));
}
