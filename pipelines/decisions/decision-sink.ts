import { appendFile } from 'node:fs/promises';
import { ValidationError } from '../../infra/errors.js';
import { MAX_DECISION_BYTES, type DecisionRecord } from './decision-record.js';

/**
 * Where serving writes its decision records. `write` resolves once the record
 * is durable in the sink (Kafka: acknowledged by all in-sync replicas), so a
 * response is sent only with its record written.
 */
export interface DecisionSink {
  readonly name: string;
  /** The largest record (JSON bytes) the sink can take; serving refuses a larger one before writing. @default MAX_DECISION_BYTES */
  readonly maxRecordBytes?: number;
  /** `json` is the record's JSON when the caller has it already. */
  write(record: DecisionRecord, json?: string): Promise<void>;
  close(): Promise<void>;
}

export interface MemoryDecisionSinkOptions {
  /** Records kept; beyond it the oldest are dropped (and counted in `dropped`). @default 10000 */
  maxRecords?: number;
}

/**
 * Keeps the newest records in memory (tests, and serving without services). A
 * bounded window rather than a log: a long-running server on this sink would
 * otherwise grow by every response it ever gave.
 */
export class MemoryDecisionSink implements DecisionSink {
  readonly name = 'memory';
  readonly maxRecordBytes = MAX_DECISION_BYTES;
  readonly maxRecords: number;
  /** Oldest first. */
  readonly records: DecisionRecord[] = [];
  /** Records dropped to stay within maxRecords. */
  dropped = 0;
  constructor({ maxRecords = 10_000 }: MemoryDecisionSinkOptions = {}) {
    if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new ValidationError(`MemoryDecisionSink maxRecords must be a positive integer (got ${maxRecords})`);
    this.maxRecords = maxRecords;
  }
  async write(record: DecisionRecord): Promise<void> {
    // A copy, as the other sinks keep the bytes of the moment: a caller reusing its object must not rewrite what was logged.
    this.records.push(structuredClone(record));
    if (this.records.length > this.maxRecords) {
      this.records.shift();
      this.dropped++;
    }
  }
  async close(): Promise<void> {}
}

/** Appends one JSON line per record to a local file (serving without Kafka). */
export class JsonlDecisionSink implements DecisionSink {
  readonly name = 'jsonl';
  readonly maxRecordBytes = MAX_DECISION_BYTES;
  private tail: Promise<void> = Promise.resolve();
  constructor(readonly file: string) {}
  write(record: DecisionRecord, json = JSON.stringify(record)): Promise<void> {
    // Appends in order, one at a time, so lines never interleave.
    const next = this.tail.then(() => appendFile(this.file, `${json}\n`));
    this.tail = next.catch(() => {});
    return next;
  }
  async close(): Promise<void> {
    await this.tail;
  }
}
