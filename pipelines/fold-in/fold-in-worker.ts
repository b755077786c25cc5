import type { Consumer, Kafka } from 'kafkajs';
import { errorMessage } from '../../infra/errors.js';
import { logger } from '../../infra/logger.js';
import type { Redis } from '../../infra/redis/redis-client.js';
import { parseEvent } from '../../features/events/parse-event.js';
import type { Event } from '../../features/events/event-schema.js';
import type { EventPositives } from '../../features/interactions/event-positives.js';
import type { FoldIn } from '../../models/graph/fold-in.js';
import { loadFoldIn, loadGraphEmbeddings, type LoadedGraphEmbeddings } from '../../models/graph/graph-artifact.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { RegistryError } from '../registry/registry-errors.js';
import { foldInChanges } from './fold-in-events.js';
import { FoldInStore } from './fold-in-store.js';

const log = logger('fold-in');

export interface FoldInWorkerOptions {
  kafka: Kafka;
  redis: Redis;
  registry: ModelRegistry;
  /** The retrieval (graph) model's registry name. */
  model: string;
  topic: string;
  /** @default `recsys-fold-in.<model>` */
  groupId?: string;
  /** Which interactions count as positives (as train-cf's). */
  positives: EventPositives;
  /** @default 'in_catalog' */
  catalogAttribute?: string;
  /** Follow the newest version when the model has no serving alias. @default false */
  allowLatest?: boolean;
  /** How often the registry is checked for a new serving version. @default 5 */
  pollSeconds?: number;
  /** Redis key prefix. @default 'recsys:' */
  keyPrefix?: string;
  channel: string;
  /** A new consumer group starts at the topic's beginning (items clicked before the worker started are folded in too). @default true */
  fromBeginning?: boolean;
}

interface Current { version: number; graph: LoadedGraphEmbeddings; foldIn: FoldIn }

export interface FoldInStats { events: number; invalid: number; folded: number; version: number | null }

/**
 * Places items the served retrieval model has no row for, as their
 * interactions arrive on the events topic: records each item's users in
 * Redis, computes its vector by the model's fold-in rule, writes it for the
 * model version and announces it; serving adds it to its live index. Offsets
 * are committed after Redis holds the batch's effects, and every write is
 * idempotent, so a crash replays a batch without harm. When a new version is
 * promoted, pending items it was trained on are forgotten and the rest are
 * placed again for the new version.
 */
export class FoldInWorker {
  readonly stats: FoldInStats = { events: 0, invalid: 0, folded: 0, version: null };
  private current: Current | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly store: FoldInStore;
  /** Settles when the worker has stopped: resolves after stop(), rejects when the consumer crashed for good. */
  readonly done: Promise<void>;
  private settle!: { resolve: () => void; reject: (error: unknown) => void };

