import type { Calibration, CtrMetrics } from '../../models/metrics/classification.js';
import type { EpochResult } from '../../models/train/train-ctr.js';
import { htmlPage, htmlTable, linePlot } from './svg-plot.js';

export interface TrainingReportInput {
  name: string;
  artifactDir?: string;
  epochs: EpochResult[];
  bestEpoch: number;
  test: CtrMetrics;
  calibration: Calibration;
  /** Which split `test` holds. @default 'test' */
  evaluatedSplit?: string;
}

/** The evaluation report: metrics table, learning curves, reliability diagram. */
export function trainingReport(r: TrainingReportInput): string {
  const metrics = htmlTable(['split', 'AUC', 'GAUC', 'logloss', 'ECE', 'pred/obs', 'examples'], [
    ['validation (best epoch)', ...row(r.epochs[r.bestEpoch - 1]!.validation)],
    [r.evaluatedSplit ?? 'test', ...row(r.test)],
  ]);
  const curves = [
    linePlot('Learning curves', 'epoch', 'loss', [
      { name: 'train logloss', points: r.epochs.map((e) => [e.epoch, e.trainLoss]) },
      { name: 'validation logloss', points: r.epochs.map((e) => [e.epoch, e.validation.logloss]) },
    ]),
    linePlot('Validation AUC', 'epoch', 'AUC', [
      { name: 'AUC', points: r.epochs.map((e) => [e.epoch, e.validation.auc]) },
      { name: 'GAUC', points: r.epochs.map((e) => [e.epoch, e.validation.gauc]) },
    ]),
    linePlot(`Calibration (${r.evaluatedSplit ?? 'test'})`, 'mean predicted', 'observed click rate', [
      { name: 'model', points: r.calibration.bins.map((b) => [b.predicted, b.observed]) },
      { name: 'ideal', points: [[0, 0], [1, 1]], dashed: true, color: '#999' },
    ], { square: true }),
  ];
  return htmlPage(`Training report: ${r.name}`, `${r.artifactDir ? `<p>Artifact: <code>${r.artifactDir}</code></p>` : ''}
<p>Best epoch ${r.bestEpoch} of ${r.epochs.length} (early stopping on validation AUC).</p>${metrics}<div class="plots">${curves.join('\n')}</div>`);
}

function row(m: CtrMetrics): (number | string)[] {
  return [m.auc, m.gauc, m.logloss, m.ece, m.calibrationRatio, m.examples];
}
