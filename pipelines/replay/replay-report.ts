import { forestPlot, htmlPage, htmlTable, linePlot } from '../reports/svg-plot.js';
import type { CalibrationBin } from '../../models/metrics/classification.js';
import { ESTIMATOR_ASSUMPTIONS } from './estimators/estimator-assumptions.js';
import { ESTIMATORS, type Estimator } from './estimators/policy-stats.js';
import type { ReplayResultRow } from './replay-results.js';

/**
 * The HTML report of one replay: the lead sentence and the verdicts first,
 * then forest plots of B − A (the metrics and estimators named on the
 * vertical axis, a line at zero, a caption each), calibration curves of both
 * models, the estimators' assumptions and the full result table.
 */
export interface ReportInput {
  jobId: string;
  a: string;
  b: string;
  from: number;
  to: number;
  rows: readonly ReplayResultRow[];
  calibration: { a: CalibrationBin[]; b: CalibrationBin[] };
}

const fmt = (v: number | null) => (v === null ? '–' : v);
const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function differencePlot(title: string, rows: readonly ReplayResultRow[], caption: string): string {
  return forestPlot(title, 'B − A (95% interval)', rows.map((r) => ({
    label: r.metric, value: r.value ?? Number.NaN, lo: r.lo ?? Number.NaN, hi: r.hi ?? Number.NaN, muted: r.verdict !== '' && r.verdict !== 'reliable',
  })), caption);
}

export function replayReport(r: ReportInput): string {
  const diff = r.rows.filter((x) => x.arm === 'b-a');
  const isEstimator = (metric: string) => (ESTIMATORS as readonly string[]).includes(metric);
  const quality = diff.filter((x) => !isEstimator(x.metric));
  const policy = diff.filter((x) => isEstimator(x.metric));
  const curve = (bins: CalibrationBin[]): [number, number][] => bins.map((b) => [b.predicted, b.observed]);
  const plots = [
    differencePlot('Prediction quality: B − A', quality, 'B − A of each prediction metric on the shown impressions (higher AUC/GAUC is better, lower logloss/ECE is better), with user-level bootstrap 95% intervals.'),
    differencePlot('Policy value (clicks per request): B − A', policy, 'B − A in expected clicks per request by each estimator, with paired user-level bootstrap 95% intervals; hollow grey points are unreliable estimates (see the verdicts), not conclusions.'),
    `<figure>${linePlot('Calibration', 'predicted click probability', 'observed click rate', [
      { name: `A ${r.a}`, points: curve(r.calibration.a) },
      { name: `B ${r.b}`, points: curve(r.calibration.b) },
      { name: 'perfect', points: [[0, 0], [1, 1]], color: '#888', dashed: true },
    ], { square: true })}<figcaption>Observed click rate against predicted probability of A and B on the shown impressions, by probability decile; the dashed diagonal is perfect calibration.</figcaption></figure>`,
  ];
  const table = htmlTable(
    ['arm', 'model', 'metric', 'value', '95% lo', '95% hi', 'ESS', 'max weight', 'clip rate', 'support', 'verdict', 'n', 'why missing'],
    r.rows.filter((x) => x.metric !== 'lead').map((x) => [x.arm, x.model, x.metric, fmt(x.value), fmt(x.lo), fmt(x.hi), fmt(x.ess), fmt(x.max_weight), fmt(x.clip_rate), fmt(x.support), x.verdict, x.n, x.note]),
  );
  const lead = r.rows.find((x) => x.arm === 'window' && x.metric === 'lead')?.note ?? '';
  const verdicts = htmlTable(['estimator', 'B − A', '95% interval', 'verdict'], policy.map((x) => [x.metric, fmt(x.value), x.lo === null || x.hi === null ? '–' : `[${x.lo.toFixed(3)}, ${x.hi.toFixed(3)}]`, x.verdict]));
  const assumptions = htmlTable(['estimator', 'assumes'], policy.map((x) => [x.metric, ESTIMATOR_ASSUMPTIONS[x.metric as Estimator]]));
  const window = `${new Date(r.from).toISOString()} – ${new Date(r.to).toISOString()}`;
  return htmlPage(`Replay ${r.jobId}: ${r.b} vs ${r.a}`,
    `<p class="lead"><strong>${escapeHtml(lead)}</strong></p>${verdicts}<p>A = ${r.a}, B = ${r.b}; decisions in ${window}. Intervals: user-level bootstrap (B − A paired by user), 95% percentile; weights clipped at the job's maxWeight, fixed before the data is read. An unreliable estimate is shown but is not a conclusion.</p><div class="plots">${plots.join('\n')}</div><h2>Estimators</h2>${assumptions}<h2>Results</h2>${table}`);
}