  private constructor(private readonly options: FoldInWorkerOptions, private readonly consumer: Consumer) {
    this.store = new FoldInStore(options.redis, options.keyPrefix ?? 'recsys:', options.channel);
    this.done = new Promise<void>((resolve, reject) => { this.settle = { resolve, reject }; });
    this.done.catch(() => {});
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) { log.warn({ err: errorMessage(payload.error) }, 'Kafka consumer crashed; kafkajs restarts it'); return; }
      void this.stop().then(() => this.settle.reject(payload.error));
    });
  }

  static async start(options: FoldInWorkerOptions): Promise<FoldInWorker> {
    const consumer = options.kafka.consumer({ groupId: options.groupId ?? `recsys-fold-in.${options.model}`, maxWaitTimeInMs: 200, sessionTimeout: 30_000, heartbeatInterval: 3000 });
    const worker = new FoldInWorker(options, consumer);
    await worker.serialised(() => worker.follow());
    if (!worker.current) throw new RegistryError(`fold-in: model '${options.model}' has no ${options.allowLatest ? 'version' : 'serving version (promote one or pass --allow-latest)'}`);
    const poll = options.pollSeconds ?? 5;
    worker.timer = setInterval(() => void worker.serialised(() => worker.follow()).catch((e: unknown) => log.error({ err: errorMessage(e) }, 'checking the registry failed')), poll * 1000);
    await consumer.connect();
    await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const events: Event[] = [];
        for (const m of batch.messages) {
          if (!m.value) continue;
          const parsed = parseEvent(m.value);
          // Ingestion dead-letters invalid events with their reason; here they are only counted.
          if (parsed.ok) events.push(parsed.event);
          else worker.stats.invalid++;
        }
        await worker.serialised(() => worker.apply(events));
        worker.stats.events += batch.messages.length;
        const next = String(Number(batch.lastOffset()) + 1);
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
        resolveOffset(batch.lastOffset());
        await heartbeat();
      },
    });
    log.info({ model: options.model, version: worker.current.version, rule: worker.current.foldIn.rule, topic: options.topic }, 'folding in new items');
    return worker;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.consumer.disconnect().catch((e: unknown) => log.warn({ err: errorMessage(e) }, 'error while leaving the group'));
    await this.queue.catch(() => {});
    this.settle.resolve();
  }

  /** Batches and version changes run one at a time: a batch never writes vectors for a version being replaced. */
  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
  }

  private async apply(events: readonly Event[]): Promise<void> {
    const current = this.current!;
    const { model } = this.options;
    const changes = foldInChanges(events, (id) => current.graph.itemIndex.has(id), { positives: this.options.positives, catalogAttribute: this.options.catalogAttribute ?? 'in_catalog' });
    await this.store.addInteractions(model, changes.interactions);
    await this.store.setCatalog(model, changes.removed, changes.restored);
    const items = await this.place(current, [...changes.interactions.keys()]);
    if (items.length > 0 || changes.removed.size > 0 || changes.restored.size > 0) {
      await this.store.publish({ model, version: current.version, items, removed: [...changes.removed], restored: [...changes.restored] });
      log.debug({ items: items.length, removed: changes.removed.size, restored: changes.restored.size }, 'folded in');
    }
  }

  /** Computes and writes the vectors of `items` for the current version; returns the items that got one. */
  private async place(current: Current, items: readonly string[]): Promise<string[]> {
    const users = await this.store.usersOf(this.options.model, items);
    const vectors = new Map<string, Float32Array>();
    for (const [item, ids] of users) {
      const rows: number[] = [];
      for (const id of ids) { const row = current.graph.userIndex.get(id); if (row !== undefined) rows.push(row); }
      const v = current.foldIn.item(rows);
      if (v) vectors.set(item, v);
    }
    await this.store.writeVectors(this.options.model, current.version, vectors);
    this.stats.folded += vectors.size;
    return [...vectors.keys()];
  }

  /** Loads the serving (or newest) version when it changed, then re-places the pending items for it. */
  private async follow(): Promise<void> {
    const { registry, model, allowLatest } = this.options;
    let resolved;
    try {
      resolved = await registry.resolve((await registry.serving(model)) ? `${model}@serving` : allowLatest ? `${model}@latest` : `${model}@serving`);
    } catch (error) {
      if (this.current) log.warn({ err: errorMessage(error) }, 'cannot resolve the model: keeping the version in hand');
      else log.error({ err: errorMessage(error) }, 'cannot resolve the model');
      return;
    }
    if (this.current?.version === resolved.version) return;
    const graph = await loadGraphEmbeddings(resolved.dir);
    const next: Current = { version: resolved.version, graph, foldIn: await loadFoldIn(graph) };
    const previous = this.current;
    this.current = next;
    this.stats.version = next.version;
    const pending = await this.store.pending(model);
    const trained = pending.filter((id) => graph.itemIndex.has(id));
    await this.store.forget(model, trained);
    const items = await this.place(next, pending.filter((id) => !graph.itemIndex.has(id)));
    if (previous) await this.store.retire(model, previous.version, 24 * 3600);
    await this.store.publish({ model, version: next.version, items, removed: [], restored: [] });
    log.info({ model, version: next.version, previous: previous?.version ?? null, rule: next.foldIn.rule, placed: items.length, nowTrained: trained.length }, 'following a model version');
  }
}
