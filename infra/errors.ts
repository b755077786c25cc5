/**
 * One error family for the whole platform. What to do with a failure follows
 * from its type: retriable → retry or restart; NonRetriableError → give up (or
 * dead-letter the input); ValidationError → the caller sent bad input (HTTP 4xx).
 */
export interface ErrorContext {
  [key: string]: unknown;
}

export interface RecsysErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  context?: ErrorContext;
}

export class RecsysError extends Error {
  readonly retriable: boolean;
  readonly context: ErrorContext;

  constructor(message: string, { retriable = true, cause, context = {} }: RecsysErrorOptions = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.retriable = retriable;
    this.context = context;
  }
}

export class NonRetriableError extends RecsysError {
  constructor(message: string, options: Omit<RecsysErrorOptions, 'retriable'> = {}) {
    super(message, { ...options, retriable: false });
  }
}

/** Bad input from outside: an event, a request, a config file, a CLI flag. */
export class ValidationError extends NonRetriableError {
  /** Where in the input the problem is, e.g. `items[3].id`. */
  readonly issues: readonly string[];

  constructor(message: string, issues: readonly string[] = [], options: Omit<RecsysErrorOptions, 'retriable'> = {}) {
    super(issues.length > 0 ? `${message}: ${issues.join('; ')}` : message, options);
    this.issues = issues;
  }
}

/** A dependency is missing or misconfigured in a way no retry can fix. */
export class SetupError extends NonRetriableError {}

/** Retries were exhausted; `cause` is the last failure. */
export class RetriesExhaustedError extends NonRetriableError {}

export function isRetriable(error: unknown): boolean {
  if (error instanceof RecsysError) return error.retriable;
  // Unknown errors (network resets, driver errors) are treated as transient:
  // failing an event stream on a transient error loses more than a retry costs.
  return true;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
