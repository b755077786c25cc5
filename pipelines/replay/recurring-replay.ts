import { z } from 'zod';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { parseWith } from '../../infra/config.js';
import { ValidationError } from '../../infra/errors.js';
import { ModelRegistry } from '../registry/model-registry.js';
import { countWindow } from './decision-window.js';
import { checkModel } from './replay-checks.js';
import { parseReplaySpec, type ReplaySpec } from './replay-spec.js';

/**
 * One tick of a recurring replay: A = the serving version, B = the newest
 * published version that is not serving, window = the most recent day
 * before `now` that lies after both training cut-offs (shorter when a
 * cut-off is less than a day old). `now` is the tick's scheduled time, so a
 * retried tick picks the same window. Returns why nothing is replayed when
 * nothing can be.
 */
export const RecurringDataSchema = z.object({ model: z.string().min(1), options: z.record(z.string(), z.unknown()).default({}) });
export type RecurringData = z.infer<typeof RecurringDataSchema>;

const DAY_MS = 86_400_000;

export async function recurringSpec(registryRoot: string, db: SqlClient, data: unknown, now: number): Promise<{ spec: ReplaySpec } | { skipped: string }> {
  const { model, options } = parseWith(RecurringDataSchema, data, 'invalid recurring replay');
  const registry = new ModelRegistry(registryRoot);
  const serving = await registry.serving(model);
  if (!serving) throw new ValidationError(`model '${model}' has no serving version: nothing to compare against`);
  const others = (await registry.listVersions(model)).map((v) => v.version).filter((v) => v !== serving.version);
  const newest = others.at(-1);
  if (newest === undefined) return { skipped: `model '${model}' has no version besides the serving v${serving.version}` };
  const [a, b] = [await checkModel(registry, { model, version: serving.version }, 'A'), await checkModel(registry, { model, version: newest }, 'B')];
  const from = Math.max(now - DAY_MS, Math.max(a.trainedUntil, b.trainedUntil) + 1);
  if (from >= now) return { skipped: `no time after both training cut-offs yet (v${a.version}: ${a.trainedUntil}, v${b.version}: ${b.trainedUntil})` };
  const spec = parseReplaySpec({ ...options, a: { model, version: a.version }, b: { model, version: b.version }, from, to: now });
  if ((await countWindow(db, spec.from, spec.to)).decisions === 0) return { skipped: `no logged decisions in [${from}, ${now})` };
  return { spec };
}
