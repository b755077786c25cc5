import { ValidationError } from '../../infra/errors.js';

/** The aliases a reference can name besides a version number. */
export const SERVING = 'serving';
export const LATEST = 'latest';

export type VersionSelector =
  | { kind: 'version'; version: number }
  | { kind: 'latest' }
  | { kind: 'serving' };

/**
 * `name` (the latest version, as `recsys eval` has always read it), `name@3`,
 * `name@latest` or `name@serving`.
 */
export interface ModelRef {
  model: string;
  selector: VersionSelector;
  /** Whether a version or alias was written (`name@...`) rather than the bare name. */
  explicit: boolean;
}

export const MODEL_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const REF = /^([a-z0-9][a-z0-9_-]*)(?:@(\d+|latest|serving))?$/;

export function parseModelRef(ref: string): ModelRef {
  const match = REF.exec(ref.trim());
  if (!match) throw new ValidationError(`a model reference is name, name@<version>, name@latest or name@serving, got ${JSON.stringify(ref)}`);
  const [, model, at] = match as unknown as [string, string, string | undefined];
  if (at === undefined) return { model, selector: { kind: 'latest' }, explicit: false };
  if (at === LATEST) return { model, selector: { kind: 'latest' }, explicit: true };
  if (at === SERVING) return { model, selector: { kind: 'serving' }, explicit: true };
  const version = Number(at);
  if (!Number.isSafeInteger(version) || version <= 0) throw new ValidationError(`model version must be a positive integer, got ${JSON.stringify(ref)}`);
  return { model, selector: { kind: 'version', version }, explicit: true };
}

export function formatModelRef({ model, selector }: ModelRef): string {
  return selector.kind === 'version' ? `${model}@${selector.version}` : `${model}@${selector.kind}`;
}

/** Model names as the artifact writer accepts them. */
export function assertModelName(model: string): string {
  if (!MODEL_NAME.test(model)) throw new ValidationError(`model name must be lowercase letters, digits, - or _, got ${JSON.stringify(model)}`);
  return model;
}
