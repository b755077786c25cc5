import { isRetriable, RetriesExhaustedError, errorMessage } from './errors.js';

export interface RetryOptions {
  /** @default 5 */
  retries?: number;
  /** First delay in ms. @default 200 */
  initialDelayMs?: number;
  /** Cap on one delay in ms. @default 10_000 */
  maxDelayMs?: number;
  /** Growth per attempt. @default 2 */
  factor?: number;
  /** Share of each delay drawn at random, so restarted clients do not retry in step. @default 0.2 */
  jitter?: number;
  /** Which errors are tried again. @default isRetriable (infra/errors.ts) */
  retriable?: (error: unknown) => boolean;
  /** Called before each wait; for logging. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

/** Defaults are fast under test (NODE_ENV=test) so fault tests do not wait out production backoff. */
export const retryDefaults: Required<Omit<RetryOptions, 'onRetry' | 'signal' | 'retriable'>> =
  process.env.NODE_ENV === 'test'
    ? { retries: 5, initialDelayMs: 10, maxDelayMs: 200, factor: 2, jitter: 0.2 }
    : { retries: 5, initialDelayMs: 200, maxDelayMs: 10_000, factor: 2, jitter: 0.2 };

export function backoffDelay(attempt: number, options: RetryOptions = {}, random: () => number = Math.random): number {
  const { initialDelayMs, maxDelayMs, factor, jitter } = { ...retryDefaults, ...options };
  const base = Math.min(maxDelayMs, initialDelayMs * factor ** attempt);
  return Math.round(base * (1 - jitter + 2 * jitter * random()));
}

/** Runs `fn` until it succeeds, an error `retriable` refuses is thrown, or retries run out. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { retries } = { ...retryDefaults, ...options };
  const retriable = options.retriable ?? isRetriable;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!retriable(error)) throw error;
      if (attempt >= retries) {
        throw new RetriesExhaustedError(`gave up after ${attempt + 1} attempts: ${errorMessage(error)}`, { cause: error });
      }
      const delay = backoffDelay(attempt, options);
      options.onRetry?.(error, attempt + 1, delay);
      await sleep(delay, options.signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    // The listener goes when the timer fires: long outages retry many times on one signal.
    const onAbort = () => { clearTimeout(timer); reject(signal!.reason); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
