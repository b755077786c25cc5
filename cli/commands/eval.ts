import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultRegistryDir } from '../../infra/config.js';
import type { EvalSplit } from '../../pipelines/training/offline-evaluation.js';
import { loadTrainConfig } from '../../pipelines/training/train-config.js';
import { resolveModelDir } from '../../pipelines/registry/resolve-model-dir.js';
import type { Precision } from '../../models/ctr/ctr-scorer.js';
import { formatTable } from '../output/format-table.js';
import { oneOf } from '../options.js';

interface EvalFlags {
  model: string;
  registry: string;
  split: EvalSplit;
  precision: Precision;
  config?: string;
  file?: string;
  out?: string;
  report?: string;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluate a published model: AUC, GAUC, logloss, calibration; JSON plus an HTML report')
    .requiredOption('--model <name[@version|@serving] | dir>', 'a registry model (latest version unless @version, @latest or @serving is given) or an artifact folder')
    .option('--registry <dir>', 'model registry folder (env RECSYS_REGISTRY)', defaultRegistryDir())
    .option('--split <split>', 'train, validation or test', oneOf('split', ['train', 'validation', 'test'] as const), 'test')
    .option('--precision <p>', 'embedding tables as float or int8', oneOf('precision', ['float', 'int8'] as const), 'float')
    .option('--config <file>', "evaluate on this training config's source instead of the one the model was trained on")
    .option('--file <path>', "score every row of this file (a given test file), read with the model's own source settings: a table source's columns and label map, or JSONL events")
    .option('--out <file>', 'write the JSON result to this file (it is always printed)')
    .option('--report <file>', 'HTML report path (default: eval-<split>-<precision>.html beside the artifact)')
    .action(async (flags: EvalFlags) => {
      const dir = await resolveModelDir(flags.model, flags.registry);
      const what = flags.file ? path.basename(flags.file).replace(/[^A-Za-z0-9_.-]/g, '_') : flags.split;
      const reportFile = flags.report ?? path.join(dir, '..', `eval-${path.basename(dir)}-${what}-${flags.precision}.html`);
      const source = flags.config ? loadTrainConfig(flags.config).source : undefined;
      const { runEvaluation } = await import('../../pipelines/training/offline-evaluation.js');
      const result = await runEvaluation(dir, { split: flags.split, precision: flags.precision, source, reportFile, ...(flags.file ? { file: flags.file } : {}) });
      console.log(`scored: ${result.scored}`);
      const m = result.metrics;
      console.log(formatTable(['model', 'split', 'precision', 'AUC', 'GAUC', 'logloss', 'ECE', 'pred/obs', 'examples'], [
        [`${result.model} v${result.version}`, result.split, result.precision, m.auc, m.gauc, m.logloss, m.ece, m.calibrationRatio, m.examples],
      ]));
      console.log(`report: ${result.reportFile}`);
      const json = JSON.stringify(result);
      if (flags.out) await writeFile(flags.out, `${json}\n`);
      console.log(json);
    });
}
