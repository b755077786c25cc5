import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { SingleBar, Presets } from 'cli-progress';
import { defaultMovieLensDir, loadMovieLens } from '../../features/datasets/movielens.js';
import { movieLensCtrSplits } from '../../features/datasets/movielens-ctr.js';
import { resolveSyntheticOptions, syntheticBayesReport, syntheticEvents } from '../../features/datasets/synthetic.js';
import { ValidationError } from '../../infra/errors.js';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { oneOf, positiveInt } from '../options.js';
import { formatTable } from '../output/format-table.js';
import { TABLE_FORMATS, readTable, type TableFormat } from '../../features/table/read-table.js';
import { inspectTable, starterSpec } from '../../features/table/inspect-table.js';

const fraction = (value: string): number => {
  const x = Number(value);
  if (!(x > 0 && x < 1)) throw new ValidationError(`--abrupt-drift-at must be a fraction in (0, 1), got ${JSON.stringify(value)}`);
  return x;
};

export function registerData(program: Command): void {
  const data = program.command('data').description('datasets: MovieLens-100K, the synthetic click stream, and inspecting your own files');

  data
    .command('inspect <file>')
    .description('read a CSV/TSV, JSON-lines or libFM file, print its inferred schema (kind, distinct values, missing share per column; label balance) and write a starter feature spec and training config to edit (docs/guides/your-own-data.md)')
    .option('--format <format>', `file format (default: from the extension): ${TABLE_FORMATS.join(', ')}`, oneOf('format', TABLE_FORMATS))
    .option('--label <column>', 'the label column (default: one named label, click, y, target, rating, …)')
    .option('--user <column>', 'the user id column (default: user_id, user, uid …)')
    .option('--item <column>', 'the item id column (default: item_id, item, movie_id …)')
    .option('--time <column>', 'the event time column (default: ts, timestamp, time, date …)')
    .option('--multi <column=sep...>', 'multi-valued columns and their separator, e.g. genres=|', (v: string, all: string[] = []) => [...all, v])
    .option('--sequence <column=sep>', 'a column holding the behaviour sequence (item ids), e.g. history=|')
    .option('--name <name>', 'name of the spec and model (default: the file name)')
    .option('--out-dir <dir>', 'where the starter files go (default: beside the file)')
    .option('--no-write', 'only print the schema')
    .action(async (file: string, opts: { format?: TableFormat; label?: string; user?: string; item?: string; time?: string; multi?: string[]; sequence?: string; name?: string; outDir?: string; write: boolean }) => {
      const table = await readTable(file, opts.format);
      const pair = (v: string, flag: string): [string, string] => {
        const at = v.lastIndexOf('=');
        if (at <= 0 || at === v.length - 1) throw new ValidationError(`${flag} wants column=separator, got ${JSON.stringify(v)}`);
        return [v.slice(0, at), v.slice(at + 1)];
      };
      const sequence = opts.sequence ? pair(opts.sequence, '--sequence') : undefined;
      const summary = inspectTable(table, {
        ...(opts.label ? { label: opts.label } : {}), ...(opts.user ? { user: opts.user } : {}), ...(opts.item ? { item: opts.item } : {}), ...(opts.time ? { time: opts.time } : {}),
        separators: Object.fromEntries((opts.multi ?? []).map((m) => pair(m, '--multi'))),
        ...(sequence ? { sequence: { column: sequence[0], separator: sequence[1] } } : {}),
      });
      console.log(`${file}: ${summary.rows} rows, ${summary.columns.length} columns (${table.format})`);
      console.log(formatTable(['column', 'kind', 'distinct', 'missing', 'example'], summary.columns.map((c) => [c.column, c.kind, c.distinct, `${(c.missingShare * 100).toFixed(1)}%`, c.example.slice(0, 40)])));
      if (summary.label) {
        const { positives, negatives, column, map } = summary.label;
        console.log(`label ${column} (map ${JSON.stringify(map)}): ${positives} positive, ${negatives} negative (${((positives / Math.max(1, positives + negatives)) * 100).toFixed(1)}% positive); values ${JSON.stringify(summary.label.values)}`);
      } else {
        console.log('label: no column looks like one; name it with --label <column>');
      }
      const unaddressable = summary.columns.filter((c) => !/^[A-Za-z0-9_]+$/.test(c.column) && ['categorical', 'numeric', 'multi'].includes(c.kind));
      if (unaddressable.length > 0) console.log(`left out of the spec (a feature source is context.<letters, digits, _>): ${unaddressable.map((c) => JSON.stringify(c.column)).join(', ')}`);
      if (!opts.write) return;
      const name = (opts.name ?? path.basename(file).replace(/\.[^.]+$/, '')).toLowerCase().replace(/[^a-z0-9_-]/g, '-').replace(/^[^a-z0-9]+/, '') || 'my-data';
      const dir = path.resolve(opts.outDir ?? path.dirname(file));
      await mkdir(dir, { recursive: true });
      const specFile = path.join(dir, `${name}.features.json`);
      const configFile = path.join(dir, `${name}.train.json`);
      const relative = (f: string): string => path.relative(dir, path.resolve(f)) || '.';
      await writeFile(specFile, `${JSON.stringify(starterSpec(name, summary), null, 2)}\n`);
      await writeFile(configFile, `${JSON.stringify({
        name, source: { ...summary.source, file: relative(file) }, features: relative(specFile),
        model: { type: 'dnn', seed: 1, embeddingLearningRate: 0.005 }, training: { epochs: 10, batchSize: 256, patience: 2 },
      }, null, 2)}\n`);
      console.log(`wrote ${specFile}\nwrote ${configFile}\nedit them, then: npx recsys train --config ${path.relative(process.cwd(), configFile).startsWith('..') ? configFile : path.relative(process.cwd(), configFile)}`);
      console.log(JSON.stringify({ rows: summary.rows, columns: summary.columns.length, label: summary.label, spec: specFile, config: configFile }));
    });

  data
    .command('movielens')
    .description('load MovieLens-100K (downloading it when missing) and print the CTR protocol split')
    .option('--dir <path>', 'dataset directory (env ML100K_DIR)', defaultMovieLensDir())
    .option('--no-download', 'fail instead of downloading when the files are missing')
    .action(async (opts: { dir: string; download: boolean }) => {
      const ml = await loadMovieLens(opts.dir, { download: opts.download });
      const splits = movieLensCtrSplits(ml);
      const rate = (xs: { label: number }[]) => (xs.reduce((a, e) => a + e.label, 0) / xs.length).toFixed(3);
      console.log(`${opts.dir}: ${ml.ratings.length} ratings, ${ml.users.size} users, ${ml.items.size} items`);
      console.log(`train ${splits.train.length} (positive rate ${rate(splits.train)}), validation ${splits.validation.length} (${rate(splits.validation)}), test ${splits.test.length} (${rate(splits.test)})`);
      console.log(JSON.stringify({ ratings: ml.ratings.length, train: splits.train.length, validation: splits.validation.length, test: splits.test.length }));
    });

  data
    .command('synthetic')
    .description('write the synthetic click stream as JSONL events and print its Bayes-optimal AUC')
    .option('--events <n>', 'impressions', positiveInt('events'), 200_000)
    .option('--users <n>', 'users', positiveInt('users'), 2000)
    .option('--items <n>', 'items', positiveInt('items'), 5000)
    .option('--seed <n>', 'random seed', positiveInt('seed'), 42)
    .option('--abrupt-drift-at <fraction>', 're-draw user interests after this share of the stream', fraction)
    .option('--out <file>', 'JSONL output file (omit to only report)')
    .action(async (opts: { events: number; users: number; items: number; seed: number; abruptDriftAt?: number; out?: string }) => {
      const options = resolveSyntheticOptions({ events: opts.events, users: opts.users, items: opts.items, seed: opts.seed, ...(opts.abruptDriftAt ? { abruptDriftAt: opts.abruptDriftAt } : {}) });
      if (opts.out) {
        const out = createWriteStream(opts.out);
        const bar = new SingleBar({ format: 'writing [{bar}] {percentage}% | {value}/{total} events | ETA {eta}s', etaBuffer: 1000 }, Presets.shades_classic);
        const total = options.events + options.items + options.users;
        bar.start(total, 0);
        let n = 0;
        for (const event of syntheticEvents(options)) {
          if (!out.write(`${JSON.stringify(event)}\n`)) await once(out, 'drain');
          if (++n % 10_000 === 0) bar.update(n);
        }
        bar.update(n);
        bar.stop();
        out.end();
        await once(out, 'finish');
      }
      const report = syntheticBayesReport(options);
      console.log(`${report.events} impressions, click rate ${report.clickRate.toFixed(4)}, Bayes-optimal AUC ${report.bayesAuc.toFixed(4)}${opts.out ? `, written to ${opts.out}` : ''}`);
      console.log(JSON.stringify(report));
    });
}
