import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ValidationError } from '../../../../infra/errors.js';
import { parseFeatureSpec } from '../../../../features/spec/feature-spec.js';
import { mapLabel, parseTime } from '../../../../features/table/table-examples.js';
import { splitExamples, tableCtrSplits } from '../../../../features/table/table-splits.js';
import { TableSourceSchema, describeSplit, type TableSource } from '../../../../features/table/table-source.js';
import type { Example } from '../../../../features/samples/example.js';

const spec = parseFeatureSpec({
  name: 't', version: 1,
  fields: [
    { kind: 'categorical', name: 'user_id', source: 'user_id' },
    { kind: 'categorical', name: 'daytime', source: 'context.daytime' },
    { kind: 'numeric', name: 'price', source: 'context.price', boundaries: [10, 50] },
    { kind: 'multi', name: 'genres', source: 'context.genres', maxLength: 4 },
  ],
});
const source = (fields: Record<string, unknown>): TableSource => TableSourceSchema.parse({ kind: 'table', label: { column: 'click' }, user: 'user', item: 'item', separators: { genres: '|' }, ...fields });

/** Rows of 10 users × 20 each, time increasing with the row, the user's rows interleaved. */
function csv(rows = 200): string {
  const lines = ['user,item,ts,daytime,price,genres,click'];
  for (let k = 0; k < rows; k++) lines.push(`u${k % 10},i${k % 7},${1_700_000_000 + k * 60},${['am', 'pm'][k % 2]},${k % 100},a|b,${k % 3 === 0 ? 1 : 0}`);
  return `${lines.join('\n')}\n`;
}

