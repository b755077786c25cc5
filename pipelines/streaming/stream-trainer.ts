import { hashString } from '../../features/hashing.js';
import { parseEvent } from '../../features/events/parse-event.js';
import type { Event } from '../../features/events/event-schema.js';
import type { Example } from '../../features/samples/example.js';
import { PointInTimeSampleBuilder } from '../../features/samples/point-in-time-builder.js';
import { FeatureEncoder } from '../../features/spec/feature-encoder.js';
import { loadFeatureSpec, type FeatureSpec } from '../../features/spec/feature-spec.js';
import { ValidationError, errorMessage } from '../../infra/errors.js';
import { logger } from '../../infra/logger.js';
import { createCtrModel } from '../../models/create-model.js';
import type { CtrModel } from '../../models/ctr/ctr-model.js';
import { loadCtrModel } from '../../models/ctr-artifact/model-artifact.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { ResolvedModel } from '../registry/registry-types.js';
import { RegistryError } from '../registry/registry-errors.js';
import { CheckpointStore } from './checkpoint-store.js';
import { OffsetLedger, type SkipReason } from './offset-ledger.js';
import { ProgressiveMetrics, type ProgressiveFigures } from './progressive-metrics.js';
import { ServingShadow, type ShadowFigures, type ShadowSnapshot } from './serving-shadow.js';
import { autoPromoteOnSameWindow, type ShadowAutoPromoteOutcome } from './shadow-auto-promote.js';
import type { StreamConfig } from './stream-config.js';
import type { StreamMetrics } from './stream-metrics.js';
import { loadTrainerCheckpoint, restoreBuilderUsers, saveTrainerCheckpoint, type PublishState, type TrainerCounters } from './trainer-checkpoint.js';
import { publishVersion, type PublishedVersion } from './version-publisher.js';

const log = logger('train-stream');

/** One Kafka message as the trainer sees it. */
export interface StreamRecord {
  partition: number;
  offset: number;
  value: Uint8Array | null;
  /** Kafka timestamp (ms): when the event entered the stream. */
  timestamp: number;
}

/** A micro-batch as scored, before the model trained on it (progressive validation). */
export interface ScoredBatch {
  eventIds: string[];
  labels: Float32Array;
  scores: Float32Array;
}

export interface StreamTrainerOptions {
  registry: ModelRegistry;
  /** Events topic (recorded with the offsets). */
  topic: string;
  /** Checkpoint folder. */
  checkpointDir: string;
  metrics?: StreamMetrics;
  /** Wall clock (ms). @default Date.now */
  now?: () => number;
  /** Told about each micro-batch's scores before it is trained on. */
  onScored?: (batch: ScoredBatch) => void;
  /** Told about each published version. */
  onPublished?: (version: PublishedVersion) => void;
}

export interface TrainerStatus {
  counters: TrainerCounters;
  progressive: ProgressiveFigures;
  /** The serving version's shadow window (only with publish.autoPromote). */
  serving: ShadowFigures | null;
  positions: Record<string, number>;
  publish: PublishState;
  ledger: ReturnType<OffsetLedger['snapshot']>;
  tables: { name: string; rows: number; liveRows: number | null; bytes: number }[];
  /** Users whose history and attributes the builder keeps, and how many were dropped (state.maxUsers, state.userIdleSeconds). */
  users: { kept: number; expired: number };
  checkpoints: number;
}

/** Where a trainer's state came from when it opened. */
export type StartedFrom = { kind: 'checkpoint'; dir: string } | { kind: 'version'; version: number } | { kind: 'scratch' };

const MOD32 = 2 ** 32;

/**
 * Online training of a CTR model on the event stream (Monolith-style). Each
 * consumed event goes through the point-in-time builder (the user's history
 * as it was before the event, kept in this state), examples gather into
 * micro-batches, and each micro-batch is first scored (progressive
 * validation) and then trained on. Versions are published every N examples
 * or T seconds (deltas between full snapshots) and the whole state is
 * checkpointed with the offsets it covers, so a restart resumes exactly at
 * the next unconsumed offset: nothing skipped, nothing trained twice.
 *
 * Kafka-free: the consumer (stream-consumer.ts) feeds it records and commits
 * the offsets a checkpoint covers.
 */
