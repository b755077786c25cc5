import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { ValidationError, errorMessage } from '../../infra/errors.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { RegistryError } from '../registry/registry-errors.js';
import { countWindow, type WindowCounts } from './decision-window.js';
import { pinnedRef, type ReplaySpec } from './replay-spec.js';

/**
 * The checks a replay must pass, at submit (refused with a message) and
 * again when a worker starts it (the registry or the store may have changed):
 * both versions exist and are intact CTR artifacts with a recorded training
 * cut-off, the window starts after both cut-offs (an in-sample replay
 * flatters the newer model), and the window holds decisions.
 */
export interface PinnedModel {
  model: string;
  version: number;
  dir: string;
  trainedUntil: number;
  modelType: string;
}

/** `name@3`, `name@latest`, `name@serving` → a pinned version; unknown models and versions are ValidationErrors. */
export async function pinModel(registry: ModelRegistry, ref: string, role: string): Promise<{ model: string; version: number }> {
  try {
    const resolved = await registry.resolve(ref);
    return { model: resolved.model, version: resolved.version };
  } catch (error) {
    if (error instanceof RegistryError || error instanceof ValidationError) throw new ValidationError(`model ${role} (${ref}): ${errorMessage(error)}`);
    throw error;
  }
}

export async function checkModel(registry: ModelRegistry, m: { model: string; version: number }, role: string): Promise<PinnedModel> {
  const check = await registry.check(m.model, m.version, { verify: false }).catch((error: unknown) => {
    throw new ValidationError(`model ${role} (${pinnedRef(m)}): ${errorMessage(error)}`);
  });
  if (check.status !== 'ok' || !check.manifest) throw new ValidationError(`model ${role} (${pinnedRef(m)}) is ${check.status}: ${check.problems.join('; ')}`);
  const { trainedUntil, modelType } = check.manifest;
  if (trainedUntil === null) throw new ValidationError(`model ${role} (${pinnedRef(m)}) records no training cut-off (trainedUntil), so an in-sample window cannot be ruled out`);
  return { ...m, dir: check.dir, trainedUntil, modelType };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Both models checked and the window placed after both cut-offs. */
export async function checkReplay(registry: ModelRegistry, spec: ReplaySpec): Promise<{ a: PinnedModel; b: PinnedModel }> {
  const [a, b] = [await checkModel(registry, spec.a, 'A'), await checkModel(registry, spec.b, 'B')];
  for (const [role, m] of [['A', a], ['B', b]] as const) {
    if (spec.from <= m.trainedUntil) {
      throw new ValidationError(`the window overlaps model ${role}'s training data: it starts at ${iso(spec.from)}, but ${pinnedRef(m)} was trained on events up to ${iso(m.trainedUntil)}; replay from ${iso(m.trainedUntil + 1)} or later`);
    }
  }
  return { a, b };
}

/** How far ahead of the submitting machine's clock a window may end (clock skew between machines). */
export const MAX_FUTURE_MS = 3_600_000;

/**
 * At submit: a window that ends in the future would be replayed over data
 * still arriving, and the job id (a hash of the spec) would stand for
 * different rows in each run.
 */
export function checkWindowTime(spec: Pick<ReplaySpec, 'to'>, now: number): void {
  if (spec.to > now + MAX_FUTURE_MS) throw new ValidationError(`--to (${iso(spec.to)}) is in the future (now ${iso(now)}): a replay covers logged decisions only`);
}

export async function checkWindow(db: SqlClient, spec: ReplaySpec): Promise<WindowCounts> {
  const counts = await countWindow(db, spec.from, spec.to);
  if (counts.decisions === 0) throw new ValidationError(`no logged decisions between ${iso(spec.from)} and ${iso(spec.to)}: nothing to replay`);
  return counts;
}
