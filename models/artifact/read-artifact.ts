import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { NonRetriableError } from '../../infra/errors.js';
import { formatIssues } from '../../infra/config.js';
import { ARTIFACT_FORMAT, ARTIFACT_FORMAT_VERSION, MANIFEST_FILE, ManifestSchema, type Manifest } from './artifact-format.js';
import { sha256File } from './write-artifact.js';

/** A corrupt, partial or incompatible artifact: never loaded, never promoted. */
export class ArtifactError extends NonRetriableError {}

export interface Artifact {
  dir: string;
  manifest: Manifest;
  /** A listed file's bytes (already verified). */
  read(name: string): Promise<Buffer>;
  path(name: string): string;
}

/**
 * Opens an artifact folder, refusing anything but this format's version and
 * verifying every listed file's size and sha256 before returning.
 */
export async function readArtifact(dir: string): Promise<Artifact> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8'));
  } catch (error) {
    throw new ArtifactError(`${dir}: no readable ${MANIFEST_FILE} (${(error as Error).message})`, { cause: error });
  }
  const format = (raw as { format?: unknown; formatVersion?: unknown } | null);
  if (format?.format !== ARTIFACT_FORMAT) throw new ArtifactError(`${dir}: not a ${ARTIFACT_FORMAT} artifact`);
  if (format.formatVersion !== ARTIFACT_FORMAT_VERSION) {
    throw new ArtifactError(`${dir}: artifact format version ${String(format.formatVersion)} is not supported (this build reads ${ARTIFACT_FORMAT_VERSION})`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) throw new ArtifactError(`${dir}: invalid manifest: ${formatIssues(parsed.error).join('; ')}`);
  const manifest = parsed.data;
  const listed = new Set<string>();
  for (const file of manifest.files) {
    // Streamed, so checking a large embedding table costs no memory.
    const actual = await sha256File(path.join(dir, file.path)).catch(() => undefined);
    if (!actual) throw new ArtifactError(`${dir}: ${file.path} is missing`);
    if (actual.bytes !== file.bytes) throw new ArtifactError(`${dir}: ${file.path} has ${actual.bytes} bytes, manifest says ${file.bytes} (truncated?)`);
    if (actual.sha256 !== file.sha256) throw new ArtifactError(`${dir}: ${file.path} fails its sha256 check (corrupt)`);
    listed.add(file.path);
  }
  return {
    dir,
    manifest,
    read: async (name) => {
      if (!listed.has(name)) throw new ArtifactError(`${dir}: no file ${name} in the artifact`);
      return readFile(path.join(dir, name));
    },
    path: (name) => path.join(dir, name),
  };
}
