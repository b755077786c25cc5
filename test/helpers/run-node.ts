import { execFile } from 'node:child_process';

export interface NodeRun {
  /** The exit code; null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node --import tsx <args>` to completion, as the CLI tests and the
 * crash tests need: it never rejects, so a test can assert on the code, the
 * signal and the output. LOG_LEVEL defaults to warn to keep stderr readable.
 */
export function runNode(args: readonly string[], { cwd, env = {} }: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<NodeRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', ...args], { cwd, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, signal: (error?.signal as NodeJS.Signals | undefined) ?? null, stdout, stderr });
    });
  });
}

/** `recsys doctor --no-services` in a process where requiring a module whose path ends with `moduleSuffix` throws `message`. */
export function doctorWithout(moduleSuffix: string, message: string): Promise<NodeRun> {
  return runNode(['-e', `
    const Module = require('node:module');
    const load = Module._load;
    Module._load = function (request, ...rest) {
      if (request.endsWith(${JSON.stringify(moduleSuffix)})) throw new Error(${JSON.stringify(message)});
      return load.call(this, request, ...rest);
    };
    process.argv = [process.argv[0], 'recsys', 'doctor', '--no-services'];
    import('./cli/recsys.ts');
  `]);
}
