import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ValidationError } from '../../infra/errors.js';
import { ARTIFACT_FORMAT, ARTIFACT_FORMAT_VERSION, MANIFEST_FILE, type Manifest } from './artifact-format.js';
import { writeFileDurably } from '../../infra/durable-file.js';

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
 * Writes a new version atomically: everything goes to a staging folder in the
 * model's folder (same filesystem), is fsynced, and the folder is renamed to
 * `vNNNNNN`. A reader never sees a half-written version; two writers racing
 * for a number both succeed, one with the next number.
 */
export async function writeArtifact(registry: string, contents: ArtifactContents): Promise<{ dir: string; manifest: Manifest }> {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(contents.model)) throw new ValidationError(`model name must be lowercase letters, digits, - or _: ${JSON.stringify(contents.model)}`);
  const modelDir = path.join(registry, contents.model);
  await mkdir(modelDir, { recursive: true });
  const staging = path.join(modelDir, `.staging-${randomBytes(6).toString('hex')}`);
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
        await rename(staging, target);
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
