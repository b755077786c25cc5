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
import { readTrainingRecord } from './training-record.js';

export type EvalSplit = 'train' | 'validation' | 'test';

export interface EvaluationOptions {
  /** @default 'test' */
  split?: EvalSplit;
  /** @default 'float' */
  precision?: Precision;
  /** Data to evaluate on; by default the source the model was trained on (from its training.json). */
  source?: SourceConfig;
  /** HTML report path; none when omitted. */
  reportFile?: string;
}

export interface EvaluationResult {
  artifactDir: string;
  model: string;
  version: number;
  split: EvalSplit;
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
export async function runEvaluation(artifactDir: string, options: EvaluationOptions = {}): Promise<EvaluationResult> {
  const { split = 'test', precision = 'float' } = options;
  const artifact = await readArtifact(artifactDir);
  const record = await readTrainingRecord(artifact);
  const { model, manifest } = await loadCtrModel(artifact);
  try {
    const splits = await loadSplits(options.source ?? record.source, model.encoder.spec);
    const data = model.encoder.encode(splits[split]);
    CtrScorer.fromModel(model, precision);
    const { probabilities, ...metrics } = evaluate(model, data);
    const result: EvaluationResult = {
      artifactDir, model: manifest.model, version: manifest.version, split, precision, metrics,
      calibration: calibration(data.labels, probabilities),
    };
    if (options.reportFile) {
      await mkdir(path.dirname(path.resolve(options.reportFile)), { recursive: true });
      await writeFile(options.reportFile, trainingReport({
        name: `${manifest.model} v${manifest.version} (${split}, ${precision})`, artifactDir, epochs: record.epochs,
        bestEpoch: record.bestEpoch, test: metrics, calibration: result.calibration, evaluatedSplit: split,
      }));
      result.reportFile = path.resolve(options.reportFile);
    }
    return result;
  } finally {
    model.dispose();
  }
}
