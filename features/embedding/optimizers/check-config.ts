import { ValidationError } from '../../../infra/errors.js';

/** Names every out-of-range option at once, e.g. `adam.beta1 must be in [0, 1), got 1`. */
export function checkRanges(
  kind: string,
  checks: ReadonlyArray<readonly [name: string, value: number, ok: boolean, rule: string]>,
): void {
  const issues = checks
    .filter(([, value, ok]) => !ok || !Number.isFinite(value))
    .map(([name, value, , rule]) => `${kind}.${name} must be ${rule}, got ${value}`);
  if (issues.length > 0) throw new ValidationError(`invalid ${kind} optimizer options`, issues);
}
