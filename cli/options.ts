import { ValidationError } from '../infra/errors.js';
import { parseModelRef, type ModelRef } from '../pipelines/registry/model-ref.js';

/** commander argument parsers that name the flag and the bad value. */
export const positiveInt = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new ValidationError(`--${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
};

/** A count that may be 0. */
export const nonNegativeInt = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new ValidationError(`--${flag} must be an integer >= 0, got ${JSON.stringify(value)}`);
  return n;
};

/** A non-negative number flag. */
export const nonNegative = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!(Number.isFinite(n) && n >= 0)) throw new ValidationError(`--${flag} must be a number >= 0, got ${JSON.stringify(value)}`);
  return n;
};

/** A share in (0, 1]. */
export const fraction = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new ValidationError(`--${flag} must be a number in (0, 1], got ${JSON.stringify(value)}`);
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

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration: a number with a unit ms, s, m, h or d (`6h`, `30d`, `90s`), as milliseconds. */
export const duration = (flag: string) => (value: string): number => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  const ms = match ? Math.round(Number(match[1]) * UNIT_MS[match[2]!]!) : Number.NaN;
  if (!(ms > 0)) throw new ValidationError(`--${flag} must be a positive duration such as 90s, 15m, 6h or 30d, got ${JSON.stringify(value)}`);
  return ms;
};

/** A model reference argument: `name`, `name@3`, `name@latest`, `name@serving`; `versioned` refuses the bare name. */
export const modelRef = (what: string, { versioned = false } = {}) => (value: string): ModelRef => {
  const ref = parseModelRef(value);
  if (versioned && !ref.explicit) throw new ValidationError(`${what} must name a version: ${value}@<version> or ${value}@latest, got ${JSON.stringify(value)}`);
  return ref;
};