/** What a trainer runs on: restored from a checkpoint or a published version, or fresh. */
interface TrainerParts {
  model: CtrModel;
  builder: PointInTimeSampleBuilder;
  ledger: OffsetLedger;
  progressive: ProgressiveMetrics;
  counters: TrainerCounters;
  publishState: PublishState;
  store: CheckpointStore;
  startedFrom: StartedFrom;
}

export class StreamTrainer {
  private buffer: Example[] = [];
  private lastPublishAt: number;
  private lastCheckpointAt: number;
  private lastLogAt: number;
  private consumedSinceCheckpoint = 0;
  /** Kafka timestamps of events consumed since the last publish. */
  private unpublished = { oldest: Infinity, newest: -Infinity };
  private checkpoints = 0;
  private readonly now: () => number;
  /** The serving version scoring the same micro-batches (only with publish.autoPromote). */
  private shadow: ServingShadow | null = null;

  readonly model: CtrModel;
  private builder: PointInTimeSampleBuilder;
  readonly ledger: OffsetLedger;
  private readonly progressive: ProgressiveMetrics;
  readonly counters: TrainerCounters;
  readonly publishState: PublishState;
  private readonly store: CheckpointStore;
  readonly startedFrom: StartedFrom;

  private constructor(readonly config: StreamConfig, private readonly options: StreamTrainerOptions, state: TrainerParts) {
    ({ model: this.model, builder: this.builder, ledger: this.ledger, progressive: this.progressive, counters: this.counters,
      publishState: this.publishState, store: this.store, startedFrom: this.startedFrom } = state);
    const { model } = state;
    this.now = options.now ?? Date.now;
    this.lastPublishAt = this.lastCheckpointAt = this.lastLogAt = this.now();
    for (const table of model.layout.tables) table.trackChanges();
  }

