import { ServingTable } from '../tables/serving-table.js';
import { CheckpointReader } from './read-checkpoint.js';

/**
 * Weights and id maps only: optimizer sections are neither read nor checked,
 * so serving reads about a third of an Adam checkpoint and needs no optimizer.
 */
export async function loadForServing(path: string): Promise<ServingTable[]> {
  const reader = await CheckpointReader.open(path);
  try {
    const tables: ServingTable[] = [];
    for (const entry of reader.manifest.tables) {
      const { name, rows, dim, ids } = entry;
      const weights = await reader.section(entry, 'weights', Float32Array, rows * dim);
      const dynamic =
        ids.kind === 'dynamic'
          ? { rowIds: await reader.section(entry, 'ids.rowIds', Int32Array, rows), live: await reader.section(entry, 'ids.live', Uint8Array, rows) }
          : undefined;
      tables.push(new ServingTable(name, rows, dim, weights, dynamic));
    }
    return tables;
  } finally {
    await reader.close();
  }
}
