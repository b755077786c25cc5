import type { PublishedVersion } from '../../pipelines/streaming/version-publisher.js';

/** The part of the trainer's status the status line shows. */
export interface TrainStreamFigures {
  counters: { events: number; trained: number };
  progressive: { auc: number | null; events: number };
}

export interface TrainStreamProgressOptions {
  /** A terminal gets the start hint, a redrawn status line and the version lines; elsewhere the trainer's own log lines suffice. */
  interactive: boolean;
  write: (text: string) => void;
  /** The config's publish schedule. */
  publish: { everyExamples: number; everySeconds: number };
  /** --idle-exit-seconds, when given. */
  idleExitSeconds?: number;
  /** Clock in ms. @default Date.now */
  now?: () => number;
}

const CLEAR = '\r\x1b[2K';
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Seconds as people say them: 300 → "5 min", 90 → "90 s". */
export function humanSeconds(s: number): string {
  return s >= 120 && s % 60 === 0 ? `${s / 60} min` : `${s} s`;
}

/**
 * What a person running `recsys train-stream` on a terminal sees: when the
 * first version will appear (a small run otherwise waits minutes in silence),
 * a status line (examples, progressive AUC, versions), a line per version and
 * a summary at the end.
 */
export class TrainStreamProgress {
  private readonly now: () => number;
  private readonly started: number;
  private versions = 0;
  private lineShown = false;

  constructor(private readonly options: TrainStreamProgressOptions) {
    this.now = options.now ?? Date.now;
    this.started = this.now();
  }

  /** Said once the consumer runs. */
  start(what: { name: string; topic: string; groupId: string }): void {
    const { everyExamples, everySeconds } = this.options.publish;
    const lines = [`training ${what.name} from ${what.topic} as group ${what.groupId} (SIGTERM to stop)`];
    if (this.options.interactive) {
      lines.push(`the first version is published after ${fmt(everyExamples)} trained examples or ${humanSeconds(everySeconds)}, whichever comes first (publish.everyExamples, publish.everySeconds in the config)`);
      lines.push(this.options.idleExitSeconds === undefined
        ? 'for a bounded run, --idle-exit-seconds N publishes what it trained and exits once no event came for N seconds'
        : `exits once no event came for ${this.options.idleExitSeconds} s, after publishing what it trained`);
    }
    this.say(lines.join('\n'));
  }

  /** Redraws the status line (terminal only); about once a second. */
  update(figures: TrainStreamFigures): void {
    if (!this.options.interactive) return;
    const { counters, progressive } = figures;
    const auc = progressive.auc === null ? '-' : `${progressive.auc.toFixed(4)} (last ${fmt(progressive.events)})`;
    this.options.write(`${CLEAR}train-stream ${fmt(counters.trained)} examples from ${fmt(counters.events)} events | progressive AUC ${auc} | ${this.versions} versions | ${this.elapsed().toFixed(0)} s`);
    this.lineShown = true;
  }

  published(version: PublishedVersion): void {
    this.versions++;
    if (!this.options.interactive) return;
    this.say(`published v${version.version} (${version.kind}${version.parent !== null ? ` of v${version.parent}` : ''}, ${fmt(version.rows)} rows)${version.promoted ? ', promoted to serving' : ''}`);
  }

  /** The closing sentence, on any stderr. */
  finish(figures: TrainStreamFigures, versions: number): void {
    const { counters, progressive } = figures;
    this.say(`trained ${fmt(counters.trained)} examples from ${fmt(counters.events)} events in ${this.elapsed().toFixed(1)} s; progressive AUC ${progressive.auc?.toFixed(4) ?? '-'} over the last ${fmt(progressive.events)}; ${versions} versions published`);
  }

  private elapsed(): number {
    return (this.now() - this.started) / 1000;
  }

  private say(text: string): void {
    this.options.write(`${this.lineShown ? CLEAR : ''}${text}\n`);
    this.lineShown = false;
  }
}
