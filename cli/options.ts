import { ValidationError } from '../infra/errors.js';

/** commander argument parsers that name the flag and the bad value. */
export const positiveInt = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new ValidationError(`--${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
};

/** A non-negative number flag. */
export const nonNegative = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!(Number.isFinite(n) && n >= 0)) throw new ValidationError(`--${flag} must be a number >= 0, got ${JSON.stringify(value)}`);
  return n;
};

export const integer = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new ValidationError(`--${flag} must be an integer, got ${JSON.stringify(value)}`);
  return n;
};

export const oneOf = <T extends string>(flag: string, values: readonly T[]) => (value: string): T => {
  if (!(values as readonly string[]).includes(value)) throw new ValidationError(`--${flag} must be one of ${values.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
};

/** A time as epoch milliseconds or an ISO 8601 date/time. */
export const timestamp = (flag: string) => (value: string): number => {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new ValidationError(`--${flag} must be epoch milliseconds or an ISO date, got ${JSON.stringify(value)}`);
  return ms;
};
