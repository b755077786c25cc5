import type { FlushInfo } from '../../pipelines/ingest/ingest-pipeline.js';
import type { IngestMetrics } from '../../pipelines/ingest/ingest-metrics.js';

/** What the consumer has seen at one moment: read from its metrics. */
export interface IngestSample {
  /** Messages received so far (all topics). */
  received: number;
  /** Messages behind the partition end at each partition's last fetch, keyed `topic/partition`; empty before the first fetch. */
  lag: ReadonlyMap<string, number>;
  /** A store is unavailable and the consumer waits. */
  paused?: boolean;
}

export interface IngestSummary {
  /** Valid records both stores hold. */
  stored: number;
  /** Invalid messages plus valid records no store would take. */
  dead_lettered: number;
  seconds: number;
  /** Messages flushed per `topic/partition` and the last offset committed there. */
  partitions: Record<string, { messages: number; last_offset: number }>;
}

export interface IngestProgressOptions {
  /** A terminal gets a redrawn status line and plain sentences; anything else gets structured log lines. */
  interactive: boolean;
  /** Raw text to stderr (terminal only). */
  write: (text: string) => void;
  /** One structured log line (off a terminal, and for the summary). */
  log: (fields: Record<string, unknown>, message: string) => void;
  /**
   * Lag (messages, all partitions) above which a caught-up consumer counts as
   * behind again. Under a live producer every fetch sees a little lag; this
   * keeps "caught up" from flapping on it. @default 1000
   */
  behindAbove?: number;
  /** Seconds between structured progress lines off a terminal (skipped while nothing changes). @default 10 */
  logEverySeconds?: number;
  /** Clock in ms. @default Date.now */
  now?: () => number;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const sumOf = (lag: ReadonlyMap<string, number>) => [...lag.values()].reduce((a, b) => a + b, 0);

/**
 * Turns the ingest consumer's flushes and periodic metric samples into what a
 * person watching `recsys ingest` needs: throughput, what is stored and
 * dead-lettered, the lag, when it caught up, and a summary at the end.
 */
export class IngestProgress {
  private readonly started: number;
  private readonly now: () => number;
  private readonly behindAbove: number;
  private readonly logEveryMs: number;
  private stored = 0;
  private dead = 0;
  private flushedMessages = 0;
  private readonly partitions = new Map<string, { messages: number; last_offset: number }>();
  private last: { at: number; received: number; flushed: number } | undefined;
  private lastLogged: { at: number; received: number; lag: number } | undefined;
  private caughtUp = false;
  private lineShown = false;

  constructor(private readonly options: IngestProgressOptions) {
    this.now = options.now ?? Date.now;
    this.started = this.now();
    this.behindAbove = options.behindAbove ?? 1000;
    this.logEveryMs = (options.logEverySeconds ?? 10) * 1000;
  }

  /** The pipeline's onFlushed hook: both stores hold this flush. */
  flushed(info: FlushInfo): void {
    this.stored += info.valid - info.unwritable;
    this.dead += info.dead + info.unwritable;
    this.flushedMessages += info.messages;
    for (const p of info.partitions) {
      const key = `${p.topic}/${p.partition}`;
      const entry = this.partitions.get(key) ?? { messages: 0, last_offset: -1 };
      entry.messages += p.lastOffset - p.firstOffset + 1;
      entry.last_offset = Math.max(entry.last_offset, p.lastOffset);
      this.partitions.set(key, entry);
    }
  }

  /** Called about once a second with the consumer's metrics. */
  sample(sample: IngestSample): void {
    const at = this.now();
    const seconds = this.last ? (at - this.last.at) / 1000 : 0;
    const rate = this.last && seconds > 0 ? Math.max(0, sample.received - this.last.received) / seconds : 0;
    const quiet = this.last !== undefined && this.last.received === sample.received && this.last.flushed === this.flushedMessages;
    this.last = { at, received: sample.received, flushed: this.flushedMessages };
    const lag = sumOf(sample.lag);
    const known = sample.lag.size > 0;

    // Caught up = nothing left at the partition ends and what was received is in both stores, but for
    // the flushes a live producer always keeps in flight (at most behindAbove); batches dropped at a
    // rebalance are received twice, so after one the test is that nothing moved for a sample.
    const drained = sample.received - this.flushedMessages <= this.behindAbove || (quiet && this.flushedMessages > 0);
    if (!this.caughtUp && known && lag === 0 && !sample.paused && drained) {
      this.caughtUp = true;
      this.say({ stored: this.stored, dead_lettered: this.dead, seconds: this.elapsed() }, 'caught up',
        `caught up: lag 0, ${fmt(this.stored)} events stored, ${fmt(this.dead)} dead-lettered after ${this.elapsed().toFixed(1)} s`);
    } else if (this.caughtUp && lag > this.behindAbove) {
      this.caughtUp = false;
      this.say({ lag }, 'behind', `behind again: lag ${fmt(lag)}`);
    }

    const fields = { received: sample.received, events_per_second: Math.round(rate), stored: this.stored, dead_lettered: this.dead, lag: known ? lag : null };
    if (this.options.interactive) {
      this.options.write(`\r\x1b[2Kingest ${fmt(sample.received)} in (${fmt(rate)}/s) | ${fmt(this.stored)} stored | ${fmt(this.dead)} dead-lettered | lag ${known ? fmt(lag) : '-'}${this.caughtUp ? ' | caught up' : ''}`);
      this.lineShown = true;
      return;
    }
    const changed = !this.lastLogged || this.lastLogged.received !== sample.received || this.lastLogged.lag !== lag;
    if (changed && (!this.lastLogged || at - this.lastLogged.at >= this.logEveryMs)) {
      this.lastLogged = { at, received: sample.received, lag };
      this.options.log(fields, 'progress');
    }
  }

  summary(): IngestSummary {
    const partitions = Object.fromEntries([...this.partitions.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })));
    return { stored: this.stored, dead_lettered: this.dead, seconds: Number(this.elapsed().toFixed(1)), partitions };
  }

  /** Clears the status line and reports the summary; returns it for stdout. */
  finish(): IngestSummary {
    const summary = this.summary();
    const byPartition = Object.entries(summary.partitions).map(([key, p]) => `${key}: ${fmt(p.messages)}`).join(', ');
    this.say({ ...summary }, 'ingest summary',
      `ingested ${fmt(summary.stored)} events, ${fmt(summary.dead_lettered)} dead-lettered in ${summary.seconds} s${byPartition ? ` (messages by partition: ${byPartition})` : ''}`);
    return summary;
  }

  private elapsed(): number {
    return (this.now() - this.started) / 1000;
  }

  /** A sentence above the status line on a terminal, a structured line otherwise. */
  private say(fields: Record<string, unknown>, message: string, sentence: string): void {
    if (!this.options.interactive) {
      this.options.log(fields, message);
      return;
    }
    this.options.write(`${this.lineShown ? '\r\x1b[2K' : ''}${sentence}\n`);
    this.lineShown = false;
  }
}

/** The consumer's counters as one sample. */
export async function sampleIngestMetrics(metrics: IngestMetrics): Promise<IngestSample> {
  const [received, lag, paused] = await Promise.all([metrics.eventsIn.get(), metrics.lag.get(), metrics.paused.get()]);
  return {
    paused: paused.values.some((v) => v.value > 0),
    received: received.values.reduce((n, v) => n + v.value, 0),
    lag: new Map(lag.values.map((v) => [`${v.labels.topic}/${v.labels.partition}`, v.value])),
  };
}
