import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { ServicesConfig } from '../infra/config.js';
import { errorMessage } from '../infra/errors.js';
import { createKafka } from '../infra/kafka/kafka-client.js';
import { logger, type Logger } from '../infra/logger.js';
import { createRedis, type Redis } from '../infra/redis/redis-client.js';
import type { Exploration } from '../pipelines/decisions/decision-record.js';
import { JsonlDecisionSink, MemoryDecisionSink, type DecisionSink } from '../pipelines/decisions/decision-sink.js';
import { ensureDecisionTopic } from '../pipelines/decisions/decision-topics.js';
import { KafkaDecisionSink } from '../pipelines/decisions/kafka-decision-sink.js';
import { loadDecisionSettings } from '../pipelines/decisions/decision-settings.js';
import { MemoryOnlineStore } from '../pipelines/online-store/memory-online-store.js';
import { onlineSpecFrom } from '../pipelines/online-store/online-ops.js';
import type { OnlineStoreReader } from '../pipelines/online-store/online-store.js';
import { RedisOnlineStore } from '../pipelines/online-store/redis-online-store.js';
import { ModelRegistry } from '../pipelines/registry/model-registry.js';
import { FoldInStore, parseFoldInMessage } from '../pipelines/fold-in/fold-in-store.js';
import { createApp } from './app.js';
import type { Uniform } from './exploration.js';
import { ItemAttributeCache } from './item-cache.js';
import { ScoreBatcher } from './score-batcher.js';
import { ModelHolder } from './model-holder.js';
import type { ServeSettings } from './serve-config.js';
import { ServingMetrics } from './serving-metrics.js';
import { ServingService } from './serving-service.js';

export interface StartServerOptions {
  settings: ServeSettings;
  services: ServicesConfig;
  /** Used instead of the store `settings.onlineStore` names (tests, the main job). */
  online?: OnlineStoreReader;
  /** Used instead of the sink `settings.decisions` names. */
  decisions?: DecisionSink;
  registry?: ModelRegistry;
  metrics?: ServingMetrics;
  random?: Uniform;
  log?: Logger;
  /** Listen on settings.host:port. @default true */
  listen?: boolean;
  /** Where the decision-record settings (KAFKA_DECISIONS_TOPIC…) are read. @default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface RunningServer {
  app: Express;
  server: Server | undefined;
  /** The port listened on (settings.port 0 → the one picked). */
  port: number;
  url: string;
  models: ModelHolder;
  decisions: DecisionSink;
  metrics: ServingMetrics;
  /**
   * Graceful stop: /readyz answers 503 at once and responses ask clients to
   * close their connection; requests are still served for `drainMs` (so a
   * load balancer that polls readiness stops sending first); then the
   * listener closes, in-flight requests finish, decision records are flushed
   * and the clients closed.
   */
  close(options?: CloseOptions): Promise<void>;
}

export interface CloseOptions {
  /** How long requests are still served after readiness turns off. @default 0 (tests, the main job's own exit) */
  drainMs?: number;
}

export function explorationFrom(settings: Pick<ServeSettings, 'exploration' | 'epsilon' | 'temperature'>): Exploration {
  switch (settings.exploration) {
    case 'none': return { scheme: 'none' };
    case 'epsilon-greedy': return { scheme: 'epsilon-greedy', epsilon: settings.epsilon };
    case 'softmax': return { scheme: 'softmax', temperature: settings.temperature };
  }
}

