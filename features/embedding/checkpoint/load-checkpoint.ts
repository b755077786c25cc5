import { EmbeddingTable } from '../tables/embedding-table.js';
import { createOptimizer } from '../optimizers/create-optimizer.js';
import type { TableEntry } from './checkpoint-format.js';
import { CheckpointReader } from './read-checkpoint.js';

export interface LoadOptions {
  /** Wall clock for tables whose rows expire in 'ms'. @default Date.now */
  now?: () => number;
  /** Update threads per table (see EmbeddingTableOptions.threads). @default 1 */
  threads?: number;
}

/** Tables as saved, with optimizer state and id maps, ready to train on. */
export async function loadCheckpoint(path: string, options: LoadOptions = {}): Promise<EmbeddingTable[]> {
  const reader = await CheckpointReader.open(path);
  try {
    const tables: EmbeddingTable[] = [];
    for (const entry of reader.manifest.tables) tables.push(await loadTable(reader, entry, options));
    return tables;
  } finally {
    await reader.close();
  }
}

async function loadTable(reader: CheckpointReader, entry: TableEntry, { now, threads }: LoadOptions): Promise<EmbeddingTable> {
  const { name, rows, dim, seed, init, ids, optimizer } = entry;
  const { slotNames } = createOptimizer(optimizer);
  const size = rows * dim;
  const weights = await reader.section(entry, 'weights', Float32Array, size);
  const slots: Float32Array[] = [];
  for (const slot of slotNames) slots.push(await reader.section(entry, `slot:${slot}`, Float32Array, size));
  const dynamic =
    ids.kind === 'dynamic'
      ? {
          rowIds: await reader.section(entry, 'ids.rowIds', Int32Array, rows),
          live: await reader.section(entry, 'ids.live', Uint8Array, rows),
          lastSeen: await reader.section(entry, 'ids.lastSeen', Float64Array, rows),
          filterCounts: await reader.section(entry, 'ids.filterCounts', Uint8Array, ids.admitAfter > 1 ? ids.filterWidth * ids.filterDepth : 0),
        }
      : undefined;
  const idsOptions = ids.kind === 'dynamic' ? { ...ids, expireAfter: ids.expireAfter ?? undefined } : ids;
  return new EmbeddingTable(
    { name, rows, dim, seed, init, optimizer, ids: idsOptions, now, threads },
    { weights, optimizer: { slots, step: entry.optimizerStep }, lookups: entry.lookups, dynamic },
  );
}
