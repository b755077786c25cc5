import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { ValidationError } from '../../infra/errors.js';
import { LineProblems } from '../files/line-problems.js';

/**
 * Tabular files as users have them: CSV/TSV with a header row, JSON lines of
 * flat records, libFM/libSVM. Every reader returns the same shape: column
 * names and rows of raw cells (text, a number from JSON or libFM, a list
 * from JSON) with the line each row came from, so later errors can name it.
 */
export const TABLE_FORMATS = ['csv', 'tsv', 'jsonl', 'libfm'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

export type Cell = string | number | boolean | string[] | undefined;

export interface TableRow {
  /** 1-based line of the file. */
  line: number;
  cells: Record<string, Cell>;
}

export interface Table {
  file: string;
  format: TableFormat;
  columns: string[];
  rows: TableRow[];
}

const EXTENSIONS: Record<string, TableFormat> = {
  '.csv': 'csv', '.tsv': 'tsv', '.tab': 'tsv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'jsonl',
  '.libfm': 'libfm', '.libsvm': 'libfm', '.svm': 'libfm',
};

/** The format named by the file's extension (a trailing .gz is not supported). */
export function formatOf(file: string): TableFormat {
  const ext = path.extname(file).toLowerCase();
  const format = EXTENSIONS[ext];
  if (!format) throw new ValidationError(`${file}: cannot tell the format from the extension ${JSON.stringify(ext || '(none)')}; name one with "format" (${TABLE_FORMATS.join(', ')}) or rename the file (${Object.keys(EXTENSIONS).join(', ')})`);
  return format;
}

/** Reads a whole file; refuses it, naming up to ten lines, when any row is malformed. */
export async function readTable(file: string, format: TableFormat = formatOf(file)): Promise<Table> {
  const size = (await stat(file).catch((error: unknown) => { throw new ValidationError(`${file}: ${(error as Error).message}`); })).size;
  if (size === 0) throw new ValidationError(`${file} is empty`);
  switch (format) {
    case 'csv': return readDelimited(file, ',', format);
    case 'tsv': return readDelimited(file, '\t', format);
    case 'jsonl': return readJsonl(file);
    case 'libfm': return readLibfm(file);
  }
}

async function readDelimited(file: string, delimiter: string, format: TableFormat): Promise<Table> {
  const parser = createReadStream(file).pipe(parse({ delimiter, bom: true, relax_column_count: true, skip_empty_lines: true, info: true }));
  let columns: string[] | undefined;
  const rows: TableRow[] = [];
  const problems = new LineProblems(file);
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!columns) {
        columns = record.map((c) => c.trim());
        const empty = columns.findIndex((c) => c === '');
        if (empty >= 0) throw new ValidationError(`${file}: line ${info.lines}: column ${empty + 1} of the header has no name`);
        const twice = columns.find((c, i) => columns!.indexOf(c) !== i);
        if (twice) throw new ValidationError(`${file}: line ${info.lines}: column ${JSON.stringify(twice)} appears twice in the header`);
        if (columns.length === 1 && delimiter === ',' && record[0]!.includes('\t')) throw new ValidationError(`${file}: line 1 has tabs and no commas: is it a TSV file? (rename it .tsv or set "format": "tsv")`);
        continue;
      }
      if (record.length !== columns.length) {
        problems.add(info.lines, `${record.length} cells for ${columns.length} columns`);
        continue;
      }
      const cells: Record<string, Cell> = {};
      columns.forEach((c, i) => { const v = record[i]!; cells[c] = v === '' ? undefined : v; });
      rows.push({ line: info.lines, cells });
    }
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError(`${file}: not valid ${format.toUpperCase()}: ${(error as Error).message}`);
  }
  problems.throwIfAny('ragged rows');
  if (!columns) throw new ValidationError(`${file} has no header row`);
  if (rows.length === 0) throw new ValidationError(`${file} has a header and no rows`);
  return { file, format, columns, rows };
}

async function readJsonl(file: string): Promise<Table> {
  const rows: TableRow[] = [];
  const columns = new Set<string>();
  const problems = new LineProblems(file);
  let line = 0;
  for await (const raw of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    line++;
    const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      problems.add(line, `not JSON (${(error as Error).message})`);
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) { problems.add(line, 'not a JSON object'); continue; }
    const cells: Record<string, Cell> = {};
    let bad = false;
    for (const [key, v] of Object.entries(value)) {
      if (v === null) continue;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') cells[key] = v;
      else if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) cells[key] = v.map(String);
      else { problems.add(line, `"${key}" is a nested ${Array.isArray(v) ? 'list' : 'object'}: records must be flat (values: text, numbers, booleans, lists of them)`); bad = true; break; }
      columns.add(key);
    }
    if (!bad) rows.push({ line, cells });
  }
  problems.throwIfAny('invalid records');
  if (rows.length === 0) throw new ValidationError(`${file} has no records`);
  return { file, format: 'jsonl', columns: [...columns], rows };
}

/**
 * libFM / libSVM: `label index:value …` (libSVM) or `label field:index:value …`
 * (libFM with fields). Columns are `label` and one per field: `f<field>` when
 * entries name their field, else `f<position>` when every row has the same
 * number of entries (datasets such as Frappe and MovieLens-tag put field k at
 * position k). A value of 1 makes the index the field's categorical token;
 * any other value makes the column numeric (index:value rows then need one
 * index per column).
 */
async function readLibfm(file: string): Promise<Table> {
  const rows: TableRow[] = [];
  const problems = new LineProblems(file);
  const columns = new Set<string>(['label']);
  let width: number | undefined;
  let line = 0;
  for await (const raw of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    line++;
    const text = (line === 1 ? raw.replace(/^\uFEFF/, '') : raw).trim();
    if (text === '' || text.startsWith('#')) continue;
    const parts = text.split(/\s+/);
    const label = Number(parts[0]);
    if (parts[0]!.includes(':') || !Number.isFinite(label)) { problems.add(line, `starts with ${JSON.stringify(parts[0])}, not a label (libFM rows are "label index:value …")`); continue; }
    const cells: Record<string, Cell> = { label: parts[0] };
    const entries = parts.slice(1);
    if (entries.length === 0) { problems.add(line, 'a label and no features'); continue; }
    let ok = true;
    entries.forEach((entry, position) => {
      if (!ok) return;
      const pieces = entry.split(':');
      if (pieces.length < 2 || pieces.length > 3 || pieces.some((p) => p === '')) { problems.add(line, `entry ${JSON.stringify(entry)} is not index:value or field:index:value`); ok = false; return; }
      const value = Number(pieces.at(-1));
      if (!Number.isFinite(value)) { problems.add(line, `entry ${JSON.stringify(entry)} has a value that is not a number`); ok = false; return; }
      const column = pieces.length === 3 ? `f${pieces[0]}` : `f${position}`;
      const index = pieces.at(-2)!;
      cells[column] = value === 1 ? index : value;
      columns.add(column);
    });
    if (!ok) continue;
    if (!entries[0]!.split(':')[2]) {
      width ??= entries.length;
      if (entries.length !== width) { problems.add(line, `${entries.length} entries where the first row has ${width}: without field:index:value entries, fields are told apart by position`); continue; }
    }
    rows.push({ line, cells });
  }
  problems.throwIfAny('invalid rows');
  if (rows.length === 0) throw new ValidationError(`${file} has no rows`);
  return { file, format: 'libfm', columns: [...columns], rows };
}