  /** From the newest checkpoint, else the latest published version (initFrom 'latest'), else fresh weights. */
  static async open(config: StreamConfig, options: StreamTrainerOptions): Promise<StreamTrainer> {
    const spec = loadFeatureSpec(config.features);
    const store = new CheckpointStore(options.checkpointDir, config.checkpoint.keep);
    const builderOptions = {
      allowedLatenessMs: config.stream.allowedLatenessMs,
      maxUsers: config.state.maxUsers,
      ...(config.state.userIdleSeconds !== undefined ? { userIdleMs: config.state.userIdleSeconds * 1000 } : {}),
    };
    const checkpoint = await store.latest();
    if (checkpoint) {
      const { model, state } = await loadTrainerCheckpoint(checkpoint);
      let builder: PointInTimeSampleBuilder;
      try {
        if (state.model !== config.name) throw new ValidationError(`checkpoint ${checkpoint.dir} is of model ${state.model}, the config trains ${config.name}: use another checkpoint.dir`);
        if (state.topic !== options.topic) throw new ValidationError(`checkpoint ${checkpoint.dir} covers topic ${state.topic}, not ${options.topic}: its offsets would be meaningless`);
        builder = PointInTimeSampleBuilder.restore(spec, builderOptions, state.builder);
        await restoreBuilderUsers(checkpoint, state, builder);
      } catch (error) {
        model.dispose();
        throw error;
      }
      const trainer = new StreamTrainer(config, options, {
        model, builder, ledger: new OffsetLedger(state.ledger), progressive: new ProgressiveMetrics(config.progressive.window, state.progressive),
        counters: state.counters, publishState: state.publish, store, startedFrom: { kind: 'checkpoint', dir: checkpoint.dir },
      });
      log.info({ checkpoint: checkpoint.dir, positions: Object.fromEntries(trainer.ledger.positions()), trained: state.counters.trained, lastVersion: state.publish.lastVersion }, 'resuming from checkpoint');
      // A version is published, then checkpointed: a crash between the two leaves the registry a version the
      // checkpoint does not know. The next version continues the checkpoint's line (a delta's parent is its
      // last version), so that one is superseded, and its events are trained again from the checkpoint.
      const latest = await latestVersion(options.registry, config.name);
      if (latest && latest.version > (state.publish.lastVersion ?? 0)) {
        log.warn({ checkpoint: checkpoint.dir, checkpointVersion: state.publish.lastVersion, latest: latest.version },
          `the registry holds ${config.name} v${latest.version}, newer than this checkpoint's last version (${state.publish.lastVersion === null ? 'none' : `v${state.publish.lastVersion}`}): published after the checkpoint was written; the next version continues from the checkpoint and supersedes it`);
      }
      return trainer.startShadow(state.shadow ?? undefined);
    }
    const fresh = (model: CtrModel, ledger: OffsetLedger, publishState: PublishState, startedFrom: StartedFrom) => new StreamTrainer(config, options, {
      model, builder: new PointInTimeSampleBuilder(spec, builderOptions), ledger, progressive: new ProgressiveMetrics(config.progressive.window),
      counters: { events: 0, invalid: 0, trained: 0, steps: 0, trainedIdHash: 0, trainedUntil: null }, publishState, store, startedFrom,
    });
    const publish: PublishState = { lastVersion: null, deltasSinceFull: 0, examplesSincePublish: 0, published: 0 };
    if (config.initFrom === 'latest') {
      const latest = await latestVersion(options.registry, config.name);
      if (latest) {
        const { model, manifest } = await loadCtrModel(latest.dir, { trainable: true });
        const ledger = new OffsetLedger();
        const offsets = manifest.extra.offsets as { topic?: string; partitions?: Record<string, number> } | undefined;
        const sameTopic = offsets?.topic === options.topic;
        if (sameTopic) for (const [p, next] of Object.entries(offsets.partitions ?? {})) ledger.start(Number(p), next);
        // Below the version's offsets but not in its weights (held for lateness when it was published): trained first.
        const pending = sameTopic ? pendingEventsOf(manifest.extra.pendingEvents, latest.dir) : [];
        log.info({ version: latest.version, positions: offsets?.partitions ?? null, pending: pending.length }, 'starting from the latest published version (histories start empty)');
        const trainer = fresh(model, ledger, { ...publish, lastVersion: latest.version, deltasSinceFull: config.publish.fullEvery }, { kind: 'version', version: latest.version });
        trainer.pushEvents(pending);
        return trainer.startShadow();
      }
    }
    checkStreamingSpec(spec);
    const model = createCtrModel(FeatureEncoder.fit(spec, []), config.model);
    log.info({ model: config.name, type: config.model.type, parameters: model.parameterCount() }, 'starting from scratch');
    return fresh(model, new OffsetLedger(), publish, { kind: 'scratch' }).startShadow();
  }

  /** With publish.autoPromote: loads the serving version for shadow scoring (a checkpointed window is kept if it still serves). */
  private async startShadow(saved?: ShadowSnapshot): Promise<StreamTrainer> {
    const policy = this.config.publish.autoPromote;
    if (!policy) return this;
    if (policy.minEvents > this.config.progressive.window) {
      this.dispose();
      throw new ValidationError(`publish.autoPromote.minEvents (${policy.minEvents}) exceeds progressive.window (${this.config.progressive.window}): no window could ever cover it`);
    }
    try {
      this.shadow = await ServingShadow.open(this.options.registry, this.config.name, this.config.progressive.window, saved);
    } catch (error) {
      this.dispose();
      throw error;
    }
    return this;
  }

  /** Next offset per partition: where the consumer must (re)start. */
  positions(): Map<number, number> {
    return this.ledger.positions();
  }

