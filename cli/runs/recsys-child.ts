import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';

/** What a `recsys` child printed: its human lines, and its closing JSON summary. */
export interface RecsysChildResult<Summary> {
  lines: string[];
  summary: Summary;
}

export interface RecsysChild<Summary> {
  readonly pid: number | undefined;
  readonly done: Promise<RecsysChildResult<Summary>>;
  kill(): void;
}

/** How much of a failed child's stderr an error quotes. */
const STDERR_TAIL_LINES = 30;

/**
 * Runs `recsys <command> <args>` in a process of its own, with the same Node
 * flags and entry point as this one, so that independent training steps
 * overlap: one training process rarely keeps both of a small machine's cores
 * busy (op dispatch and the embedding tables' loops run on one thread). The
 * command must end its output with one JSON line (its summary). Resolves with
 * its output once it exits 0; rejects, quoting the end of its stderr,
 * otherwise. `env` is added to this process's environment; `priority` is the
 * child's niceness (higher yields the CPU to this process).
 */
export function spawnRecsys<Summary>(command: string, args: readonly string[], { env = {}, priority }: { env?: NodeJS.ProcessEnv; priority?: number } = {}): RecsysChild<Summary> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, command, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  if (priority !== undefined && child.pid !== undefined) setPriority(child.pid, priority);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const done = new Promise<RecsysChildResult<Summary>>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const lines = stdout.split('\n').filter((l) => l.trim() !== '');
      const last = lines.at(-1);
      if (code !== 0 || last === undefined) {
        const tail = stderr.split('\n').slice(-STDERR_TAIL_LINES).join('\n');
        reject(new Error(`recsys ${command} ${args.join(' ')} ${signal ? `was killed by ${signal}` : `exited with ${code}`}${tail ? `:\n${tail}` : ''}`));
        return;
      }
      try {
        const summary = JSON.parse(last) as Summary;
        resolve({ lines: lines.slice(0, -1), summary });
      } catch (error) {
        reject(new Error(`recsys ${command} ended without its JSON summary (last line: ${last.slice(0, 200)})`, { cause: error }));
      }
    });
  });
  // Awaited only when its result is needed: until then a failure must not count as unhandled.
  done.catch(() => undefined);
  return { pid: child.pid, done, kill: () => child.kill('SIGTERM') };
}
