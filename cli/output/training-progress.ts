import { SingleBar, Presets } from 'cli-progress';
import type { EpochResult, StepProgress } from '../../models/train/train-ctr.js';

/**
 * A progress bar over all training steps (loss, examples/s, ETA) plus one
 * line per finished epoch. Epochs may stop early, so the total is the upper
 * bound and the bar simply ends short.
 */
export function trainingProgress(label: string, epochs: number): { onStep: (p: StepProgress) => void; onEpoch: (e: EpochResult) => void; stop: () => void } {
  const interactive = process.stderr.isTTY === true;
  const bar = new SingleBar({
    format: `${label} [{bar}] epoch {epoch}/${epochs} | step {step}/{steps} | loss {loss} | {rate} ex/s | ETA {eta_formatted}`,
    etaBuffer: 200,
    hideCursor: interactive,
    stream: process.stderr,
  }, Presets.shades_classic);
  let started = false;
  return {
    onStep(p) {
      const payload = { epoch: p.epoch, step: p.step, steps: p.stepsPerEpoch, loss: p.loss.toFixed(4), rate: Math.round(p.examplesPerSecond) };
      if (!started) {
        bar.start(epochs * p.stepsPerEpoch, 0, payload);
        started = true;
      }
      bar.update((p.epoch - 1) * p.stepsPerEpoch + p.step, payload);
    },
    onEpoch(e) {
      const v = e.validation;
      const line = `epoch ${e.epoch}: train logloss ${e.trainLoss.toFixed(4)} | validation AUC ${v.auc.toFixed(4)} GAUC ${v.gauc.toFixed(4)} logloss ${v.logloss.toFixed(4)} | ${e.seconds.toFixed(1)} s`;
      if (interactive && started) {
        // Print above the bar: clear its line, write, let the next update redraw it.
        process.stderr.write(`\r\x1b[2K${line}\n`);
      } else {
        process.stderr.write(`${line}\n`);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
