import { createWriteStream, type WriteStream } from 'node:fs';
import type { Kafka } from 'kafkajs';
import { logger } from '../../infra/logger.js';
import { ModelRegistry } from '../registry/model-registry.js';
import type { RegistryNotifier } from '../registry/registry-notifier.js';
import { StreamConsumer } from './stream-consumer.js';
import { checkpointDirOf, type StreamConfig } from './stream-config.js';
import type { StreamMetrics } from './stream-metrics.js';
import { StreamTrainer, type ScoredBatch, type StartedFrom, type TrainerStatus } from './stream-trainer.js';
import type { PublishedVersion } from './version-publisher.js';

const log = logger('train-stream');

export interface TrainStreamOptions {
  kafka: Kafka;
  registry: string;
  topic: string;
  notifier?: RegistryNotifier;
  metrics?: StreamMetrics;
  /** Stop (after a final publish and checkpoint) once no message came for this long. */
  idleExitMs?: number;
  /** Appends each scored example as a JSON line {id, label, score} before it is trained on. */
  scoresFile?: string;
  onScored?: (batch: ScoredBatch) => void;
  onPublished?: (version: PublishedVersion) => void;
  /**
   * Called once the consumer runs, with two ways to end the run: `stop` (publish what is unpublished,
   * checkpoint, commit: the end of a bounded run) and `drain` (checkpoint and commit only: SIGTERM).
   */
  onStarted?: (running: { stop(): Promise<void>; drain(): Promise<void>; trainer: StreamTrainer }) => void;
}

export interface TrainStreamResult {
  startedFrom: StartedFrom;
  status: TrainerStatus;
  versions: PublishedVersion[];
}

/** `recsys train-stream`: opens the trainer (checkpoint, latest version or scratch) and trains from the stream until stopped or idle. */
export async function runTrainStream(config: StreamConfig, options: TrainStreamOptions): Promise<TrainStreamResult> {
  const registry = new ModelRegistry(options.registry, options.notifier ? { notifier: options.notifier } : {});
  const versions: PublishedVersion[] = [];
  let scores: WriteStream | undefined;
  if (options.scoresFile) scores = createWriteStream(options.scoresFile, { flags: 'a' });
  const trainer = await StreamTrainer.open(config, {
    registry,
    topic: options.topic,
    checkpointDir: checkpointDirOf(config),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    onScored: (batch) => {
      if (scores) scores.write(batch.eventIds.map((id, i) => JSON.stringify({ id, label: batch.labels[i], score: batch.scores[i] })).join('\n') + '\n');
      options.onScored?.(batch);
    },
    onPublished: (v) => {
      versions.push(v);
      options.onPublished?.(v);
    },
  });
  try {
    const consumer = await StreamConsumer.start({
      kafka: options.kafka, trainer, topic: options.topic, groupId: config.stream.groupId, fromBeginning: config.stream.fromBeginning,
      sessionTimeoutMs: config.stream.sessionTimeoutMs, ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.idleExitMs !== undefined ? { idleExitMs: options.idleExitMs } : {}),
    });
    options.onStarted?.({ stop: () => consumer.stop(), drain: () => consumer.drain(), trainer });
    await consumer.done;
    const status = trainer.status();
    log.info({ trained: status.counters.trained, versions: versions.length, ledger: status.ledger }, 'stopped');
    return { startedFrom: trainer.startedFrom, status, versions };
  } finally {
    trainer.dispose();
    if (scores) await new Promise<void>((resolve) => scores.end(resolve));
  }
}