  /**
   * Consumes one partition's messages in offset order. Redelivered ones
   * (already in the state) are skipped. At a jump past the next offset:
   * when the records answer a fetch that started at or before the next
   * offset (`fetchedFrom`), the log has nothing in between (compaction,
   * transaction markers) and the jump is recorded as absent offsets;
   * otherwise the rest is dropped and the offset to seek back to is returned
   * (the consumer checks whether it still exists: see skipDeleted).
   */
  consume(records: readonly StreamRecord[], { fetchedFrom }: { fetchedFrom?: number } = {}): { seek: { partition: number; offset: number } } | null {
    for (const record of records) {
      const verdict = this.ledger.classify(record.partition, record.offset);
      if (verdict === 'replay') {
        this.ledger.replaysSkipped++;
        this.options.metrics?.messages.inc({ outcome: 'replay-skipped' });
        continue;
      }
      if (verdict === 'gap') {
        const next = this.ledger.next(record.partition)!;
        if (fetchedFrom === undefined || fetchedFrom > next) return { seek: { partition: record.partition, offset: next } };
        this.skip(record.partition, record.offset, 'absent');
      }
      this.ledger.record(record.partition, record.offset);
      this.consumedSinceCheckpoint++;
      if (record.timestamp < this.unpublished.oldest) this.unpublished.oldest = record.timestamp;
      if (record.timestamp > this.unpublished.newest) this.unpublished.newest = record.timestamp;
      const parsed = record.value ? parseEvent(record.value) : { ok: false as const, reason: 'empty message' };
      if (!parsed.ok) {
        this.counters.invalid++;
        this.options.metrics?.messages.inc({ outcome: 'invalid' });
        continue;
      }
      this.counters.events++;
      this.options.metrics?.messages.inc({ outcome: 'event' });
      this.pushEvents([parsed.event]);
    }
    return null;
  }

  /** Events into the builder; the examples it releases are trained in micro-batches. */
  private pushEvents(events: readonly Event[]): void {
    for (const event of events) {
      for (const example of this.builder.push(event)) {
        this.buffer.push(example);
        if (this.buffer.length >= this.config.stream.batchSize) this.step(this.buffer.splice(0, this.config.stream.batchSize));
      }
    }
  }

  /**
   * The log starts at `logStart` on a partition (retention or delete-records
   * removed what is below): offsets from the next one up to it can never be
   * read, so they are recorded as a gap and training goes on from there.
   * Returns how many were skipped (0 when the next offset still exists).
   */
  skipDeleted(partition: number, logStart: number): number {
    return this.skip(partition, logStart, 'deleted');
  }

  private skip(partition: number, to: number, reason: SkipReason): number {
    const from = this.ledger.next(partition);
    const skipped = this.ledger.skip(partition, to, reason);
    if (skipped === 0) return 0;
    this.consumedSinceCheckpoint++;
    this.options.metrics?.offsetsSkipped.inc({ partition: String(partition), reason }, skipped);
    const why = reason === 'deleted' ? 'removed from the log (retention or delete-records) before they were read' : 'not in the log (compacted away or transaction markers)';
    log[reason === 'deleted' ? 'warn' : 'debug']({ partition, from, to, skipped, reason }, `skipping ${skipped} offsets ${why}`);
    return skipped;
  }

  /** Publishes and checkpoints when due; true when a checkpoint was written (the consumer may then commit its offsets). */
  async tick(): Promise<boolean> {
    const now = this.now();
    const { publish, checkpoint, progressive } = this.config;
    if (now - this.lastLogAt >= progressive.logEverySeconds * 1000) this.report();
    const trainedSince = this.publishState.examplesSincePublish + this.buffer.length;
    if (trainedSince >= publish.everyExamples || (trainedSince > 0 && now - this.lastPublishAt >= publish.everySeconds * 1000)) {
      await this.publish();
      await this.checkpoint();
      return true;
    }
    if (this.consumedSinceCheckpoint > 0 && now - this.lastCheckpointAt >= checkpoint.everySeconds * 1000) {
      await this.checkpoint();
      return true;
    }
    return false;
  }

  /**
   * End of a run: events the builder still holds for lateness become
   * examples (a later event at the same time is then handled as late, with
   * a correct history of its own), what is buffered is trained, a version is
   * published if anything is unpublished, and the state is checkpointed.
   */
  async finish(): Promise<void> {
    for (const example of this.builder.flush()) this.buffer.push(example);
    if (this.publishState.examplesSincePublish + this.buffer.length > 0) await this.publish();
    await this.checkpoint();
    this.report();
  }

