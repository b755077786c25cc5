import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { ValidationError } from '../../infra/errors.js';
import { LineProblems } from '../files/line-problems.js';
import { parseTimestamp } from '../time/parse-time.js';
import type { Interaction } from './interaction.js';

/**
 * A user's own interactions as a delimited file with a header:
 * `user_id,item_id[,timestamp][,weight]` (comma, or tab when the header has
 * one; quoted fields as in RFC 4180). A timestamp is epoch milliseconds,
 * epoch seconds (values below 1e11), or an ISO-8601 date; without the column
 * rows are ordered as in the file. A row is a positive when its weight
 * (default 1) is ≥ minWeight.
 */
export const INTERACTION_COLUMNS = ['user_id', 'item_id', 'timestamp', 'weight'] as const;

export interface InteractionsFileOptions {
  /** Rows with weight ≥ this are positives. @default 1 */
  minWeight?: number;
}

export interface InteractionsFile {
  positives: Interaction[];
  /** Every user and item named in the file, positive or not. */
  userIds: Set<string>;
  itemIds: Set<string>;
  rows: number;
}

/** Column name → index, refusing what the format does not have. */
function readHeader(header: string[], file: string): Record<(typeof INTERACTION_COLUMNS)[number], number> {
  const names = header.map((h) => h.trim().toLowerCase());
  const unknown = names.filter((n) => !(INTERACTION_COLUMNS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new ValidationError(`${file}: line 1: unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => JSON.stringify(n)).join(', ')}; an interactions file has the header user_id,item_id[,timestamp][,weight] (is it an events file? use --source jsonl)`);
  }
  const duplicated = names.filter((n, i) => names.indexOf(n) !== i);
  if (duplicated.length > 0) throw new ValidationError(`${file}: line 1: column ${JSON.stringify(duplicated[0])} appears twice`);
  for (const required of ['user_id', 'item_id']) {
    if (!names.includes(required)) throw new ValidationError(`${file}: line 1: no ${required} column; the header must name user_id and item_id`);
  }
  return Object.fromEntries(INTERACTION_COLUMNS.map((c) => [c, names.indexOf(c)])) as Record<(typeof INTERACTION_COLUMNS)[number], number>;
}

/** Reads the whole file; refuses it, naming up to ten lines, when any row is invalid. */
export async function readInteractionsFile(file: string, { minWeight = 1 }: InteractionsFileOptions = {}): Promise<InteractionsFile> {
  const out: InteractionsFile = { positives: [], userIds: new Set(), itemIds: new Set(), rows: 0 };
  const problems = new LineProblems(file);
  let columns: ReturnType<typeof readHeader> | undefined;
  // The delimiter is the header's: sniffed from the first chunk.
  const first = await new Promise<string>((resolve, reject) => {
    const probe = createReadStream(file, { start: 0, end: 64 * 1024 - 1, encoding: 'utf8' });
    let text = '';
    probe.on('data', (chunk) => { text += chunk; });
    probe.on('end', () => resolve(text));
    probe.on('error', reject);
  });
  const headerLine = first.split(/\r?\n/, 1)[0] ?? '';
  if (headerLine.trim() === '') throw new ValidationError(`${file}: line 1: empty; an interactions file starts with the header user_id,item_id[,timestamp][,weight]`);
  if (headerLine.trimStart().startsWith('{')) throw new ValidationError(`${file}: line 1 is JSON, not a header: an events file? use --source jsonl`);
  const delimiter = headerLine.includes('\t') ? '\t' : ',';
  const parser = createReadStream(file).pipe(parse({ delimiter, relax_column_count: true, skip_empty_lines: true, trim: true, info: true }));
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!columns) {
        columns = readHeader(record, file);
        continue;
      }
      const line = info.lines;
      const reason = (() => {
        if (record.length > INTERACTION_COLUMNS.length || record.length < 2) return `${record.length} fields`;
        const user = record[columns.user_id] ?? '';
        const item = record[columns.item_id] ?? '';
        if (user === '') return 'missing user_id';
        if (item === '') return 'missing item_id';
        let ts = out.rows;
        if (columns.timestamp >= 0) {
          const parsed = parseTimestamp(record[columns.timestamp] ?? '');
          if (parsed === undefined) return `timestamp ${JSON.stringify(record[columns.timestamp] ?? '')} is neither epoch seconds/milliseconds nor an ISO-8601 date`;
          ts = parsed;
        }
        let weight = 1;
        if (columns.weight >= 0) {
          weight = Number(record[columns.weight]);
          if (record[columns.weight] === '' || !Number.isFinite(weight)) return `weight ${JSON.stringify(record[columns.weight] ?? '')} is not a number`;
        }
        out.rows++;
        out.userIds.add(user);
        out.itemIds.add(item);
        if (weight >= minWeight) out.positives.push({ user, item, ts });
        return undefined;
      })();
      if (reason !== undefined) problems.add(line, reason);
    }
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError(`${file}: not a readable ${delimiter === '\t' ? 'TSV' : 'CSV'} file: ${(error as Error).message}`, [], { cause: error });
  }
  if (!columns) throw new ValidationError(`${file}: no header`);
  problems.throwIfAny('invalid rows');
  return out;
}
