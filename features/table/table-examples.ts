import { ValidationError } from '../../infra/errors.js';
import type { AttributeMap, InteractionEvent } from '../events/event-schema.js';
import type { Example } from '../samples/example.js';
import { PointInTimeSampleBuilder } from '../samples/point-in-time-builder.js';
import type { FeatureSpec } from '../spec/feature-spec.js';
import { LineProblems } from '../files/line-problems.js';
import { parseTimestamp } from '../time/parse-time.js';
import type { Cell, Table, TableRow } from './read-table.js';
import type { LabelMap, TableSource } from './table-source.js';

const NO_ATTRIBUTES: AttributeMap = Object.freeze({}) as AttributeMap;
const noAttributes = (): AttributeMap => NO_ATTRIBUTES;
/** Rows without a time column are ordered by position: row k happens at BASE_TS + k ms. */
const BASE_TS = 1_000_000_000_000;

/**
 * Checks the spec against the table before any row is converted: every
 * field must read a column the table has (a typo trains an empty field
 * silently otherwise), the label and id columns must exist, and the spec's
 * label rule must leave labelling to the source.
 */
export function checkSpecAgainstTable(spec: FeatureSpec, source: TableSource, table: Pick<Table, 'file' | 'columns'>): void {
  const columns = new Set(table.columns);
  const has = (c: string | undefined, what: string): void => {
    if (c !== undefined && !columns.has(c)) throw new ValidationError(`${table.file}: no ${what} column ${JSON.stringify(c)} (columns: ${table.columns.join(', ')})`);
  };
  has(source.label.column, 'label');
  has(source.user, 'user');
  has(source.item, 'item');
  has(source.time, 'time');
  has(source.sequence?.column, 'sequence');
  if (spec.label.from !== 'label') throw new ValidationError(`feature spec ${spec.name}: with a table source the label comes from source.label (column and map); set the spec's "label" to {"from": "label"}`);
  const problems: string[] = [];
  for (const field of spec.fields) {
    const sources = field.kind === 'cross' ? field.sources : field.kind === 'sequence' ? [] : [field.source];
    for (const s of sources) {
      if (s === 'user_id' && !source.user) problems.push(`field ${field.name} reads user_id but the source names no "user" column`);
      else if (s === 'item_id' && !source.item) problems.push(`field ${field.name} reads item_id but the source names no "item" column`);
      else if (s.startsWith('user.') || s.startsWith('item.')) problems.push(`field ${field.name} reads ${s}: a table's columns are read as context.<column> (e.g. context.${s.slice(5)})`);
      else if (s.startsWith('context.') && !columns.has(s.slice(8))) problems.push(`field ${field.name} reads ${s} but ${table.file} has no column ${JSON.stringify(s.slice(8))} (columns: ${table.columns.join(', ')})`);
    }
    if (field.kind === 'sequence' && !source.sequence && !source.time) problems.push(`field ${field.name} is a behaviour sequence: name the source's "sequence" column (item ids) or a "time" and "user" column to build it from earlier rows`);
  }
  if (problems.length > 0) throw new ValidationError(`feature spec ${spec.name} does not fit ${table.file}`, problems);
}

/** The 0/1 label of a cell, or why it is not one under `map`. */
export function mapLabel(cell: Cell, map: LabelMap): number | string {
  const text = cell === undefined ? '' : String(cell).trim();
  if (text === '') return 'the label is missing';
  if (map === 'binary') {
    if (['1', 'true', 'yes', '1.0'].includes(text.toLowerCase())) return 1;
    if (['0', 'false', 'no', '0.0'].includes(text.toLowerCase())) return 0;
    return `label ${JSON.stringify(text)} is not 0 or 1 (label.map "binary"; use "signed" for −1/1 or {"threshold": x} for graded values)`;
  }
  if (map === 'signed') {
    const n = Number(text);
    if (n === 1) return 1;
    if (n === -1) return 0;
    return `label ${JSON.stringify(text)} is not −1 or 1 (label.map "signed")`;
  }
  const n = Number(text);
  if (!Number.isFinite(n)) return `label ${JSON.stringify(text)} is not a number (label.map {"threshold": ${map.threshold}})`;
  return n >= map.threshold ? 1 : 0;
}

/** Epoch ms from a time cell: epoch ms, epoch seconds (below 1e11) or an ISO-8601 date. */
export function parseTime(cell: Cell): number | undefined {
  return typeof cell === 'number' || typeof cell === 'string' ? parseTimestamp(cell) : undefined;
}

