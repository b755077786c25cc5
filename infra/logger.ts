import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stderr, so stdout stays free for a command's own
 * output (tables, one JSON line of figures). LOG_LEVEL sets the level.
 */
export const rootLogger: Logger = pino(
  { name: 'recsys', level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'warn' : 'info') },
  pino.destination(2),
);

/** A logger namespaced per component, e.g. `logger('ingest')`. */
export function logger(component: string): Logger {
  return rootLogger.child({ component });
}
