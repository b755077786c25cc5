import type { Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { serveMetrics } from '../../infra/metrics-server.js';

/** Prometheus metrics of one streaming trainer, in a registry of its own. */
export class StreamMetrics {
  readonly registry = new Registry();
  readonly messages = new Counter({ name: 'train_stream_messages_total', help: 'Kafka messages consumed into the training state', labelNames: ['outcome'], registers: [this.registry] });
  readonly examples = new Counter({ name: 'train_stream_examples_total', help: 'Examples scored and then trained on', registers: [this.registry] });
  readonly steps = new Counter({ name: 'train_stream_steps_total', help: 'Training steps (micro-batches)', registers: [this.registry] });
  readonly stepSeconds = new Histogram({ name: 'train_stream_step_seconds', help: 'Score + train time per micro-batch', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry] });
  readonly auc = new Gauge({ name: 'train_stream_progressive_auc', help: 'Progressive AUC over the rolling window (each example scored before training on it)', registers: [this.registry] });
  readonly logloss = new Gauge({ name: 'train_stream_progressive_logloss', help: 'Progressive logloss over the rolling window', registers: [this.registry] });
  readonly windowEvents = new Gauge({ name: 'train_stream_progressive_window_examples', help: 'Examples in the progressive window', registers: [this.registry] });
  readonly servingAuc = new Gauge({ name: 'train_stream_serving_auc', help: 'Rolling AUC of the serving version, shadow-scored on the same examples as the progressive window (publish.autoPromote only; NaN until defined)', registers: [this.registry] });
  readonly servingLogloss = new Gauge({ name: 'train_stream_serving_logloss', help: 'Rolling logloss of the serving version on the same examples (publish.autoPromote only)', registers: [this.registry] });
  readonly servingWindowEvents = new Gauge({ name: 'train_stream_serving_window_examples', help: 'Examples in the serving version\'s window (restarts when serving changes)', registers: [this.registry] });
  readonly servingVersion = new Gauge({ name: 'train_stream_serving_version', help: 'Serving version the shadow scores with (0: none)', registers: [this.registry] });
  readonly tableRows = new Gauge({ name: 'train_stream_table_rows', help: 'Embedding rows by state (live: held by an id; capacity: allocated)', labelNames: ['table', 'state'], registers: [this.registry] });
  readonly tableEvents = new Gauge({ name: 'train_stream_table_row_events', help: 'Dynamic-row events so far: filtered (not admitted yet), overflowed (table full), expired', labelNames: ['table', 'kind'], registers: [this.registry] });
  readonly tableBytes = new Gauge({ name: 'train_stream_table_bytes', help: 'Bytes of weights, optimizer state and id maps', labelNames: ['table'], registers: [this.registry] });
  readonly published = new Counter({ name: 'train_stream_versions_published_total', help: 'Versions published', labelNames: ['kind'], registers: [this.registry] });
  readonly publishSeconds = new Histogram({ name: 'train_stream_publish_seconds', help: 'Time to write and announce a version', labelNames: ['kind'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });
  readonly publishLatency = new Histogram({
    name: 'train_stream_event_to_version_seconds',
    help: 'Kafka timestamp of the oldest event a version adds to its publication',
    buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  readonly checkpointSeconds = new Histogram({ name: 'train_stream_checkpoint_seconds', help: 'Time to write a checkpoint', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });
  readonly users = new Gauge({ name: 'train_stream_builder_users', help: 'Users whose behaviour history and attributes the trainer keeps (state="kept"), and how many were dropped so far by state.maxUsers or state.userIdleSeconds (state="expired")', labelNames: ['state'], registers: [this.registry] });
  readonly offsetsSkipped = new Counter({
    name: 'train_stream_offsets_skipped_total',
    help: 'Offsets skipped because the log no longer had them (reason="deleted": retention or delete-records before the trainer read them) or never had them (reason="absent": compaction, transaction markers)',
    labelNames: ['partition', 'reason'],
    registers: [this.registry],
  });
  readonly lag = new Gauge({ name: 'train_stream_consumer_lag', help: 'Messages behind the partition end, at the last fetch', labelNames: ['partition'], registers: [this.registry] });

  withProcessMetrics(): this {
    collectDefaultMetrics({ register: this.registry });
    return this;
  }

  /** Serves GET /metrics on 127.0.0.1:`port` (0 = any free port). */
  serve(port: number, host = '127.0.0.1'): Promise<{ server: Server; port: number }> {
    return serveMetrics(this.registry, port, host);
  }
}
