import { spawn } from 'node:child_process';

/** What a `recsys train-cf` child printed: its human lines, and its closing JSON summary. */
export interface CfChildResult {
  lines: string[];
  summary: Record<string, unknown> & { name: string; version: number };
  seconds: number;
}

export interface CfChild {
  readonly pid: number | undefined;
  readonly done: Promise<CfChildResult>;
  kill(): void;
}

/** How much of a failed child's stderr an error quotes. */
const STDERR_TAIL_LINES = 30;

/**
 * Runs `recsys train-cf <args>` in a process of its own, with the same Node
 * flags and entry point as this one, so that graph training overlaps other
 * work: one training process rarely keeps both of a small machine's cores
 * busy (op dispatch and the embedding tables' loops run on one thread).
 * Resolves with its output once it exits 0; rejects, quoting the end of its
 * stderr, otherwise.
 */
export function spawnCfTraining(args: readonly string[]): CfChild {
  const started = performance.now();
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'train-cf', ...args, '--no-progress'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const done = new Promise<CfChildResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const lines = stdout.split('\n').filter((l) => l.trim() !== '');
      const last = lines.at(-1);
      if (code !== 0 || last === undefined) {
        const tail = stderr.split('\n').slice(-STDERR_TAIL_LINES).join('\n');
        reject(new Error(`recsys train-cf ${args.join(' ')} ${signal ? `was killed by ${signal}` : `exited with ${code}`}${tail ? `:\n${tail}` : ''}`));
        return;
      }
      try {
        const summary = JSON.parse(last) as CfChildResult['summary'];
        resolve({ lines: lines.slice(0, -1), summary, seconds: (performance.now() - started) / 1000 });
      } catch (error) {
        reject(new Error(`recsys train-cf ended without its JSON summary (last line: ${last.slice(0, 200)})`, { cause: error }));
      }
    });
  });
  // Awaited only when its result is needed: until then a failure must not count as unhandled.
  done.catch(() => undefined);
  return { pid: child.pid, done, kill: () => child.kill('SIGTERM') };
}
