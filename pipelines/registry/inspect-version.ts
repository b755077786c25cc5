import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { formatIssues } from '../../infra/config.js';
import { ARTIFACT_FORMAT, ARTIFACT_FORMAT_VERSION, MANIFEST_FILE, ManifestSchema, type Manifest } from '../../models/artifact/artifact-format.js';
import { sha256File } from '../../models/artifact/write-artifact.js';

/**
 * What state a published version is in. `ok` means the manifest is this
 * build's format and every listed file is present with its size (and, when
 * `verified`, its sha256); anything else is never promoted.
 * - `partial`: no manifest, or a listed file missing or of the wrong size;
 * - `corrupt`: unreadable manifest JSON or a file failing its sha256;
 * - `incompatible`: another format, an unsupported format version or artifact
 *   kind, an invalid manifest, or a manifest naming another model/version.
 */
export type VersionStatus = 'ok' | 'partial' | 'corrupt' | 'incompatible';

export type FileState = 'ok' | 'unverified' | 'missing' | 'size-mismatch' | 'checksum-mismatch';

export interface FileCheck {
  path: string;
  bytes: number;
  sha256: string;
  state: FileState;
  actualBytes?: number;
}

export interface VersionCheck {
  dir: string;
  status: VersionStatus;
  /** True when every file's sha256 was checked, not only its presence and size. */
  verified: boolean;
  /** One readable sentence per problem, naming the file. */
  problems: string[];
  manifest: Manifest | null;
  files: FileCheck[];
}

const SEVERITY: Record<VersionStatus, number> = { ok: 0, partial: 1, corrupt: 2, incompatible: 3 };
export const worstStatus = (a: VersionStatus, b: VersionStatus): VersionStatus => (SEVERITY[a] >= SEVERITY[b] ? a : b);

const KINDS: readonly string[] = ManifestSchema.shape.kind.options;

/**
 * Checks one version folder without throwing: every problem is collected and
 * named. With `verify`, each file is hashed (streamed); without, only its
 * presence and size are checked (cheap enough to list a whole registry).
 */
export async function inspectVersion(dir: string, expected: { model: string; version: number }, { verify }: { verify: boolean }): Promise<VersionCheck> {
  const fail = (status: VersionStatus, problem: string): VersionCheck => ({ dir, status, verified: verify, problems: [problem], manifest: null, files: [] });
  let text: string;
  try {
    text = await readFile(path.join(dir, MANIFEST_FILE), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail('partial', code === 'ENOENT' ? `${MANIFEST_FILE} is missing` : `${MANIFEST_FILE} is unreadable (${(error as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail('corrupt', `${MANIFEST_FILE} is not valid JSON`);
  }
  const head = (raw ?? {}) as { format?: unknown; formatVersion?: unknown; kind?: unknown };
  if (head.format !== ARTIFACT_FORMAT) return fail('incompatible', `not a ${ARTIFACT_FORMAT} artifact (format ${JSON.stringify(head.format)})`);
  if (head.formatVersion !== ARTIFACT_FORMAT_VERSION) {
    return fail('incompatible', `artifact format version ${JSON.stringify(head.formatVersion)} is not supported (this build reads ${ARTIFACT_FORMAT_VERSION})`);
  }
  if (!KINDS.includes(head.kind as string)) return fail('incompatible', `artifact kind ${JSON.stringify(head.kind)} is not supported (this build reads ${KINDS.join(', ')})`);
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) return fail('incompatible', `invalid manifest: ${formatIssues(parsed.error).join('; ')}`);
  const manifest = parsed.data;
  if (manifest.model !== expected.model || manifest.version !== expected.version) {
    return { ...fail('incompatible', `manifest names ${manifest.model} v${manifest.version} but the folder is ${expected.model} v${expected.version}`), manifest };
  }

  let status: VersionStatus = 'ok';
  const problems: string[] = [];
  const files: FileCheck[] = [];
  for (const file of manifest.files) {
    const full = path.join(dir, file.path);
    const check: FileCheck = { ...file, state: verify ? 'ok' : 'unverified' };
    files.push(check);
    const size = await stat(full).then((s) => (s.isFile() ? s.size : undefined), () => undefined);
    if (size === undefined) {
      check.state = 'missing';
      status = worstStatus(status, 'partial');
      problems.push(`${file.path} is missing`);
      continue;
    }
    check.actualBytes = size;
    if (size !== file.bytes) {
      check.state = 'size-mismatch';
      status = worstStatus(status, 'partial');
      problems.push(`${file.path} has ${size} bytes, manifest says ${file.bytes} (truncated or partly written)`);
      continue;
    }
    if (!verify) continue;
    const actual = await sha256File(full).catch(() => undefined);
    if (actual?.sha256 !== file.sha256) {
      check.state = 'checksum-mismatch';
      status = worstStatus(status, 'corrupt');
      problems.push(`${file.path} fails its sha256 check (corrupt)`);
    }
  }
  return { dir, status, verified: verify, problems, manifest, files };
}
