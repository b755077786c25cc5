import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { renameDurably } from '../../infra/durable-file.js';
import { ValidationError } from '../../infra/errors.js';
import { logger } from '../../infra/logger.js';
import { removeStaleStaging } from '../../models/artifact/write-artifact.js';
import { readAlias } from './alias-store.js';
import { appendAudit } from './audit-log.js';
import { defaultActor } from './manifest-fields.js';
import type { ModelRegistry } from './model-registry.js';
import type { ActionOptions } from './registry-types.js';

const log = logger('registry');

/**
 * `recsys models gc`: removes the versions of a model that nothing needs.
 * Needed are the `keep` newest versions, every version an alias names now
 * or can roll back to (its history), the serving version the audit log's
 * last entry records, and every version a needed delta is built on (its
 * parent chain, transitively). A version whose manifest cannot be read is
 * removed only if nothing needs it; a needed one whose parent cannot be
 * told stops the run, since its chain cannot be protected.
 * A version is renamed out of the way (one atomic step, fsynced) before its
 * files are deleted, so readers see it whole or not at all; aliases are read
 * again right before each removal.
 */
export interface GcOptions extends ActionOptions {
  /** Newest versions kept whatever else holds. At least 1, so version numbers are never reused. */
  keep: number;
  /** Report what would go, remove nothing. @default false */
  dryRun?: boolean;
}

export interface GcResult {
  model: string;
  removed: number[];
  kept: { version: number; reasons: string[] }[];
  /** Staging folders of crashed writers removed along the way. */
  staging: string[];
  dryRun: boolean;
}

async function aliasNeeds(modelDir: string): Promise<Map<number, string[]>> {
  const needs = new Map<number, string[]>();
  const add = (v: number, why: string) => needs.set(v, [...(needs.get(v) ?? []), why]);
  const names = await readdir(path.join(modelDir, 'aliases')).catch(() => [] as string[]);
  for (const alias of names) {
    const record = await readAlias(modelDir, alias);
    if (!record) continue;
    add(record.version, `alias ${alias}`);
    for (const v of record.history) add(v, `${alias} rollback history`);
  }
  return needs;
}

export async function collectGarbage(registry: ModelRegistry, model: string, { keep, dryRun = false, actor = defaultActor(), reason = '' }: GcOptions): Promise<GcResult> {
  if (!Number.isSafeInteger(keep) || keep < 1) throw new ValidationError(`--keep must be an integer of at least 1 (the newest version is always kept), got ${keep}`);
  const modelDir = registry.modelDir(model);
  const staging = dryRun ? [] : await removeStaleStaging(modelDir);
  const versions = await registry.listVersions(model);
  const byVersion = new Map(versions.map((v) => [v.version, v]));
  const reasons = new Map<number, string[]>();
  const need = (v: number, why: string) => reasons.set(v, [...(reasons.get(v) ?? []), why]);
  for (const v of versions.slice(-keep)) need(v.version, `newest ${keep}`);
  for (const [v, whys] of await aliasNeeds(modelDir)) for (const why of whys) need(v, why);
  const last = (await registry.history(model)).at(-1);
  if (last?.to != null) need(last.to, 'serving per the audit log');
  // Parents last: the chain of every needed version, walked to its full base.
  for (const start of [...reasons.keys()]) {
    const seen = new Set<number>();
    for (let v: number | undefined = start; v !== undefined && !seen.has(v);) {
      seen.add(v);
      const summary = byVersion.get(v);
      if (!summary) break;
      if (summary.kind === null) {
        throw new ValidationError(`not collecting ${model}: v${v} is needed (${reasons.get(start)!.join(', ')}) but its manifest is unreadable (${summary.problems.join('; ')}), so the versions it is built on cannot be told`);
      }
      const parent = summary.parent ?? undefined;
      if (parent !== undefined) need(parent, `parent of v${v}`);
      v = parent;
    }
  }
  const removable = versions.map((v) => v.version).filter((v) => !reasons.has(v));
  const removed: number[] = [];
  for (const version of removable) {
    if (dryRun) { removed.push(version); continue; }
    // A promotion or rollback since the start may have named it.
    if ((await aliasNeeds(modelDir)).has(version)) { need(version, 'named by an alias meanwhile'); continue; }
    const dir = registry.versionDir(model, version);
    const trash = path.join(modelDir, `.deleted-${path.basename(dir)}-${randomBytes(4).toString('hex')}`);
    await renameDurably(dir, trash);
    await rm(trash, { recursive: true, force: true });
    await appendAudit(modelDir, {
      at: new Date().toISOString(), action: 'delete', model, version, alias: null, from: last?.to ?? null, to: last?.to ?? null,
      generation: null, actor, reason: reason || `gc --keep ${keep}`, host: hostname(), pid: process.pid,
    });
    removed.push(version);
    log.info({ model, version }, 'version removed by gc');
  }
  const kept = [...reasons].sort(([a], [b]) => a - b).filter(([v]) => byVersion.has(v)).map(([version, why]) => ({ version, reasons: why }));
  return { model, removed, kept, staging, dryRun };
}