describe('table source: examples and splits', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(path.join(tmpdir(), 'table-splits-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });
  const file = async (name: string, text: string): Promise<string> => { const f = path.join(dir, name); await writeFile(f, text); return f; };

  it('maps labels by the configured rule; anything else names the accepted values', () => {
    assert.equal(mapLabel('1', 'binary'), 1);
    assert.equal(mapLabel('false', 'binary'), 0);
    assert.match(String(mapLabel('-1', 'binary')), /"-1" is not 0 or 1 .*use "signed" for −1\/1/);
    assert.equal(mapLabel('-1', 'signed'), 0);
    assert.match(String(mapLabel('0', 'signed')), /not −1 or 1/);
    assert.equal(mapLabel('4', { threshold: 4 }), 1);
    assert.equal(mapLabel(3.5, { threshold: 4 }), 0);
    assert.match(String(mapLabel(undefined, 'binary')), /missing/);
    assert.equal(parseTime('1700000000'), 1_700_000_000_000);
    assert.equal(parseTime('2024-01-02T00:00:00Z'), Date.UTC(2024, 0, 2));
    assert.equal(parseTime('yesterday'), undefined);
  });

  it('a row with a bad label is refused with its line and the accepted values', async () => {
    const f = await file('bad-label.csv', 'user,item,daytime,price,genres,click\nu1,i1,am,3,a,1\nu2,i1,pm,4,b,-1\n');
    await assert.rejects(tableCtrSplits(spec, source({ file: f })), (e: unknown) => e instanceof ValidationError && /1 invalid rows.*line 3: label "-1" is not 0 or 1/.test(e.message));
  });

  it('a spec field reading a column the file lacks is refused before training, naming the columns', async () => {
    const f = await file('typo.csv', csv(20));
    const typo = parseFeatureSpec({ name: 't', version: 1, fields: [{ kind: 'categorical', name: 'daytime', source: 'context.day_time' }] });
    await assert.rejects(tableCtrSplits(typo, source({ file: f })), (e: unknown) => e instanceof ValidationError && /reads context\.day_time but .* has no column "day_time" \(columns: user, item, ts, daytime/.test(e.message));
  });

  it('random split: the configured fractions, the same rows for the same seed, others for another', async () => {
    const f = await file('r.csv', csv());
    const a = await tableCtrSplits(spec, source({ file: f, split: { kind: 'random', fractions: [0.7, 0.1, 0.2], seed: 3 } }));
    assert.deepEqual([a.train.length, a.validation.length, a.test.length], [140, 20, 40]);
    const b = await tableCtrSplits(spec, source({ file: f, split: { kind: 'random', fractions: [0.7, 0.1, 0.2], seed: 3 } }));
    const ids = (xs: Example[]) => xs.map((e) => e.event.event_id);
    assert.deepEqual(ids(b.test), ids(a.test));
    const c = await tableCtrSplits(spec, source({ file: f, split: { kind: 'random', fractions: [0.7, 0.1, 0.2], seed: 4 } }));
    assert.notDeepEqual(ids(c.test), ids(a.test));
    // Values as the spec reads them: numbers for numeric fields, lists for multi-valued columns.
    const first = a.train[0]!;
    assert.equal(typeof first.event.context!.price, 'number');
    assert.deepEqual(first.event.context!.genres, ['a', 'b']);
    assert.match(a.description, /random split .* seed 3, 70% train \/ 10% validation \/ 20% test$/);
  });

  it('time split (the default with a time column): every train row is before every validation row, before every test row', async () => {
    const f = await file('t.csv', csv().split('\n').reverse().filter((l) => l !== '' && !l.startsWith('user')).reduce((s, l) => `${s}${l}\n`, 'user,item,ts,daytime,price,genres,click\n'));
    const s = await tableCtrSplits(spec, source({ file: f, time: 'ts' }));
    assert.deepEqual([s.train.length, s.validation.length, s.test.length], [160, 20, 20]);
    const max = (xs: Example[]) => Math.max(...xs.map((e) => e.event.ts));
    const min = (xs: Example[]) => Math.min(...xs.map((e) => e.event.ts));
    assert.ok(max(s.train) < min(s.validation) && max(s.validation) < min(s.test));
    assert.match(s.description, /time split .* rows ordered by ts, 80% train \/ 10% validation \/ 10% test \(the default/);
  });

  it('per-user-time split: each user contributes its oldest rows to train and newest to test', async () => {
    const f = await file('p.csv', csv());
    const s = await tableCtrSplits(spec, source({ file: f, time: 'ts', split: { kind: 'per-user-time', fractions: [0.8, 0.1, 0.1] } }));
    assert.deepEqual([s.train.length, s.validation.length, s.test.length], [160, 20, 20]);
    for (let u = 0; u < 10; u++) {
      const of = (xs: Example[]) => xs.filter((e) => e.event.user_id === `u${u}`).map((e) => e.event.ts);
      assert.equal(of(s.test).length, 2);
      assert.ok(Math.max(...of(s.train)) < Math.min(...of(s.validation)) && Math.max(...of(s.validation)) < Math.min(...of(s.test)), `user u${u}`);
    }
  });

  it('given files are used as given; without a validation file the train file\'s last tenth validates', async () => {
    const train = await file('train.csv', csv(100));
    const test = await file('test.csv', csv(30));
    const s = await tableCtrSplits(spec, source({ files: { train, test } }));
    assert.deepEqual([s.train.length, s.validation.length, s.test.length], [90, 10, 30]);
    assert.deepEqual(s.validation.map((e) => e.event.event_id), Array.from({ length: 10 }, (_, k) => `${train}:${92 + k}`));
    assert.match(describeSplit(source({ files: { train, test } })), /given files: train .*train\.csv \(validation: the train file's last 10%\), test .*test\.csv/);
  });

  it('histories: from a sequence column, or from the user\'s earlier positive rows when a time column is given', async () => {
    const withSequence = parseFeatureSpec({
      name: 's', version: 1, behaviour: { types: ['impression'], positiveOnly: true, maxLength: 5 },
      fields: [{ kind: 'categorical', name: 'item_id', source: 'item_id' }, { kind: 'sequence', name: 'hist', of: 'item_id', maxLength: 5 }],
    });
    const f = await file('seq.csv', 'user,item,hist,click\nu1,i3,i1|i2,1\nu1,i4,,0\n');
    const given = await tableCtrSplits(withSequence, source({ file: f, sequence: { column: 'hist' }, separators: {}, split: { kind: 'random', fractions: [0.5, 0.5, 0], seed: 1 } }));
    const all = [...given.train, ...given.validation];
    assert.deepEqual(all.find((e) => e.event.item_id === 'i3')!.history.map((h) => h.item_id), ['i1', 'i2']);
    assert.deepEqual(all.find((e) => e.event.item_id === 'i4')!.history, []);

    const g = await file('built.csv', csv(60));
    const built = await tableCtrSplits(withSequence, source({ file: g, time: 'ts', separators: {} }));
    for (const e of [...built.train, ...built.validation, ...built.test]) {
      for (const h of e.history) assert.ok(h.ts < e.event.ts, 'strictly before the row');
    }
    const last = built.test.at(-1)!;
    assert.ok(last.history.length > 0, 'a late row has the user\'s earlier clicks as history');
  });

  it('the source schema refuses contradictions with a message', () => {
    assert.throws(() => TableSourceSchema.parse({ kind: 'table', label: { column: 'y' } }), /name either .*file.* or .*files/);
    assert.throws(() => TableSourceSchema.parse({ kind: 'table', file: 'a.csv', label: { column: 'y' }, split: { kind: 'time' } }), /needs the time column/);
    assert.throws(() => TableSourceSchema.parse({ kind: 'table', file: 'a.csv', label: { column: 'y' }, split: { kind: 'random', fractions: [0.5, 0.1, 0.1] } }), /sum to 1/);
  });

  it('splitExamples keeps every example exactly once', () => {
    const examples = Array.from({ length: 37 }, (_, k) => ({ event: { event_id: String(k), ts: k, user_id: `u${k % 4}` } }) as unknown as Example);
    for (const kind of ['random', 'time', 'per-user-time'] as const) {
      const parts = splitExamples(examples, { kind, fractions: [0.6, 0.2, 0.2], seed: 1 });
      const ids = [...parts.train, ...parts.validation, ...parts.test].map((e) => e.event.event_id).sort();
      assert.deepEqual(ids, examples.map((e) => e.event.event_id).sort(), kind);
    }
  });
});