export interface RowEvents {
  /** One interaction per row, in the table's order; `event_id` is `<file>:<line>`. */
  events: InteractionEvent[];
  /** Per event, the history given by the sequence column (when the source names one). */
  histories?: Map<InteractionEvent, string[]>;
}

/**
 * Rows → interaction events the feature spec reads: ids from the id columns,
 * every other column in `context` (numbers for the spec's numeric fields,
 * lists for multi-valued columns), the label mapped. Refuses the table,
 * naming up to ten lines, when a label or a time does not parse.
 */
export function rowEvents(spec: FeatureSpec, source: TableSource, table: Table, rowOffset = 0): RowEvents {
  const numeric = new Set(spec.fields.flatMap((f) => (f.kind === 'numeric' && f.source.startsWith('context.') ? [f.source.slice(8)] : [])));
  const reserved = new Set([source.label.column, source.user, source.item, source.time, source.sequence?.column].filter((c): c is string => c !== undefined));
  const type = spec.exampleTypes[0]!;
  const problems = new LineProblems(table.file);
  const report = (row: TableRow, message: string): void => problems.add(row.line, message);
  const events: InteractionEvent[] = [];
  const histories = source.sequence ? new Map<InteractionEvent, string[]>() : undefined;
  table.rows.forEach((row, k) => {
    const label = mapLabel(row.cells[source.label.column], source.label.map);
    if (typeof label === 'string') { report(row, label); return; }
    let ts = BASE_TS + rowOffset + k;
    if (source.time) {
      const t = parseTime(row.cells[source.time]);
      if (t === undefined) { report(row, `time ${JSON.stringify(row.cells[source.time] ?? '')} is not epoch ms, epoch seconds or an ISO-8601 date`); return; }
      ts = t;
    }
    const context: Record<string, string | number | boolean | string[]> = {};
    for (const [column, cell] of Object.entries(row.cells)) {
      if (cell === undefined || reserved.has(column)) continue;
      const separator = source.separators[column];
      if (separator !== undefined) context[column] = (Array.isArray(cell) ? cell : String(cell).split(separator)).map((s) => s.trim()).filter((s) => s !== '');
      else if (numeric.has(column)) { const n = Number(cell); if (Number.isFinite(n)) context[column] = n; }
      else context[column] = Array.isArray(cell) ? cell : String(cell);
    }
    const event: InteractionEvent = {
      schema_version: 1,
      event_id: `${table.file}:${row.line}`,
      type,
      user_id: source.user ? String(row.cells[source.user] ?? '') || '(none)' : '(none)',
      item_id: source.item ? String(row.cells[source.item] ?? '') || '(none)' : '(none)',
      ts,
      label: label as 0 | 1,
      context,
    };
    events.push(event);
    if (histories && source.sequence) {
      const cell = row.cells[source.sequence.column];
      const items = Array.isArray(cell) ? cell : cell === undefined ? [] : String(cell).split(source.sequence.separator);
      histories.set(event, items.map((s) => s.trim()).filter((s) => s !== ''));
    }
  });
  problems.throwIfAny('invalid rows');
  return histories ? { events, histories } : { events };
}

/**
 * Examples from row events. With a sequence column, each row's history is
 * that column; with a time column (and a sequence field in the spec), the
 * point-in-time builder makes it from the user's earlier positive rows; else
 * there is none. Rows without a time column carry their position as time.
 */
export function tableExamples(spec: FeatureSpec, rows: RowEvents, { buildHistories }: { buildHistories: boolean }): Example[] {
  if (rows.histories) {
    const histories = rows.histories;
    return rows.events.map((event) => ({
      event, label: event.label!, user: NO_ATTRIBUTES, item: NO_ATTRIBUTES, itemAttributes: noAttributes,
      history: (histories.get(event) ?? []).slice(0, spec.behaviour.maxLength).map((item_id, k) => ({ item_id, ts: event.ts - 1 - k })),
    }));
  }
  if (!buildHistories) {
    return rows.events.map((event) => ({ event, label: event.label!, user: NO_ATTRIBUTES, item: NO_ATTRIBUTES, itemAttributes: noAttributes, history: [] }));
  }
  const builder = new PointInTimeSampleBuilder(spec);
  const ordered = [...rows.events].sort((a, b) => a.ts - b.ts);
  const out: Example[] = [];
  for (const event of ordered) out.push(...builder.push(event));
  out.push(...builder.flush());
  return out;
}
