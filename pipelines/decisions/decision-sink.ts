import { appendFile } from 'node:fs/promises';
import type { DecisionRecord } from './decision-record.js';

/**
 * Where serving writes its decision records. `write` resolves once the record
 * is durable in the sink (Kafka: acknowledged by all in-sync replicas), so a
 * response is sent only with its record written.
 */
export interface DecisionSink {
  readonly name: string;
  write(record: DecisionRecord): Promise<void>;
  close(): Promise<void>;
}

/** Keeps records in memory (tests, and serving without services). */
export class MemoryDecisionSink implements DecisionSink {
  readonly name = 'memory';
  readonly records: DecisionRecord[] = [];
  async write(record: DecisionRecord): Promise<void> {
    this.records.push(record);
  }
  async close(): Promise<void> {}
}

/** Appends one JSON line per record to a local file (serving without Kafka). */
export class JsonlDecisionSink implements DecisionSink {
  readonly name = 'jsonl';
  private tail: Promise<void> = Promise.resolve();
  constructor(readonly file: string) {}
  write(record: DecisionRecord): Promise<void> {
    // Appends in order, one at a time, so lines never interleave.
    const next = this.tail.then(() => appendFile(this.file, `${JSON.stringify(record)}\n`));
    this.tail = next.catch(() => {});
    return next;
  }
  async close(): Promise<void> {
    await this.tail;
  }
}
