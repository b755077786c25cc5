import { ValidationError } from '../infra/errors.js';

/** commander argument parsers that name the flag and the bad value. */
export const positiveInt = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new ValidationError(`--${flag} must be a positive integer, got ${JSON.stringify(value)}`);
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
