import type { Cell, Table } from './read-table.js';
import { mapLabel } from './table-examples.js';
import type { LabelMap, TableSource } from './table-source.js';

export type ColumnKind = 'categorical' | 'numeric' | 'multi' | 'label' | 'user' | 'item' | 'time' | 'sequence';

export interface ColumnSummary {
  column: string;
  kind: ColumnKind;
  distinct: number;
  missingShare: number;
  example: string;
  /** Numeric columns: decile boundaries (the starter spec's buckets). */
  boundaries?: number[];
}

export interface TableSummary {
  rows: number;
  columns: ColumnSummary[];
  label: { column: string; map: LabelMap; positives: number; negatives: number; values: Record<string, number> } | null;
  source: Omit<TableSource, 'file'> & { file: string };
}

export interface InspectOptions {
  label?: string;
  user?: string;
  item?: string;
  time?: string;
  /** Multi-valued columns → separator. */
  separators?: Record<string, string>;
  sequence?: { column: string; separator: string };
}

const LABEL_NAMES = ['label', 'click', 'clicked', 'is_click', 'y', 'target', 'rating', 'conversion'];
const USER_NAMES = ['user_id', 'userid', 'user', 'uid'];
const ITEM_NAMES = ['item_id', 'itemid', 'item', 'movie_id', 'product_id', 'iid'];
const TIME_NAMES = ['ts', 'timestamp', 'time', 'event_time', 'date'];
/** Distinct numeric values above this make a column numeric (below, its values are codes). */
const NUMERIC_DISTINCT = 20;

const text = (cell: Cell): string => (Array.isArray(cell) ? cell.join('|') : String(cell));

function guess(columns: readonly string[], names: readonly string[]): string | undefined {
  return columns.find((c) => names.includes(c.toLowerCase()));
}

/** Infers each column's kind and statistics, the label map and a source description that reads the file. */
export function inspectTable(table: Table, options: InspectOptions = {}): TableSummary {
  const { columns, rows } = table;
  const label = options.label ?? guess(columns, LABEL_NAMES);
  const user = options.user ?? guess(columns, USER_NAMES);
  const item = options.item ?? guess(columns, ITEM_NAMES);
  const time = options.time ?? guess(columns, TIME_NAMES);
  const separators = { ...options.separators };
  const summaries: ColumnSummary[] = columns.map((column) => {
    const values: Cell[] = rows.map((r) => r.cells[column]);
    const present = values.filter((v) => v !== undefined && v !== '');
    const distinct = new Set(present.map(text)).size;
    const base = { column, distinct, missingShare: rows.length === 0 ? 0 : 1 - present.length / rows.length, example: present.length > 0 ? text(present[0]) : '' };
    if (column === label) return { ...base, kind: 'label' as const };
    if (column === user) return { ...base, kind: 'user' as const };
    if (column === item) return { ...base, kind: 'item' as const };
    if (column === time) return { ...base, kind: 'time' as const };
    if (options.sequence?.column === column) return { ...base, kind: 'sequence' as const };
    if (separators[column] !== undefined || present.some(Array.isArray)) return { ...base, kind: 'multi' as const };
    // libFM indices are tokens (text); only its non-1 values (numbers) are measurements.
    if (table.format === 'libfm') return { ...base, kind: present.length > 0 && present.every((v) => typeof v === 'number') ? 'numeric' as const : 'categorical' as const, ...(present.every((v) => typeof v === 'number') && present.length > 0 ? { boundaries: deciles(present as number[]) } : {}) };
    const numbers = present.map((v) => (typeof v === 'number' ? v : Number(v)));
    if (present.length > 0 && numbers.every(Number.isFinite) && distinct > NUMERIC_DISTINCT && present.every((v) => !/^0\d/.test(text(v)))) {
      return { ...base, kind: 'numeric' as const, boundaries: deciles(numbers) };
    }
    return { ...base, kind: 'categorical' as const };
  });
  let labelSummary: TableSummary['label'] = null;
  if (label !== undefined && columns.includes(label)) {
    const counts: Record<string, number> = {};
    for (const r of rows) { const v = r.cells[label]; const key = v === undefined ? '(missing)' : text(v); counts[key] = (counts[key] ?? 0) + 1; }
    const map = labelMapFor(Object.keys(counts));
    let positives = 0;
    let negatives = 0;
    for (const r of rows) { const y = mapLabel(r.cells[label], map); if (y === 1) positives++; else if (y === 0) negatives++; }
    labelSummary = { column: label, map, positives, negatives, values: counts };
  }
  const source = {
    kind: 'table' as const,
    file: table.file,
    format: table.format,
    label: { column: label ?? '<name the label column>', map: labelSummary?.map ?? 'binary' },
    ...(user ? { user } : {}),
    ...(item ? { item } : {}),
    ...(time ? { time } : {}),
    separators,
    ...(options.sequence ? { sequence: options.sequence } : {}),
  };
  return { rows: rows.length, columns: summaries, label: labelSummary, source };
}

