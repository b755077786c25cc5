import { logger } from './logger.js';

const log = logger('shutdown');

type Closer = () => Promise<unknown> | unknown;
const closers: { name: string; close: Closer; timeoutMs: number }[] = [];
let installed = false;
let closing: Promise<void> | undefined;

/** Time every shutdown gets besides what closers declare (clients' own close calls). */
const BASE_TIMEOUT_MS = 10_000;

export interface ShutdownOptions {
  /**
   * How long this closer may take on top of the base 10 s: a drain period, the
   * current job of a worker. The process exits with status 1 when the sum runs out. @default 0
   */
  timeoutMs?: number;
}

/**
 * Registers something to close on SIGTERM/SIGINT. Closed in reverse order of
 * registration (consumers before the clients they write through). A second
 * signal during shutdown exits at once (an operator's way out of a long drain).
 */
export function onShutdown(name: string, close: Closer, { timeoutMs = 0 }: ShutdownOptions = {}): void {
  closers.push({ name, close, timeoutMs });
  if (installed) return;
  installed = true;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (closing) {
        log.warn({ signal }, 'second signal during shutdown: exiting now');
        process.exit(1);
      }
      log.info({ signal }, 'shutting down');
      void shutdown().then(() => process.exit(0), () => process.exit(1));
    });
  }
}

/** The deadline shutdown() uses by default: the base plus every registered closer's own time. */
export function shutdownTimeoutMs(): number {
  return BASE_TIMEOUT_MS + closers.reduce((sum, c) => sum + c.timeoutMs, 0);
}

export function shutdown(timeoutMs = shutdownTimeoutMs()): Promise<void> {
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
