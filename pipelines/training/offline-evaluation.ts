import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readArtifact } from '../../models/artifact/read-artifact.js';
import { CtrScorer, type Precision } from '../../models/ctr/ctr-scorer.js';
import { loadCtrModel } from '../../models/ctr-artifact/model-artifact.js';
import { calibration, type Calibration, type CtrMetrics } from '../../models/metrics/classification.js';
import { evaluate } from '../../models/train/evaluate.js';
import { trainingReport } from '../reports/training-report.js';
import { loadSplits } from './load-splits.js';
import type { SourceConfig } from './train-config.js';
import { defaultSplitDescription } from './offline-training.js';
import { ValidationError } from '../../infra/errors.js';
import type { Example } from '../../features/samples/example.js';
import type { FeatureSpec } from '../../features/spec/feature-spec.js';
import { tableFileExamples } from '../../features/table/table-splits.js';
import { examplesFromEvents } from '../../features/datasets/ctr-sources.js';
import { readJsonlEvents } from '../../features/events/jsonl-events.js';
import { readTrainingRecord } from './training-record.js';

export type EvalSplit = 'train' | 'validation' | 'test';

export interface EvaluationOptions {
  /** @default 'test' */
  split?: EvalSplit;
  /** @default 'float' */
  precision?: Precision;
  /** Data to evaluate on; by default the source the model was trained on (from its training.json). */
  source?: SourceConfig;
  /** Score every row of this file instead of a split: read with the model's own table source settings (columns, label map), or as events when it was trained on a JSONL or event source. */
  file?: string;
  /** HTML report path; none when omitted. */
  reportFile?: string;
}

export interface EvaluationResult {
  artifactDir: string;
  model: string;
  version: number;
  /** The split scored, or `file` for a given file. */
  split: EvalSplit | 'file';
  /** What was scored, in words. */
  scored: string;
  precision: Precision;
  metrics: CtrMetrics;
  calibration: Calibration;
  reportFile?: string;
}

/**
 * Evaluates a published model from its artifact alone: the examples are
 * rebuilt from the source through the point-in-time builder and encoded with
 * the feature encoder saved in the artifact (not refitted), exactly as serving
 * would encode them.
 */
async function splitExamples(source: SourceConfig, spec: FeatureSpec, split: EvalSplit): Promise<{ examples: Example[]; scored: string }> {
  const splits = await loadSplits(source, spec);
  return { examples: splits[split], scored: `the ${split} part (${splits[split].length} examples) of ${splits.description ?? defaultSplitDescription(source.kind)}` };
}

async function fileExamples(file: string, source: SourceConfig, spec: FeatureSpec): Promise<{ examples: Example[]; scored: string }> {
  if (source.kind === 'table') {
    const { examples, rows } = await tableFileExamples(spec, source, path.resolve(file));
    return { examples, scored: `all ${rows} rows of ${file} (columns and label map of the model's table source)` };
  }
  const examples = examplesFromEvents(spec, await readJsonlEvents(file));
  return { examples, scored: `all ${examples.length} examples the events of ${file} make (${spec.exampleTypes.join('/')} events)` };
}

export async function runEvaluation(artifactDir: string, options: EvaluationOptions = {}): Promise<EvaluationResult> {
  const { split = 'test', precision = 'float' } = options;
  const artifact = await readArtifact(artifactDir);
  const record = await readTrainingRecord(artifact);
  const { model, manifest } = await loadCtrModel(artifact);
  try {
    const { examples, scored } = options.file
      ? await fileExamples(options.file, options.source ?? record.source, model.encoder.spec)
      : await splitExamples(options.source ?? record.source, model.encoder.spec, split);
    if (examples.length === 0) throw new ValidationError(`nothing to score: ${scored}`);
    const data = model.encoder.encode(examples);
    CtrScorer.fromModel(model, precision);
    const { probabilities, ...metrics } = evaluate(model, data);
    const result: EvaluationResult = {
      artifactDir, model: manifest.model, version: manifest.version, split: options.file ? 'file' : split, scored, precision, metrics,
      calibration: calibration(data.labels, probabilities),
    };
    if (options.reportFile) {
      await mkdir(path.dirname(path.resolve(options.reportFile)), { recursive: true });
      await writeFile(options.reportFile, trainingReport({
        name: `${manifest.model} v${manifest.version} (${result.split}, ${precision})`, artifactDir, epochs: record.epochs,
        bestEpoch: record.bestEpoch, test: metrics, calibration: result.calibration, evaluatedSplit: result.split,
      }));
      result.reportFile = path.resolve(options.reportFile);
    }
    return result;
  } finally {
    model.dispose();
  }
}