/** 0/1 → binary, −1/1 → signed, graded numbers → threshold at the value above the median (e.g. ratings 1–5 → ≥ 4). */
function labelMapFor(values: readonly string[]): LabelMap {
  const set = new Set(values.filter((v) => v !== '(missing)').map((v) => v.trim().toLowerCase()));
  if ([...set].every((v) => ['0', '1', 'true', 'false', 'yes', 'no', '0.0', '1.0'].includes(v))) return 'binary';
  if ([...set].every((v) => Number(v) === 1 || Number(v) === -1)) return 'signed';
  const numbers = [...set].map(Number).filter(Number.isFinite).sort((a, b) => a - b);
  if (numbers.length === 0) return 'binary';
  const max = numbers.at(-1)!;
  const min = numbers[0]!;
  return { threshold: min + Math.ceil((max - min) * 0.75) };
}

function deciles(values: number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const out: number[] = [];
  for (let k = 1; k < 10; k++) {
    const v = sorted[Math.floor((k * sorted.length) / 10)]!;
    if (out.length === 0 || v > out.at(-1)!) out.push(v);
  }
  return out.length > 0 ? out : [sorted[0]!];
}

/** A feature spec with one field per feature column: the starter the user edits (fields are declared once, here). */
export function starterSpec(name: string, summary: TableSummary): Record<string, unknown> {
  const fields: Record<string, unknown>[] = [];
  const field = (column: string): string => column.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/^([^a-z])/, 'f_$1');
  for (const c of summary.columns) {
    if (c.kind === 'user') fields.push({ kind: 'categorical', name: 'user_id', source: 'user_id' });
    if (c.kind === 'item') fields.push({ kind: 'categorical', name: 'item_id', source: 'item_id' });
    if (!/^[A-Za-z0-9_]+$/.test(c.column)) continue; // not addressable as context.<column>: reported by the CLI
    if (c.kind === 'categorical') fields.push({ kind: 'categorical', name: field(c.column), source: `context.${c.column}` });
    if (c.kind === 'numeric') fields.push({ kind: 'numeric', name: field(c.column), source: `context.${c.column}`, boundaries: c.boundaries });
    if (c.kind === 'multi') fields.push({ kind: 'multi', name: field(c.column), source: `context.${c.column}`, maxLength: 16 });
  }
  const sequenceOf = summary.columns.some((c) => c.kind === 'item') && (summary.source.sequence || summary.source.time && summary.source.user);
  return {
    name,
    version: 1,
    label: { from: 'label' },
    exampleTypes: ['impression'],
    ...(sequenceOf ? { behaviour: { types: ['impression'], positiveOnly: true, maxLength: 50 } } : {}),
    fields: [...fields, ...(sequenceOf ? [{ kind: 'sequence', name: 'hist_item_id', of: 'item_id', maxLength: 50 }] : [])],
  };
}
