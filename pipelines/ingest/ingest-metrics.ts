import type { Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { serveMetrics } from '../../infra/metrics-server.js';

/**
 * Prometheus metrics of one ingestion consumer, in a registry of its own (so
 * several consumers in one process, as in tests, do not collide).
 */
export class IngestMetrics {
  readonly registry = new Registry();
  readonly eventsIn = new Counter({ name: 'ingest_events_in_total', help: 'Kafka messages received', labelNames: ['topic'], registers: [this.registry] });
  readonly eventsValid = new Counter({ name: 'ingest_events_valid_total', help: 'Messages that passed validation', labelNames: ['kind'], registers: [this.registry] });
  readonly deadLettered = new Counter({ name: 'ingest_events_dead_lettered_total', help: 'Messages sent to the dead-letter topic', labelNames: ['kind', 'reason'], registers: [this.registry] });
  readonly batches = new Counter({ name: 'ingest_batches_total', help: 'Flushes written to both stores and committed', registers: [this.registry] });
  readonly batchRows = new Histogram({ name: 'ingest_batch_messages', help: 'Messages per flush', buckets: [10, 100, 1000, 5000, 10_000, 20_000, 50_000, 100_000], registers: [this.registry] });
  readonly stageSeconds = new Histogram({ name: 'ingest_stage_seconds', help: 'Time per flush stage', labelNames: ['stage'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });
  readonly retries = new Counter({ name: 'ingest_store_retries_total', help: 'Failed writes retried', labelNames: ['store'], registers: [this.registry] });
  readonly paused = new Gauge({ name: 'ingest_paused', help: '1 while a store is unavailable and the consumer waits', registers: [this.registry] });
  readonly lag = new Gauge({ name: 'ingest_consumer_lag', help: 'Messages behind the partition end, at the last fetch', labelNames: ['topic', 'partition'], registers: [this.registry] });
  readonly writeFailures = new Counter({ name: 'ingest_write_failures_total', help: 'Flush writes that failed in a way retries did not cure (the records no store takes are then dead-lettered)', labelNames: ['store'], registers: [this.registry] });
  readonly failed = new Gauge({ name: 'ingest_failed', help: '1 once ingestion stopped on a failure it cannot get past (see the log for the cause and offsets)', registers: [this.registry] });
  readonly onlineStoreBehind = new Gauge({ name: 'ingest_online_store_behind', help: '1 for a partition whose online store (Redis) is known to miss events: its watermark was behind the consumer position; run `recsys ingest --rebuild-online-store`', labelNames: ['topic', 'partition'], registers: [this.registry] });
  readonly duplicates = new Counter({ name: 'ingest_duplicates_total', help: 'Records whose id the online store had applied within the dedupe window (produced twice): stored once', labelNames: ['topic'], registers: [this.registry] });
  readonly committed = new Counter({ name: 'ingest_messages_committed_total', help: 'Messages whose offsets were committed', registers: [this.registry] });
  readonly freshness = new Histogram({
    name: 'ingest_freshness_seconds',
    help: 'Event time to visible in the online store (Redis)',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly kafkaToVisible = new Histogram({
    name: 'ingest_kafka_to_visible_seconds',
    help: 'Kafka message timestamp to visible in the online store (Redis)',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  /** Adds process metrics (memory, CPU, event loop lag): for a CLI run, not for tests. */
  withProcessMetrics(): this {
    collectDefaultMetrics({ register: this.registry });
    return this;
  }

  /** Serves GET /metrics on 127.0.0.1:`port` (0 = any free port). */
  serve(port: number, host = '127.0.0.1'): Promise<{ server: Server; port: number }> {
    return serveMetrics(this.registry, port, host);
  }
}

/** Coarse reason class for the metric label (full reasons go to the dead letter). */
export function reasonClass(reason: string): string {
  const match = /^(oversized|not valid UTF-8|malformed JSON|not a JSON object|unknown event type|invalid [a-z_]+ event|empty message|unwritable)/.exec(reason);
  return match ? match[1]!.replace(/ /g, '_') : 'other';
}