/**
 * `recsys serve`: loads the serving versions, connects the stores, and
 * listens. Closing stops accepting requests, lets in-flight ones finish,
 * flushes decision records and closes the clients.
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { settings, services } = options;
  const log = options.log ?? logger('serve');
  const metrics = options.metrics ?? new ServingMetrics();
  const closers: (() => Promise<unknown> | unknown)[] = [];
  let ready = false;
  try {
    const registry = options.registry ?? new ModelRegistry(settings.registry);
    const foldIns = settings.retrieval !== '' && settings.foldInChannel !== '' && settings.onlineStore === 'redis' && options.online === undefined
      ? foldInStore(services, settings.foldInChannel, log, closers)
      : undefined;
    const models = new ModelHolder({
      registry,
      ranker: settings.ranker,
      retrieval: settings.retrieval === '' ? null : settings.retrieval,
      precision: settings.precision,
      rankerThread: settings.rankerThread,
      allowLatest: settings.allowLatest,
      allowItemMismatch: settings.allowItemMismatch,
      retrievalOptions: { ann: settings.ann, ef: settings.annEf, m: settings.annM, minRecall: settings.annMinRecall, itemIdPrefix: settings.itemIdPrefix, userIdPrefix: settings.userIdPrefix },
      ...(foldIns ? { foldIns } : {}),
      log,
      metrics,
    });
    closers.push(() => models.close());
    await models.start();

    let online = options.online;
    if (!online) {
      if (settings.onlineStore === 'redis') {
        const redis = createRedis(services.redis, { maxRetriesPerRequest: 1, enableOfflineQueue: true });
        redis.on('error', (error: unknown) => log.warn({ err: errorMessage(error) }, 'online store (Redis) connection error'));
        closers.push(() => redis.quit().catch(() => redis.disconnect()));
        online = new RedisOnlineStore(redis, services.redis.keyPrefix, settings.historyLength);
      } else {
        online = new MemoryOnlineStore(onlineSpecFrom(models.current!.ranker.model.encoder.spec));
        log.warn('online store: in memory and empty (every user is cold start unless requests carry history)');
      }
    }

    let decisions = options.decisions;
    if (!decisions) {
      if (settings.decisions === 'kafka') {
        const { decisionsTopic } = loadDecisionSettings(options.env);
        const kafka = createKafka(services.kafka);
        const admin = kafka.admin();
        await admin.connect();
        try {
          log.info(await ensureDecisionTopic(admin, options.env));
        } finally {
          await admin.disconnect();
        }
        decisions = await KafkaDecisionSink.connect({ kafka: services.kafka, topic: decisionsTopic });
      } else if (settings.decisions === 'jsonl') {
        decisions = new JsonlDecisionSink(settings.decisionsFile);
      } else {
        decisions = new MemoryDecisionSink();
      }
    }
    const sink = decisions;
    closers.push(() => sink.close());

    if (settings.modelsChannel !== '' && options.online === undefined && settings.onlineStore === 'redis') {
      await subscribe(models, services, settings.modelsChannel, log, closers);
    }
    if (foldIns) await subscribeFoldIns(models, services, settings.foldInChannel, log, closers);
    models.poll(settings.pollSeconds);

    const service = new ServingService({
      models, online, decisions: sink, log, metrics,
      items: new ItemAttributeCache(online, settings.itemCacheSeconds * 1000, metrics),
      batcher: new ScoreBatcher({ maxCandidates: settings.batchCandidates, metrics, ...(settings.rankerThread ? {} : { maxInFlight: Infinity }) }),
      defaultExploration: explorationFrom(settings),
      numCandidates: settings.numCandidates,
      historyLength: settings.historyLength,
      ...(options.random ? { random: options.random } : {}),
    });
    const app = createApp({ service, models, registry, metrics, log, adminToken: settings.adminToken, maxBodyBytes: settings.maxBodyBytes, ready: () => ready });

    let server: Server | undefined;
    let port = settings.port;
    if (options.listen ?? true) {
      server = await new Promise<Server>((resolve, reject) => {
        const s = app.listen(settings.port, settings.host, (error?: Error) => (error ? reject(error) : resolve(s)));
        s.once('error', reject);
      });
      server.keepAliveTimeout = 65_000;
      // Before the app's own listener, while headers can still be set: once stopping, every response ends its connection.
      server.prependListener('request', (_req, res: ServerResponse) => { if (!ready) res.setHeader('connection', 'close'); });
      port = (server.address() as AddressInfo).port;
    }
    ready = true;
    const url = `http://${settings.host}:${port}`;
    log.info({ url, ranker: models.current!.ranker.served, retrieval: models.current!.retrieval?.served ?? null, decisions: sink.name }, 'serving');
    let closing: Promise<void> | undefined;
    return {
      app, server, port, url, models, decisions: sink, metrics,
      close: ({ drainMs = 0 }: CloseOptions = {}) => (closing ??= (async () => {
        ready = false;
        if (server && drainMs > 0) {
          log.info({ drainMs }, 'stopping: readiness off, still serving while load balancers notice');
          await new Promise((resolve) => setTimeout(resolve, drainMs));
        }
        if (server) {
          const s = server;
          await new Promise<void>((resolve) => { s.close(() => resolve()); s.closeIdleConnections(); });
        }
        await runClosers(closers, log);
      })()),
    };
  } catch (error) {
    await runClosers(closers, log);
    throw error;
  }
}

async function subscribe(models: ModelHolder, services: ServicesConfig, channel: string, log: Logger, closers: (() => Promise<unknown> | unknown)[]): Promise<void> {
  const subscriber: Redis = createRedis(services.redis, { maxRetriesPerRequest: 1 });
  subscriber.on('error', (error: unknown) => log.warn({ err: errorMessage(error) }, 'registry subscription (Redis) connection error'));
  closers.push(() => subscriber.disconnect());
  try {
    await Promise.race([
      models.subscribe(subscriber, channel),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 3000 ms')), 3000).unref()),
    ]);
    log.info({ channel }, 'hot reload: subscribed to registry events');
  } catch (error) {
    log.warn({ channel, err: errorMessage(error) }, 'hot reload: cannot subscribe to registry events; polling the registry folder only');
  }
}

function foldInStore(services: ServicesConfig, channel: string, log: Logger, closers: (() => Promise<unknown> | unknown)[]): FoldInStore {
  const redis = createRedis(services.redis, { maxRetriesPerRequest: 1 });
  redis.on('error', (error: unknown) => log.warn({ err: errorMessage(error) }, 'fold-in (Redis) connection error'));
  closers.push(() => redis.quit().catch(() => redis.disconnect()));
  return new FoldInStore(redis, services.redis.keyPrefix, channel);
}

/** New items' vectors as `recsys fold-in` announces them, added to the live index; catalog removals taken out of it. */
async function subscribeFoldIns(models: ModelHolder, services: ServicesConfig, channel: string, log: Logger, closers: (() => Promise<unknown> | unknown)[]): Promise<void> {
  const subscriber: Redis = createRedis(services.redis, { maxRetriesPerRequest: 1 });
  subscriber.on('error', (error: unknown) => log.warn({ err: errorMessage(error) }, 'fold-in subscription (Redis) connection error'));
  closers.push(() => subscriber.disconnect());
  subscriber.on('message', (ch: string, raw: string) => {
    if (ch !== channel) return;
    const message = parseFoldInMessage(raw);
    if (!message) { log.warn({ channel }, 'ignored a fold-in message that is not one'); return; }
    models.applyFoldIn(message).catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'applying a fold-in message failed'));
  });
  try {
    await Promise.race([
      subscriber.subscribe(channel),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 3000 ms')), 3000).unref()),
    ]);
    log.info({ channel }, 'fold-in: subscribed');
  } catch (error) {
    log.warn({ channel, err: errorMessage(error) }, 'fold-in: cannot subscribe; new items become retrievable at the next model load');
  }
}

async function runClosers(closers: (() => Promise<unknown> | unknown)[], log: Logger): Promise<void> {
  for (const close of closers.reverse()) {
    try {
      await close();
    } catch (error) {
      log.warn({ err: errorMessage(error) }, 'error while closing');
    }
  }
  closers.length = 0;
}
