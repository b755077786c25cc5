import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { ValidationError } from '../../../infra/errors.js';
import type { EmbeddingTable } from '../tables/embedding-table.js';
import { ALIGN, FORMAT_VERSION, HEADER_BYTES, MAGIC } from './checkpoint-format.js';
import type { CheckpointManifest, TableEntry } from './checkpoint-format.js';
import { byteView } from './byte-view.js';
import { renameDurably } from '../../../infra/durable-file.js';

type Section = { name: string; data: ArrayBufferView };

function sectionsOf(table: EmbeddingTable): Section[] {
  const sections: Section[] = [{ name: 'weights', data: table.weights }];
  table.optimizer.slotNames.forEach((slot, i) => sections.push({ name: `slot:${slot}`, data: table.optimizerState.slots[i]! }));
  const dynamic = table.dynamicState;
  if (dynamic) {
    sections.push(
      { name: 'ids.rowIds', data: dynamic.rowIds },
      { name: 'ids.live', data: dynamic.live },
      { name: 'ids.lastSeen', data: dynamic.lastSeen },
      { name: 'ids.filterCounts', data: dynamic.filterCounts },
    );
  }
  return sections;
}

function sha256(data: ArrayBufferView): string {
  const hash = createHash('sha256');
  const bytes = byteView(data);
  // update() takes at most 2 GiB at a time.
  for (let at = 0; at < bytes.length; at += 1 << 30) hash.update(bytes.subarray(at, at + (1 << 30)));
  return hash.digest('hex');
}

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/**
 * Writes tables with their optimizer state and id maps to `path`, atomically:
 * a temporary file renamed over the target, so a crash never leaves a
 * half-written checkpoint under the real name. Returns the file's size.
 */
export async function saveCheckpoint(path: string, tables: readonly EmbeddingTable[]): Promise<number> {
  const names = tables.map((table) => table.name);
  const repeated = names.filter((name, i) => names.indexOf(name) !== i);
  if (repeated.length > 0) throw new ValidationError('checkpoint table names must be unique', repeated.map((name) => `'${name}' repeats`));

  const perTable = tables.map(sectionsOf);
  const entries: TableEntry[] = tables.map((table, t) => ({
    name: table.name,
    rows: table.rows,
    dim: table.dim,
    seed: table.seed,
    init: table.init,
    ids: table.idsConfig,
    optimizer: table.optimizer.config,
    optimizerStep: table.optimizerState.step,
    lookups: table.lookups,
    sections: Object.fromEntries(perTable[t]!.map(({ name, data }) => [name, { offset: 0, bytes: data.byteLength, sha256: sha256(data) }])),
  }));
  // Offsets depend on the manifest's length, which depends on the offsets'
  // digits: lay out until the length stops changing (two passes in practice).
  let manifestText = '';
  let fileBytes = 0;
  for (let previous = -1; Buffer.byteLength(manifestText) !== previous; ) {
    previous = Buffer.byteLength(manifestText);
    let offset = align(HEADER_BYTES + Buffer.byteLength(manifestText));
    for (const entry of entries) {
      for (const section of Object.values(entry.sections)) {
        section.offset = offset;
        offset = align(offset + section.bytes);
      }
    }
    fileBytes = offset;
    const manifest: CheckpointManifest = { fileBytes, endianness: 'LE', tables: entries };
    manifestText = JSON.stringify(manifest);
  }
  const manifestBytes = Buffer.from(manifestText, 'utf8');
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(MAGIC, 0, 'ascii');
  header.writeUInt32LE(FORMAT_VERSION, 8);
  header.writeUInt32LE(manifestBytes.length, 12);
  createHash('sha256').update(manifestBytes).digest().copy(header, 16);

  const temporary = `${path}.tmp-${process.pid}`;
  const file = await open(temporary, 'w');
  try {
    await file.write(header, 0, header.length, 0);
    await file.write(manifestBytes, 0, manifestBytes.length, HEADER_BYTES);
    for (const [t, sections] of perTable.entries()) {
      for (const { name, data } of sections) {
        const bytes = byteView(data);
        const base = entries[t]!.sections[name]!.offset;
        for (let at = 0; at < bytes.length; at += 1 << 26) {
          const chunk = bytes.subarray(at, at + (1 << 26));
          await file.write(chunk, 0, chunk.length, base + at);
        }
      }
    }
    // Pads the last section so the size on disk is exactly fileBytes.
    await file.truncate(fileBytes);
    await file.sync();
  } catch (error) {
    await file.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await file.close();
  await renameDurably(temporary, path);
  return fileBytes;
}
