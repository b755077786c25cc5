import { logger } from './logger.js';

const log = logger('shutdown');

type Closer = () => Promise<unknown> | unknown;
const closers: { name: string; close: Closer }[] = [];
let installed = false;
let closing: Promise<void> | undefined;

/**
 * Registers something to close on SIGTERM/SIGINT. Closed in reverse order of
 * registration (consumers before the clients they write through).
 */
export function onShutdown(name: string, close: Closer): void {
  closers.push({ name, close });
  if (installed) return;
  installed = true;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'shutting down');
      void shutdown().then(() => process.exit(0), () => process.exit(1));
    });
  }
}

export function shutdown(timeoutMs = 10_000): Promise<void> {
  closing ??= (async () => {
    const timer = setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown timed out');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    for (const { name, close } of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        log.error({ err: error, name }, 'close failed');
      }
    }
    clearTimeout(timer);
  })();
  return closing;
}
