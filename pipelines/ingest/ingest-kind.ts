import type { OpsTarget } from '../online-store/online-ops.js';
import type { SourcePosition, TableRows } from './offline-rows.js';

export type ParseOutcome<R> = { ok: true; record: R } | { ok: false; reason: string };

/**
 * One kind of record that ingestion reads from its own Kafka topic: how a
 * message is validated, which offline rows and which online-store effects a
 * valid record has. Interaction/update events are one kind (events-kind.ts);
 * another (e.g. serving's decision records) plugs in with a kind of its own
 * and a topic binding, and shares the consumer, batching, dead letters,
 * metrics and the exactly-once machinery.
 */
export interface IngestKind<R = unknown> {
  /** Short name, used in metrics labels and dead-letter headers. */
  readonly name: string;
  /** Validates one message value; never throws (bad input is dead-lettered with the reason). */
  parse(value: Buffer): ParseOutcome<R>;
  /** Adds the record's rows to the offline store's batch. */
  addOffline(rows: TableRows, record: R, source: SourcePosition): void;
  /** Adds the record's effect on the online store to the ops `target` gives per entity; omitted for kinds that only go offline. */
  addOnline?(target: OpsTarget, record: R): void;
  /** The record's own id, by which a record produced twice is applied to the online store once. */
  recordId?(record: R): string;
  /** Event time (epoch ms), for the freshness metric. */
  eventTime(record: R): number;
}

/** A topic ingestion consumes and the kind of record it carries. */
export interface TopicBinding {
  topic: string;
  kind: IngestKind;
  /** Partitions when ingestion creates the topic. @default 4 */
  partitions?: number;
}
