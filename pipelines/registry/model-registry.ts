import { readdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { errorMessage } from '../../infra/errors.js';
import { logger } from '../../infra/logger.js';
import type { Manifest } from '../../models/artifact/artifact-format.js';
import { ArtifactError } from '../../models/artifact/read-artifact.js';
import { listVersions, versionDir, writeArtifact, type ArtifactContents } from '../../models/artifact/write-artifact.js';
import { MAX_ALIAS_HISTORY, commitAlias, readAlias, type AliasRecord } from './alias-store.js';
import { appendAudit, readAudit, type AuditEntry } from './audit-log.js';
import { inspectVersion, worstStatus, type VersionCheck, type VersionStatus } from './inspect-version.js';
import { MODEL_NAME, SERVING, assertModelName, formatModelRef, parseModelRef, type ModelRef } from './model-ref.js';
import { AliasConflictError, RegistryError } from './registry-errors.js';
import { folderOnlyNotifier, type NotifyOutcome, type RegistryEvent, type RegistryNotifier } from './registry-notifier.js';
import { defaultActor, offsetsOf, parentOf } from './manifest-fields.js';
import type { ActionOptions, AliasChange, ModelSummary, PromoteOptions, ResolvedModel, VersionDetail, VersionSummary } from './registry-types.js';

export type { ActionOptions, AliasChange, ModelSummary, PromoteOptions, ResolvedModel, VersionDetail, VersionSummary } from './registry-types.js';
export { defaultActor, offsetsOf, parentOf } from './manifest-fields.js';

const log = logger('registry');

export interface ModelRegistryOptions {
  /** Told about every committed publish, promote and rollback. @default folderOnlyNotifier */
  notifier?: RegistryNotifier;
  /** @default () => new Date() */
  now?: () => Date;
  /** Promote retries after losing a race for the alias to another process. @default 20 */
  maxCommitAttempts?: number;
}

/**
 * The model registry: a folder (`<root>/<model>/v000001/…`) that is the
 * source of truth and needs no services. Versions are immutable artifacts;
 * the `serving` alias moves by promote/rollback, committed as a
 * compare-and-swap on the shared filesystem (alias-store.ts) and logged in
 * `<model>/audit.jsonl`. Corrupt, partial or incompatible versions are never
 * promoted. After each committed change the notifier (ClickHouse row, Redis
 * message) is told; its failures are logged and never undo the change.
 */
export class ModelRegistry {
  readonly root: string;
  private readonly notifier: RegistryNotifier;
  private readonly now: () => Date;
  private readonly maxCommitAttempts: number;

  constructor(root: string, { notifier = folderOnlyNotifier, now = () => new Date(), maxCommitAttempts = 20 }: ModelRegistryOptions = {}) {
    this.root = path.resolve(root);
    this.notifier = notifier;
    this.now = now;
    this.maxCommitAttempts = maxCommitAttempts;
  }

  modelDir(model: string): string {
    return path.join(this.root, assertModelName(model));
  }

  versionDir(model: string, version: number): string {
    return path.join(this.modelDir(model), versionDir(version));
  }

  async listModels(): Promise<ModelSummary[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    const models: ModelSummary[] = [];
    for (const entry of entries.filter((e) => e.isDirectory() && MODEL_NAME.test(e.name)).sort((a, b) => a.name.localeCompare(b.name))) {
      const versions = await listVersions(this.root, entry.name);
      const serving = await readAlias(this.modelDir(entry.name), SERVING);
      if (versions.length === 0 && !serving) continue;
      models.push({
        model: entry.name,
        versions: versions.length,
        latest: versions.at(-1) ?? null,
        serving: serving?.version ?? null,
        servingSince: serving?.at ?? null,
        servingActor: serving?.actor ?? null,
      });
    }
    return models;
  }

  /** Every version of a model, ascending. Without `verify` files are checked for presence and size only. */
  async listVersions(model: string, { verify = false }: { verify?: boolean } = {}): Promise<VersionSummary[]> {
    const versions = await this.versionsOf(model);
    const serving = (await readAlias(this.modelDir(model), SERVING))?.version ?? null;
    const out: VersionSummary[] = [];
    for (const version of versions) out.push(this.summarise(model, version, await this.check(model, version, { verify, versions }), serving));
    return out;
  }

  /**
   * Checks a version and, for a delta, every version its chain rests on.
   * Never throws for a bad artifact: the problems are in the result.
   */
  async check(model: string, version: number, { verify = true, versions }: { verify?: boolean; versions?: readonly number[] } = {}): Promise<VersionCheck> {
    const seen = new Set<number>();
    const published = versions ?? (await listVersions(this.root, model));
    const walk = async (v: number): Promise<VersionCheck> => {
      seen.add(v);
      const result = await inspectVersion(this.versionDir(model, v), { model, version: v }, { verify });
      const parent = result.manifest ? parentOf(result.manifest) : null;
      if (parent === null || result.status !== 'ok') return result;
      const fail = (status: VersionStatus, problem: string): VersionCheck => ({ ...result, status: worstStatus(result.status, status), problems: [...result.problems, problem] });
      if (parent >= v || seen.has(parent)) return fail('incompatible', `parent v${parent} does not precede v${v} (broken delta chain)`);
      if (!published.includes(parent)) return fail('partial', `parent v${parent} is not in the registry (broken delta chain)`);
      const upstream = await walk(parent);
      return upstream.status === 'ok' ? result : fail(upstream.status, `parent v${parent} is ${upstream.status}: ${upstream.problems.join('; ')}`);
    };
    return walk(version);
  }

  /** One version in full: manifest, files with their check, metrics, whether it serves. Checksums are verified. */
  async show(ref: string | ModelRef): Promise<VersionDetail> {
    const resolved = await this.resolve(ref);
    const check = await this.check(resolved.model, resolved.version, { verify: true });
    const servingAlias = await readAlias(this.modelDir(resolved.model), SERVING);
    return {
      ...this.summarise(resolved.model, resolved.version, check, servingAlias?.version ?? null),
      ref: resolved.ref,
      manifest: check.manifest,
      files: check.files,
      offsets: check.manifest ? offsetsOf(check.manifest) : null,
      servingAlias,
    };
  }

  /** `name` or `name@latest` (highest version), `name@3`, `name@serving`. */
  async resolve(ref: string | ModelRef): Promise<ResolvedModel> {
    const parsed = typeof ref === 'string' ? parseModelRef(ref) : ref;
    const { model, selector } = parsed;
    const versions = await this.versionsOf(model);
    let version: number;
    if (selector.kind === 'version') {
      if (!versions.includes(selector.version)) throw new RegistryError(`model '${model}' has no version ${selector.version} (has ${versions.join(', ')})`);
      version = selector.version;
    } else if (selector.kind === 'latest') {
      version = versions.at(-1)!;
    } else {
      const serving = await readAlias(this.modelDir(model), SERVING);
      if (!serving) throw new RegistryError(`model '${model}' has no serving version yet (promote one: recsys models promote ${model}@<version>)`);
      if (!versions.includes(serving.version)) throw new RegistryError(`model '${model}' is served at v${serving.version}, which is no longer in the registry`);
      version = serving.version;
    }
    return { model, version, dir: this.versionDir(model, version), ref: formatModelRef(parsed) };
  }

  /** The serving alias's current record, or null. */
  serving(model: string): Promise<AliasRecord | null> {
    return readAlias(this.modelDir(model), SERVING);
  }

  /** The audit log of a model, oldest first. */
  history(model: string): Promise<AuditEntry[]> {
    return readAudit(this.modelDir(model));
  }

  /**
   * Points `serving` at a version after verifying it (manifest, format and
   * kind, every file's size and sha256, its delta chain). Instant: nothing is
   * copied. Losing a race to another promoter re-reads and retries, unless
   * `ifServing` was given and no longer holds.
   */
  async promote(model: string, version: number, options: PromoteOptions = {}): Promise<AliasChange> {
    const { actor = defaultActor(), reason = '' } = options;
    const versions = await this.versionsOf(model);
    if (!versions.includes(version)) throw new RegistryError(`model '${model}' has no version ${version} (has ${versions.join(', ')})`);
    const manifest = await this.verifiedOrRefuse(model, version, 'promote', { actor, reason });
    for (let attempt = 1; ; attempt++) {
      const current = await readAlias(this.modelDir(model), SERVING);
      const from = current?.version ?? null;
      if (options.ifServing !== undefined && from !== options.ifServing) {
        throw new AliasConflictError(`not promoting ${model} v${version}: serving is ${from === null ? 'unset' : `v${from}`}, expected ${options.ifServing === null ? 'unset' : `v${options.ifServing}`}`);
      }
      if (from === version) return { model, alias: SERVING, from, to: version, generation: current!.generation, changed: false, notified: [] };
      const record: AliasRecord = {
        alias: SERVING,
        generation: (current?.generation ?? 0) + 1,
        version,
        previous: from,
        action: 'promote',
        at: this.now().toISOString(),
        actor,
        reason,
        history: current ? [...current.history, current.version].slice(-MAX_ALIAS_HISTORY) : [],
      };
      try {
        await commitAlias(this.modelDir(model), record);
      } catch (error) {
        if (error instanceof AliasConflictError && attempt < this.maxCommitAttempts) continue;
        throw error;
      }
      return this.committed(record, manifest);
    }
  }

  /**
   * Moves `serving` back to the version that served before the current one
   * (repeatable: each rollback steps one further back). The target is
   * verified like a promotion. If the alias moves meanwhile, nothing is
   * written and AliasConflictError says so.
   */
  async rollback(model: string, options: ActionOptions = {}): Promise<AliasChange> {
    const { actor = defaultActor(), reason = '' } = options;
    await this.versionsOf(model);
    const current = await readAlias(this.modelDir(model), SERVING);
    if (!current) throw new RegistryError(`model '${model}' has no serving version: nothing to roll back`);
    const target = current.history.at(-1);
    if (target === undefined) throw new RegistryError(`model '${model}': v${current.version} is the first serving version, there is nothing to roll back to (promote a version instead)`);
    const manifest = await this.verifiedOrRefuse(model, target, 'roll back to', { actor, reason });
    const record: AliasRecord = {
      alias: SERVING,
      generation: current.generation + 1,
      version: target,
      previous: current.version,
      action: 'rollback',
      at: this.now().toISOString(),
      actor,
      reason,
      history: current.history.slice(0, -1),
    };
    try {
      await commitAlias(this.modelDir(model), record);
    } catch (error) {
      if (error instanceof AliasConflictError) {
        throw new AliasConflictError(`not rolled back: the serving alias of ${model} changed while rolling back from v${current.version}; look again (recsys models list ${model}) and retry`, { cause: error });
      }
      throw error;
    }
    return this.committed(record, manifest);
  }

  /** Writes a new version (models/artifact format), logs it and notifies. */
  async publish(contents: ArtifactContents, options: ActionOptions = {}): Promise<{ dir: string; manifest: Manifest; notified: NotifyOutcome[] }> {
    const { dir, manifest } = await writeArtifact(this.root, contents);
    return { dir, manifest, notified: await this.published(manifest, options) };
  }

  /** Logs and notifies a version that was written by another writer (e.g. saveCtrModel). */
  async announce(model: string, version: number, options: ActionOptions = {}): Promise<NotifyOutcome[]> {
    const check = await this.check(model, version, { verify: false });
    if (!check.manifest || check.status !== 'ok') throw new ArtifactError(`${model} v${version} is ${check.status}: ${check.problems.join('; ')}`);
    return this.published(check.manifest, options);
  }

  private async published(manifest: Manifest, { actor = defaultActor(), reason = '' }: ActionOptions): Promise<NotifyOutcome[]> {
    const serving = (await readAlias(this.modelDir(manifest.model), SERVING))?.version ?? null;
    await appendAudit(this.modelDir(manifest.model), this.auditEntry('publish', manifest.model, manifest.version, { from: serving, to: serving, generation: null, actor, reason, alias: null }));
    log.info({ model: manifest.model, version: manifest.version }, 'published');
    const createdAt = Date.parse(manifest.createdAt);
    return this.notify(this.event('publish', manifest, {
      eventId: `${manifest.model}:v${manifest.version}:publish`, alias: null, previous: null, generation: null,
      at: Number.isFinite(createdAt) ? createdAt : this.now().getTime(), actor, reason,
    }));
  }

  private async committed(record: AliasRecord, manifest: Manifest): Promise<AliasChange> {
    const model = manifest.model;
    await appendAudit(this.modelDir(model), this.auditEntry(record.action, model, record.version, {
      from: record.previous, to: record.version, generation: record.generation, actor: record.actor, reason: record.reason, alias: record.alias,
    }));
    log.info({ model, alias: record.alias, from: record.previous, to: record.version, generation: record.generation, actor: record.actor }, record.action);
    const notified = await this.notify(this.event(record.action, manifest, {
      eventId: `${model}:${record.alias}:g${record.generation}`, alias: record.alias, previous: record.previous,
      generation: record.generation, at: Date.parse(record.at), actor: record.actor, reason: record.reason,
    }));
    return { model, alias: record.alias, from: record.previous, to: record.version, generation: record.generation, changed: true, notified };
  }

  /** The verified manifest, or an audited refusal naming every problem. */
  private async verifiedOrRefuse(model: string, version: number, what: string, { actor, reason }: { actor: string; reason: string }): Promise<Manifest> {
    const check = await this.check(model, version, { verify: true });
    if (check.status === 'ok' && check.manifest) return check.manifest;
    const serving = (await readAlias(this.modelDir(model), SERVING))?.version ?? null;
    await appendAudit(this.modelDir(model), {
      ...this.auditEntry('refused', model, version, { from: serving, to: serving, generation: null, actor, reason, alias: SERVING }),
      problems: check.problems,
    });
    log.warn({ model, version, status: check.status, problems: check.problems }, `refused to ${what}`);
    throw new ArtifactError(`refusing to ${what} ${model} v${version}: the artifact is ${check.status}: ${check.problems.join('; ')}`, {
      context: { model, version, status: check.status, problems: check.problems },
    });
  }

  private async versionsOf(model: string): Promise<number[]> {
    const versions = await listVersions(this.root, assertModelName(model));
    if (versions.length > 0) return versions;
    const exists = await stat(this.modelDir(model)).then((s) => s.isDirectory(), () => false);
    const known = (await this.listModels()).map((m) => m.model);
    throw new RegistryError(exists
      ? `model '${model}' has no published versions in ${this.root}`
      : `no model '${model}' in ${this.root}${known.length > 0 ? ` (models: ${known.join(', ')})` : ' (the registry is empty)'}`);
  }

  private summarise(model: string, version: number, check: VersionCheck, serving: number | null): VersionSummary {
    const m = check.manifest;
    return {
      model, version, dir: check.dir, status: check.status, verified: check.verified, problems: check.problems, serving: serving === version,
      createdAt: m?.createdAt ?? null, modelType: m?.modelType ?? null, kind: m?.kind ?? null, parent: m ? parentOf(m) : null,
      trainedUntil: m?.trainedUntil ?? null, metrics: m?.metrics ?? {},
    };
  }

  private auditEntry(action: AuditEntry['action'], model: string, version: number,
    o: { from: number | null; to: number | null; generation: number | null; actor: string; reason: string; alias: string | null }): AuditEntry {
    return { at: this.now().toISOString(), action, model, version, alias: o.alias, from: o.from, to: o.to, generation: o.generation, actor: o.actor, reason: o.reason, host: hostname(), pid: process.pid };
  }

  private event(kind: RegistryEvent['kind'], manifest: Manifest,
    o: Pick<RegistryEvent, 'eventId' | 'alias' | 'previous' | 'generation' | 'at' | 'actor' | 'reason'>): RegistryEvent {
    const createdAt = Date.parse(manifest.createdAt);
    return {
      kind, registry: this.root, model: manifest.model, version: manifest.version, parent: parentOf(manifest),
      modelType: manifest.modelType, artifactKind: manifest.kind, createdAt: Number.isFinite(createdAt) ? createdAt : 0,
      trainedUntil: manifest.trainedUntil, metrics: manifest.metrics, offsets: offsetsOf(manifest), ...o,
    };
  }

  private async notify(event: RegistryEvent): Promise<NotifyOutcome[]> {
    try {
      return await this.notifier.notify(event);
    } catch (error) {
      log.warn({ err: error, model: event.model, version: event.version, kind: event.kind }, 'registry notifier failed; the folder change stands');
      return [{ sink: 'notifier', status: 'failed', detail: errorMessage(error) }];
    }
  }
}
