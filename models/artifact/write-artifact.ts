import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { ValidationError } from '../../infra/errors.js';
import { ARTIFACT_FORMAT, ARTIFACT_FORMAT_VERSION, MANIFEST_FILE, type Manifest } from './artifact-format.js';
import { renameDurably, syncDir, writeFileDurably } from '../../infra/durable-file.js';

export interface ArtifactContents {
  model: string;
  modelType: string;
  /** @default 'full' */
  kind?: Manifest['kind'];
  /** File path inside the artifact → contents. */
  files: Record<string, Uint8Array | string>;
  metrics?: Record<string, number | null>;
  trainedUntil?: number | null;
  extra?: Record<string, unknown>;
  /** Extra work inside the staging folder before it is published (e.g. an embedding checkpoint). */
  stage?: (dir: string) => Promise<string[]>;
}

const VERSION_DIR = /^v(\d{6})$/;
export const versionDir = (version: number): string => `v${String(version).padStart(6, '0')}`;

/** Published versions of a model, ascending. */
export async function listVersions(registry: string, model: string): Promise<number[]> {
  const entries = await readdir(path.join(registry, model)).catch(() => [] as string[]);
  return entries.flatMap((e) => { const m = VERSION_DIR.exec(e); return m ? [Number(m[1])] : []; }).sort((a, b) => a - b);
}

export async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const handle = await open(file, 'r');
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of handle.createReadStream()) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } finally {
    await handle.close().catch(() => {});
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * Staging folders are named `.staging-<host>-<pid>-<random>`, so a later
 * writer can tell a crashed writer's leftovers (its process is gone, or the
 * folder is older than `staleMs`) from a folder another process is still
 * filling, which must be left alone.
 */
const STAGING = /^\.staging-(.*)-(\d+)-([0-9a-f]{12})$/;
const stagingName = () => `.staging-${hostname()}-${process.pid}-${randomBytes(6).toString('hex')}`;

const processGone = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
};

/**
 * Removes the staging folders a crashed writer left in a model's folder: this
 * host's folders whose process is gone, and any folder (another host's, an
 * older naming) untouched for `staleMs`. Returns the names removed.
 */
export async function removeStaleStaging(modelDir: string, { staleMs = 86_400_000, now = Date.now() }: { staleMs?: number; now?: number } = {}): Promise<string[]> {
  const entries = await readdir(modelDir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of entries.filter((e) => e.startsWith('.staging-'))) {
    const m = STAGING.exec(name);
    const mine = m !== null && m[1] === hostname();
    const dead = mine && Number(m[2]) !== process.pid && processGone(Number(m[2]));
    const old = !mine && await stat(path.join(modelDir, name)).then((s) => now - s.mtimeMs > staleMs, () => false);
    if (!dead && !old) continue;
    await rm(path.join(modelDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  if (removed.length > 0) await syncDir(modelDir);
  return removed;
}

/**
 * Writes a new version atomically: everything goes to a staging folder in the
 * model's folder (same filesystem), is fsynced, and the folder is renamed to
 * `vNNNNNN`. A reader never sees a half-written version; two writers racing
 * for a number both succeed, one with the next number.
 */
export async function writeArtifact(registry: string, contents: ArtifactContents): Promise<{ dir: string; manifest: Manifest }> {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(contents.model)) throw new ValidationError(`model name must be lowercase letters, digits, - or _: ${JSON.stringify(contents.model)}`);
  const modelDir = path.join(registry, contents.model);
  await mkdir(modelDir, { recursive: true });
  await removeStaleStaging(modelDir);
  const staging = path.join(modelDir, stagingName());
  await mkdir(staging);
  try {
    const paths = Object.keys(contents.files);
    for (const [name, data] of Object.entries(contents.files)) {
      await mkdir(path.dirname(path.join(staging, name)), { recursive: true });
      await writeFileDurably(path.join(staging, name), data);
    }
    if (contents.stage) paths.push(...(await contents.stage(staging)));
    const files = [];
    for (const name of paths.sort()) files.push({ path: name, ...(await sha256File(path.join(staging, name))) });

    for (let attempt = 0; ; attempt++) {
      const versions = await listVersions(registry, contents.model);
      const version = (versions.at(-1) ?? 0) + 1;
      const manifest: Manifest = {
        format: ARTIFACT_FORMAT,
        formatVersion: ARTIFACT_FORMAT_VERSION,
        model: contents.model,
        version,
        kind: contents.kind ?? 'full',
        modelType: contents.modelType,
        createdAt: new Date().toISOString(),
        files,
        metrics: contents.metrics ?? {},
        trainedUntil: contents.trainedUntil ?? null,
        extra: contents.extra ?? {},
      };
      await writeFileDurably(path.join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
      const target = path.join(modelDir, versionDir(version));
      try {
        await renameDurably(staging, target);
        return { dir: target, manifest };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= 20) throw error;
      }
    }
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}