  /** Writes a version now (full or delta as the schedule says). */
  async publish(): Promise<PublishedVersion> {
    this.flush();
    const started = this.now();
    const version = await publishVersion({
      registry: this.options.registry,
      config: this.config,
      model: this.model,
      topic: this.options.topic,
      positions: this.positions(),
      pending: this.builder.pendingEvents(),
      progressive: this.progressive.figures(),
      counters: this.counters,
      state: this.publishState,
      freshness: Number.isFinite(this.unpublished.oldest)
        ? { oldestEventAgeMs: started - this.unpublished.oldest, newestEventAgeMs: started - this.unpublished.newest }
        : null,
      ...(this.shadow ? { autoPromote: (v: number) => this.autoPromote(v) } : {}),
    });
    const metrics = this.options.metrics;
    if (metrics) {
      metrics.published.inc({ kind: version.kind });
      metrics.publishSeconds.observe({ kind: version.kind }, (this.now() - started) / 1000);
      if (Number.isFinite(this.unpublished.oldest)) metrics.publishLatency.observe((this.now() - this.unpublished.oldest) / 1000);
    }
    this.unpublished = { oldest: Infinity, newest: -Infinity };
    this.lastPublishAt = this.now();
    this.options.onPublished?.(version);
    return version;
  }

  /** Writes the whole state now (the buffered examples are trained first, so none are left outside it). */
  async checkpoint(): Promise<{ dir: string; seq: number }> {
    this.flush();
    const started = this.now();
    const saved = await saveTrainerCheckpoint(this.store, this.model, {
      model: this.config.name,
      topic: this.options.topic,
      ledger: this.ledger.snapshot(),
      builder: this.builder.snapshot({ users: false }),
      progressive: this.progressive.snapshot(),
      counters: this.counters,
      publish: this.publishState,
      shadow: this.shadow?.snapshot() ?? null,
    }, this.builder);
    this.options.metrics?.checkpointSeconds.observe((this.now() - started) / 1000);
    this.consumedSinceCheckpoint = 0;
    this.lastCheckpointAt = this.now();
    this.checkpoints++;
    log.debug({ checkpoint: saved.dir, positions: Object.fromEntries(this.positions()) }, 'checkpoint');
    return saved;
  }

  status(): TrainerStatus {
    return {
      counters: { ...this.counters },
      progressive: this.progressive.figures(),
      serving: this.shadow?.figures() ?? null,
      positions: Object.fromEntries([...this.positions()].map(([p, o]) => [String(p), o])),
      publish: { ...this.publishState },
      ledger: this.ledger.snapshot(),
      tables: this.model.layout.tables.map((t) => ({ name: t.name, rows: t.rows, liveRows: t.stats()?.liveRows ?? null, bytes: t.memory().totalBytes })),
      users: { kept: this.builder.userCount, expired: this.builder.stats.expiredUsers ?? 0 },
      checkpoints: this.checkpoints,
    };
  }

  /** The serving version the shadow scores with (null: auto-promote off, nothing serving, or it cannot be loaded). */
  get shadowVersion(): { version: number | null; model: CtrModel | null } | null {
    return this.shadow ? { version: this.shadow.version, model: this.shadow.servingModel } : null;
  }

  dispose(): void {
    this.model.dispose();
    this.shadow?.dispose();
  }

  /** publish.autoPromote on the window both models scored; a failure is logged, the version stays published. */
  private async autoPromote(version: number): Promise<ShadowAutoPromoteOutcome | null> {
    try {
      return await autoPromoteOnSameWindow({
        registry: this.options.registry, name: this.config.name, policy: this.config.publish.autoPromote!, version,
        online: this.progressive, windowEnd: this.counters.trained, shadow: this.shadow!,
      });
    } catch (error) {
      log.warn({ version, err: errorMessage(error) }, 'auto-promote failed; the version is published, serving unchanged');
      return null;
    }
  }

  private flush(): void {
    if (this.buffer.length > 0) this.step(this.buffer.splice(0));
  }

