import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** A child process running a TypeScript file through tsx, with its stdout as JSON lines. */
export interface Child {
  process: ChildProcess;
  lines: unknown[];
  stderr: string[];
  /** Resolves with the `nth` stdout JSON line that `match` accepts. */
  waitForLine<T>(match: (line: T) => boolean, timeoutMs?: number, nth?: number): Promise<T>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnTs(file: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: unknown[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: proc.stdout! }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text));
    } catch {
      lines.push(text);
    }
    for (const w of waiters) w();
  });
  createInterface({ input: proc.stderr! }).on('line', (text) => {
    stderr.push(text);
    for (const w of waiters) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    process: proc, lines, stderr, exited,
    waitForLine<T>(match: (line: T) => boolean, timeoutMs = 60_000, nth = 1): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const check = () => {
          const found = lines.filter((l) => typeof l === 'object' && l !== null && match(l as T))[nth - 1];
          if (found !== undefined) {
            done();
            resolve(found as T);
          }
        };
        const timer = setTimeout(() => { done(); reject(new Error(`no matching line within ${timeoutMs} ms; stderr: ${stderr.slice(-5).join('\n')}`)); }, timeoutMs);
        const onExit = () => { done(); reject(new Error(`child exited before a matching line; stderr: ${stderr.slice(-10).join('\n')}`)); };
        const done = () => { clearTimeout(timer); waiters.delete(check); proc.off('exit', onExit); };
        waiters.add(check);
        proc.once('exit', onExit);
        check();
      });
    },
  };
}
