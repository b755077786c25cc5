import { readJsonlEvents } from '../../features/events/jsonl-events.js';
import { defaultMovieLensDir, loadMovieLens } from '../../features/datasets/movielens.js';
import { positivesFromEvents } from '../../features/interactions/event-positives.js';
import type { Interaction } from '../../features/interactions/interaction.js';
import { readInteractionsFile } from '../../features/interactions/interactions-file.js';
import { loadServicesConfig } from '../../infra/config.js';
import { createClickHouse } from '../../infra/clickhouse/clickhouse-client.js';
import { ValidationError } from '../../infra/errors.js';
import { interactionsIn } from '../ingest/offline-store.js';
import type { CfSource } from './cf-config.js';

/** The positives of a CF source, with every user and item it names (so serving knows them even without positives). */
export interface CfData {
  positives: Interaction[];
  userIds: Iterable<string>;
  itemIds: Iterable<string>;
  /** Where the data came from, for errors and logs. */
  describe: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function loadCfData(source: CfSource): Promise<CfData> {
  switch (source.kind) {
    case 'movielens': {
      const dir = source.dir ?? defaultMovieLensDir();
      const ml = await loadMovieLens(dir);
      const positives = ml.ratings.filter((r) => r.rating >= source.minRating).map((r) => ({ user: String(r.user), item: String(r.item), ts: r.ts * 1000 }));
      return { positives, userIds: [...ml.users.keys()].map(String), itemIds: [...ml.items.keys()].map(String), describe: `MovieLens in ${dir}` };
    }
    case 'jsonl': {
      const { positives, userIds, itemIds } = positivesFromEvents(await readJsonlEvents(source.file), source.positives);
      return nonEmpty({ positives, userIds, itemIds, describe: `events file ${source.file}` });
    }
    case 'interactions': {
      const read = await readInteractionsFile(source.file, { minWeight: source.minWeight });
      return nonEmpty({ positives: read.positives, userIds: read.userIds, itemIds: read.itemIds, describe: `interactions file ${source.file} (${read.rows} rows, weight ≥ ${source.minWeight})` });
    }
    case 'clickhouse': {
      // The offline store written by `recsys ingest` (CLICKHOUSE_* env vars).
      const client = createClickHouse(loadServicesConfig().clickhouse);
      const [from, to] = [source.from ?? 0, source.to ?? Date.now() + 1];
      try {
        const { positives, userIds, itemIds } = positivesFromEvents(await interactionsIn(client, from, to), source.positives);
        return nonEmpty({ positives, userIds, itemIds, describe: `the offline store's events from ${iso(from)} to ${iso(to)}` });
      } finally {
        await client.close();
      }
    }
  }
}

function nonEmpty(data: CfData): CfData {
  if (data.positives.length === 0) throw new ValidationError(`no positive interactions in ${data.describe}: nothing to train on (check the window, or which events count as positives)`);
  return data;
}
