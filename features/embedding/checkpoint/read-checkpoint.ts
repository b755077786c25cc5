import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { NonRetriableError, errorMessage } from '../../../infra/errors.js';
import { byteView } from './byte-view.js';
import { FORMAT_VERSION, HEADER_BYTES, MAGIC, manifestSchema } from './checkpoint-format.js';
import type { CheckpointManifest, TableEntry } from './checkpoint-format.js';

type ArrayKind = Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;

/**
 * An open checkpoint whose header and manifest have been verified. Sections
 * are read, and checked against their sha256, only when asked for.
 */
export class CheckpointReader {
  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    readonly manifest: CheckpointManifest,
  ) {}

  /** Opens `path` and verifies magic, version, manifest checksum and file size. */
  static async open(path: string): Promise<CheckpointReader> {
    let file: FileHandle;
    try {
      file = await open(path, 'r');
    } catch (error) {
      throw new NonRetriableError(`cannot open embedding checkpoint ${path}: ${errorMessage(error)}`, { cause: error, context: { path } });
    }
    try {
      return new CheckpointReader(path, file, await readManifest(path, file));
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  /** A section as a typed array of `kind`, after checking its length and sha256. */
  async section<T extends ArrayKind>(table: TableEntry, name: string, kind: T, length: number): Promise<InstanceType<T>> {
    const entry = table.sections[name];
    const where = `table '${table.name}' section '${name}'`;
    if (!entry) throw corrupt(this.path, `${where} is missing`);
    if (entry.bytes !== length * kind.BYTES_PER_ELEMENT) {
      throw corrupt(this.path, `${where} has ${entry.bytes} bytes, expected ${length * kind.BYTES_PER_ELEMENT}`);
    }
    const data = new kind(length) as InstanceType<T>;
    const bytes = byteView(data);
    const hash = createHash('sha256');
    for (let at = 0; at < bytes.length; at += 1 << 26) {
      const chunk = bytes.subarray(at, at + (1 << 26));
      const { bytesRead } = await this.file.read(chunk, 0, chunk.length, entry.offset + at);
      if (bytesRead !== chunk.length) throw corrupt(this.path, `${where} ends early (truncated file)`);
      hash.update(chunk);
    }
    if (hash.digest('hex') !== entry.sha256) throw corrupt(this.path, `${where} fails its sha256 check (corrupt data)`);
    return data;
  }
}

function corrupt(path: string, what: string): NonRetriableError {
  return new NonRetriableError(`embedding checkpoint ${path} is unusable: ${what}`, { context: { path } });
}

async function readManifest(path: string, file: FileHandle): Promise<CheckpointManifest> {
  const { size } = await file.stat();
  if (size < HEADER_BYTES) throw corrupt(path, `file is ${size} bytes, shorter than the ${HEADER_BYTES}-byte header (truncated or not a checkpoint)`);
  const header = Buffer.alloc(HEADER_BYTES);
  await file.read(header, 0, HEADER_BYTES, 0);
  if (header.toString('latin1', 0, 8) !== MAGIC) throw corrupt(path, `bad magic bytes (not an embedding checkpoint)`);
  const version = header.readUInt32LE(8);
  if (version !== FORMAT_VERSION) throw corrupt(path, `format version ${version}, this reader supports version ${FORMAT_VERSION}`);
  const length = header.readUInt32LE(12);
  if (HEADER_BYTES + length > size) throw corrupt(path, `manifest of ${length} bytes runs past the end of the ${size}-byte file (truncated)`);
  const bytes = Buffer.alloc(length);
  await file.read(bytes, 0, length, HEADER_BYTES);
  if (!createHash('sha256').update(bytes).digest().equals(header.subarray(16, 48))) {
    throw corrupt(path, 'manifest fails its sha256 check (corrupt header or manifest)');
  }
  let manifest: CheckpointManifest;
  try {
    manifest = manifestSchema.parse(JSON.parse(bytes.toString('utf8')));
  } catch (error) {
    throw corrupt(path, `manifest is not a valid checkpoint manifest: ${errorMessage(error)}`);
  }
  if (size < manifest.fileBytes) throw corrupt(path, `file is ${size} bytes, the manifest says ${manifest.fileBytes} (truncated)`);
  if (size > manifest.fileBytes) throw corrupt(path, `file is ${size} bytes, the manifest says ${manifest.fileBytes} (trailing data)`);
  return manifest;
}
