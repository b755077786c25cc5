import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { SingleBar, Presets } from 'cli-progress';
import { defaultMovieLensDir, loadMovieLens } from '../../features/datasets/movielens.js';
import { movieLensCtrSplits } from '../../features/datasets/movielens-ctr.js';
import { resolveSyntheticOptions, syntheticBayesReport, syntheticEvents } from '../../features/datasets/synthetic.js';
import { ValidationError } from '../../infra/errors.js';
import { positiveInt } from '../options.js';

const fraction = (value: string): number => {
  const x = Number(value);
  if (!(x > 0 && x < 1)) throw new ValidationError(`--abrupt-drift-at must be a fraction in (0, 1), got ${JSON.stringify(value)}`);
  return x;
};

export function registerData(program: Command): void {
  const data = program.command('data').description('datasets: MovieLens-100K and the synthetic click stream');

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