  /** Progressive validation, then training: the model scores the batch before it learns from it. */
  private step(examples: Example[]): void {
    const started = performance.now();
    const batch = this.model.encoder.encode(examples);
    const scores = this.model.predict(batch);
    this.progressive.add(batch.labels, scores);
    this.shadow?.score(examples, this.counters.trained + examples.length);
    this.options.onScored?.({ eventIds: examples.map((e) => e.event.event_id), labels: batch.labels, scores });
    this.model.trainStep(batch);
    const c = this.counters;
    for (const e of examples) {
      c.trainedIdHash = (c.trainedIdHash + hashString(e.event.event_id)) % MOD32;
      if (c.trainedUntil === null || e.event.ts > c.trainedUntil) c.trainedUntil = e.event.ts;
    }
    c.trained += examples.length;
    c.steps++;
    this.publishState.examplesSincePublish += examples.length;
    const metrics = this.options.metrics;
    if (metrics) {
      metrics.examples.inc(examples.length);
      metrics.steps.inc();
      metrics.stepSeconds.observe((performance.now() - started) / 1000);
    }
  }

  /** Logs progress and refreshes the gauges (AUC over the window is computed here, not per step). */
  private report(): void {
    this.lastLogAt = this.now();
    const figures = this.progressive.figures();
    const status = this.status();
    const serving = status.serving;
    const metrics = this.options.metrics;
    if (metrics) {
      if (figures.auc !== null) metrics.auc.set(figures.auc);
      if (figures.logloss !== null) metrics.logloss.set(figures.logloss);
      metrics.windowEvents.set(figures.events);
      metrics.users.set({ state: 'kept' }, status.users.kept);
      metrics.users.set({ state: 'expired' }, status.users.expired);
      if (serving) {
        metrics.servingAuc.set(serving.auc ?? Number.NaN);
        metrics.servingLogloss.set(serving.logloss ?? Number.NaN);
        metrics.servingWindowEvents.set(serving.events);
        metrics.servingVersion.set(serving.version ?? 0);
      }
      for (const table of this.model.layout.tables) {
        const stats = table.stats();
        metrics.tableRows.set({ table: table.name, state: 'capacity' }, table.rows);
        if (stats) {
          metrics.tableRows.set({ table: table.name, state: 'live' }, stats.liveRows);
          metrics.tableEvents.set({ table: table.name, kind: 'filtered' }, stats.filtered);
          metrics.tableEvents.set({ table: table.name, kind: 'overflowed' }, stats.overflowed);
          metrics.tableEvents.set({ table: table.name, kind: 'expired' }, stats.expired);
        }
        metrics.tableBytes.set({ table: table.name }, table.memory().totalBytes);
      }
    }
    log.info({
      trained: status.counters.trained, events: status.counters.events, auc: figures.auc, logloss: figures.logloss, window: figures.events,
      tables: status.tables.map((t) => ({ name: t.name, liveRows: t.liveRows, rows: t.rows })), positions: status.positions,
      ...(serving ? { serving: { version: serving.version, auc: serving.auc, logloss: serving.logloss, window: serving.events } } : {}),
      users: status.users, lastVersion: status.publish.lastVersion, rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
    }, 'progress');
  }
}

/**
 * A version's `extra.pendingEvents`, each checked as an event (absent in
 * versions published before they were recorded: nothing to train then).
 */
function pendingEventsOf(raw: unknown, dir: string): Event[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new ValidationError(`${dir}: manifest extra.pendingEvents is not a list`);
  return raw.map((value, i) => {
    const parsed = parseEvent(JSON.stringify(value));
    if (!parsed.ok) throw new ValidationError(`${dir}: manifest extra.pendingEvents[${i}] is not a valid event: ${parsed.reason}`);
    return parsed.event;
  });
}

/** A model trained from the stream cannot fit vocabularies first: its categorical fields must hash. */
export function checkStreamingSpec(spec: FeatureSpec): void {
  const fixed = spec.fields.filter((f) => (f.kind === 'categorical' || f.kind === 'multi' || f.kind === 'cross') && f.vocab.type !== 'hash').map((f) => f.name);
  if (fixed.length > 0) {
    throw new ValidationError(`streaming training needs hashed vocabularies (vocabularies grow with the stream): set "vocab": {"type": "hash"} on ${fixed.join(', ')}`);
  }
}

/** The model's newest version in the registry; null when it has none. */
function latestVersion(registry: ModelRegistry, name: string): Promise<ResolvedModel | null> {
  return registry.resolve(`${name}@latest`).catch((error: unknown) => {
    if (error instanceof RegistryError) return null;
    throw error;
  });
}
