import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

const requireHere = createRequire(import.meta.url);

/**
 * A worker thread running one of our modules (`name`, beside the module whose
 * `import.meta.url` is `caller`), whether the process runs the TypeScript
 * sources or compiled JavaScript. Under tsx the worker registers tsx itself
 * before importing the entry: Node 20 does not give workers the parent's
 * --import loaders. `onFailure` is JavaScript run in the worker, with `error`
 * bound, when the entry fails to load or its top-level code throws: a failure
 * to start is reported, never left to a timeout.
 */
export function startModuleWorker(caller: string, name: string, onFailure: string, options: WorkerOptions = {}): Worker {
  const typescript = caller.endsWith('.ts');
  const entry = new URL(`./${name}${typescript ? '.ts' : '.js'}`, caller).href;
  const tsx = typescript ? pathToFileURL(path.join(path.dirname(requireHere.resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href : null;
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    (${tsx ? `import(${JSON.stringify(tsx)}).then((api) => api.register())` : 'Promise.resolve()'})
      .then(() => import(${JSON.stringify(entry)}))
      .catch((error) => { ${onFailure} });`;
  return new Worker(source, { ...options, eval: true });
}
