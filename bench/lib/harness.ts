import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { heapGrowingNodeFlag } from '../../infra/v8-heap.js';

/** What the benchmarks share: flag parsing, child runs that end in a JSON line, peers, percentiles and machine load. */

type Flags = Record<string, string | boolean | undefined>;

/** Typed readers of parseArgs' string flags; each error names the flag and the value. */
export function flagReader<F extends Flags>(flags: F) {
  const raw = (name: keyof F & string): string => String(flags[name]);
  return {
    int(name: keyof F & string, min: number): number {
      const value = Number(flags[name]);
      if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${raw(name)}`);
      return value;
    },
    positive(name: keyof F & string): number {
      const value = Number(flags[name]);
      if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${raw(name)}`);
      return value;
    },
    number(name: keyof F & string): number {
      const value = Number(flags[name]);
      if (!Number.isFinite(value)) throw new Error(`--${name} must be a number, got ${raw(name)}`);
      return value;
    },
    oneOf<T extends string>(name: keyof F & string, allowed: readonly T[]): T {
      const value = raw(name);
      if (!allowed.includes(value as T)) throw new Error(`--${name} must be one of ${allowed.join(', ')}, got ${value}`);
      return value as T;
    },
  };
}

export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/** The q-quantile of an ascending array (nearest rank). */
export const quantile = (sorted: ArrayLike<number>, q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

export const meanOf = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** A bench process reports by printing one JSON line last. */
export const lastJsonLine = (text: string): unknown => JSON.parse(text.trim().split('\n').at(-1) ?? 'null');

/** Runs a command to its end (stderr passed through) and returns its last JSON line; null, after saying why, if it failed. */
export function runJsonChild<T>(command: string, args: readonly string[], what: string, options: Pick<SpawnSyncOptions, 'env'> = {}): T | null {
  const child = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24, ...options });
  if (child.status !== 0) {
    console.log(`  ${what} failed (exit ${child.status ?? child.signal})`);
    return null;
  }
  return lastJsonLine(child.stdout) as T;
}

/** Runs this bench file again as its worker (`--worker` plus args) under tsx. */
export function spawnWorker<T>(benchUrl: string, args: readonly string[], what: string, env?: NodeJS.ProcessEnv): T | null {
  // Ours runs with the heap setting every recsys process has (infra/v8-heap.ts).
  return runJsonChild<T>(process.execPath, [heapGrowingNodeFlag(env), '--import', 'tsx', fileURLToPath(benchUrl), '--worker', ...args], what, env ? { env } : {});
}

/** The PyTorch peers' interpreter (bench/peers/install.sh makes it), or null when it is not installed. */
export function peerPython(): string | null {
  const cache = process.env.RECSYS_CACHE ?? path.join(homedir(), '.cache', 'recsys');
  const python = path.join(process.env.RECSYS_TORCH_VENV ?? path.join(cache, 'torch-venv'), 'bin', 'python');
  return existsSync(python) ? python : null;
}

export const PEER_MISSING = 'PyTorch peer not installed: `bash bench/peers/install.sh` installs it; reporting ours alone';

/** The 1-minute load average before and after running `side`: above the core count, a co-tenant shared the CPUs. */
export function withLoad<T extends object>(side: () => T | null): (T & { load: [number, number] }) | null {
  const before = loadavg()[0]!;
  const result = side();
  return result && { ...result, load: [round(before, 2), round(loadavg()[0]!, 2)] };
}

/** Samples the 1-minute load average every few seconds while a bench runs; `take` returns and clears what was sampled. */
export class LoadSampler {
  private samples: number[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(everyMs = 5000) {
    this.timer = setInterval(() => this.samples.push(loadavg()[0]!), everyMs);
    this.timer.unref();
  }

  /** Mean and max of the samples since the last take (the current load when none was taken yet). */
  take(): { mean: number; max: number; samples: number[] } {
    const samples = this.samples.length > 0 ? this.samples.splice(0) : [loadavg()[0]!];
    return { mean: round(meanOf(samples), 1), max: round(Math.max(...samples), 1), samples };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
