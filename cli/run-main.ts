import { RecsysError, ValidationError } from '../infra/errors.js';
import { shutdown } from '../infra/shutdown.js';

/**
 * Runs a command and turns failures into a one-line message and an exit code:
 * 2 for bad input or setup, 1 for anything else. Stack traces only with DEBUG.
 */
export async function runMain(main: () => Promise<unknown>): Promise<void> {
  try {
    await main();
    await shutdown();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`recsys: ${message}`);
    if (process.env.DEBUG && error instanceof Error) console.error(error.stack);
    await shutdown().catch(() => {});
    process.exitCode = error instanceof ValidationError || (error instanceof RecsysError && !error.retriable) ? 2 : 1;
  }
}
