import { RecsysError } from '../errors.js';

/**
 * Redis error replies that a retry can cure (a server loading its data, a
 * busy script, a failover). Any other error reply means the command itself
 * is wrong; connection failures (no reply) are always retriable.
 */
const RETRIABLE_REPLIES = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS|MOVED|ASK)\b/;

export function isRetriableRedisError(error: unknown): boolean {
  if ((error as { name?: unknown } | null)?.name !== 'ReplyError') return true;
  return RETRIABLE_REPLIES.test(errorText(error));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs a Redis call, rethrowing failures as RecsysErrors classified by isRetriableRedisError. */
export async function withRedisErrors<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw new RecsysError(`Redis ${what} failed: ${errorText(error)}`, { cause: error, retriable: isRetriableRedisError(error) });
  }
}
