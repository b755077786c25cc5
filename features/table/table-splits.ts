import path from 'node:path';
import { ValidationError } from '../../infra/errors.js';
import { createRng } from '../math/rng.js';
import type { Example } from '../samples/example.js';
import { FeatureEncoder } from '../spec/feature-encoder.js';
import type { FeatureSpec } from '../spec/feature-spec.js';
import type { CtrSplits } from '../datasets/movielens-ctr.js';
import { readTable, type Table } from './read-table.js';
import { checkSpecAgainstTable, rowEvents, tableExamples, type RowEvents } from './table-examples.js';
import { describeSplit, effectiveSplit, type TableSource, type TableSplit } from './table-source.js';

export type Part = 'train' | 'validation' | 'test';

/** Examples in three parts by a split kind; deterministic given the seed. */
export function splitExamples(examples: readonly Example[], split: TableSplit): Record<Part, Example[]> {
  const [fTrain, fValidation] = split.fractions;
  const cut = (list: readonly Example[]): Record<Part, Example[]> => {
    const nTrain = Math.round(list.length * fTrain);
    const nValidation = Math.round(list.length * (fTrain + fValidation)) - nTrain;
    return { train: list.slice(0, nTrain), validation: list.slice(nTrain, nTrain + nValidation), test: list.slice(nTrain + nValidation) };
  };
  switch (split.kind) {
    case 'random': {
      const order = [...examples];
      const rng = createRng(split.seed);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      return cut(order);
    }
    case 'time':
      return cut(byTime(examples));
    case 'per-user-time': {
      const byUser = new Map<string, Example[]>();
      for (const e of byTime(examples)) {
        let list = byUser.get(e.event.user_id);
        if (!list) byUser.set(e.event.user_id, (list = []));
        list.push(e);
      }
      const out: Record<Part, Example[]> = { train: [], validation: [], test: [] };
      for (const list of byUser.values()) {
        const parts = cut(list);
        for (const p of ['train', 'validation', 'test'] as const) out[p].push(...parts[p]);
      }
      // Time order within each part, as the other kinds give it.
      for (const p of ['train', 'validation', 'test'] as const) out[p] = byTime(out[p]);
      return out;
    }
  }
}

/** Stable by time (rows of equal time keep their order). */
function byTime(examples: readonly Example[]): Example[] {
  return examples.map((e, k) => ({ e, k })).sort((a, b) => a.e.event.ts - b.e.event.ts || a.k - b.k).map(({ e }) => e);
}

/** Every row of one file as examples, with the source's columns and label map (scoring a given file). */
export async function tableFileExamples(spec: FeatureSpec, source: TableSource, file: string): Promise<{ examples: Example[]; rows: number }> {
  const table = await readTable(file, source.format);
  checkSpecAgainstTable(spec, source, table);
  const buildHistories = spec.fields.some((f) => f.kind === 'sequence') && !source.sequence && source.time !== undefined;
  return { examples: tableExamples(spec, rowEvents(spec, source, table), { buildHistories }), rows: table.rows.length };
}

export interface TableCtrSplits extends CtrSplits {
  /** What was done, in words: printed at the start of a run and kept in the training record. */
  description: string;
}

/**
 * A table source's train, validation and test examples: the user's files as
 * given, or one file split as configured (by default by time when it has a
 * time column, else randomly). Relative paths resolve against `baseDir`.
 */
export async function tableCtrSplits(spec: FeatureSpec, source: TableSource, baseDir = process.cwd()): Promise<TableCtrSplits> {
  const resolve = (f: string): string => path.resolve(baseDir, f);
  const read = async (f: string): Promise<Table> => {
    const table = await readTable(resolve(f), source.format);
    checkSpecAgainstTable(spec, source, table);
    return table;
  };
  const hasSequenceField = spec.fields.some((f) => f.kind === 'sequence');
  const buildHistories = hasSequenceField && !source.sequence && source.time !== undefined;
  const description = describeSplit(source);
  const split = effectiveSplit(source);
  let parts: Record<Part, Example[]>;
  if (split) {
    const table = await read(source.file!);
    parts = splitExamples(tableExamples(spec, rowEvents(spec, source, table), { buildHistories }), split);
  } else {
    const files = source.files!;
    const named = (['train', 'validation', 'test'] as const).filter((p) => files[p] !== undefined);
    const rows: Partial<Record<Part, RowEvents>> = {};
    let offset = 0;
    for (const p of named) {
      const table = await read(files[p]!);
      rows[p] = rowEvents(spec, source, table, offset);
      offset += table.rows.length;
    }
    if (buildHistories) {
      // One builder over all files, so a test row's history holds the user's earlier train rows (strictly before it in time).
      const all = tableExamples(spec, { events: named.flatMap((p) => rows[p]!.events) }, { buildHistories });
      const partOf = new Map(named.flatMap((p) => rows[p]!.events.map((e) => [e, p] as const)));
      parts = { train: [], validation: [], test: [] };
      for (const e of all) parts[partOf.get(e.event)!].push(e);
    } else {
      parts = { train: [], validation: [], test: [] };
      for (const p of named) parts[p] = tableExamples(spec, rows[p]!, { buildHistories: false });
    }
    if (!files.validation) {
      // The train file's newest tenth (its last rows without a time column) validates.
      const train = source.time ? byTime(parts.train) : parts.train;
      const n = Math.ceil(train.length * 0.1);
      parts.validation = train.slice(train.length - n);
      parts.train = train.slice(0, train.length - n);
    }
  }
  if (parts.train.length === 0) throw new ValidationError(`no training examples (${description})`);
  if (parts.validation.length === 0) throw new ValidationError(`no validation examples (${description}): early stopping needs some`);
  return { spec, encoder: FeatureEncoder.fit(spec, parts.train), ...parts, description };
}
