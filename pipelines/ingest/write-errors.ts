import { NonRetriableError, RecsysError, errorMessage } from '../../infra/errors.js';

/**
 * How ingestion treats a failed write:
 * - `transient`: the store is away or busy (our store clients classify their
 *   errors; kafkajs marks its own). Retried with backoff for as long as it
 *   lasts: the consumer pauses and nothing is dropped.
 * - `permanent`: classified as one no retry cures (a statement the store
 *   refuses). Not retried.
 * - `unknown`: anything else (a driver or programming error). Retried a few
 *   times, then treated as permanent: never retried forever in silence.
 */
export type WriteErrorClass = 'transient' | 'permanent' | 'unknown';

export function classifyWriteError(error: unknown): WriteErrorClass {
  if (error instanceof RecsysError) return error.retriable ? 'transient' : 'permanent';
  const name = (error as { name?: unknown } | null)?.name;
  if (typeof name === 'string' && name.startsWith('KafkaJS')) {
    // kafkajs gives up on a connection failure with NumberOfRetriesExceeded: the broker is away, not the request wrong.
    if (name === 'KafkaJSNumberOfRetriesExceeded') {
      const cause = (error as { cause?: unknown }).cause;
      return cause !== undefined && cause !== error ? classifyWriteError(cause) : 'transient';
    }
    return (error as { retriable?: unknown }).retriable === true ? 'transient' : 'permanent';
  }
  return 'unknown';
}

/** A write that failed in a way retries did not cure; `store` names where. */
export class WriteFailedError extends NonRetriableError {
  constructor(readonly store: string, readonly attempts: number, cause: unknown) {
    super(`${store} write failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${errorMessage(cause)}`, { cause, context: { store } });
  }
}
