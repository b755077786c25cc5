import path from 'node:path';
import { z } from 'zod';
import { loadJsonFile } from '../../infra/config.js';
import { CtrModelConfigSchema } from '../../models/ctr/ctr-config.js';
import { AutoPromotePolicySchema } from '../registry/auto-promote.js';

const TopicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name (letters, digits, . _ -)');

/**
 * A streaming-training config file (`recsys train-stream --config`): which
 * model on which feature spec, the stream to learn from, and how often to
 * publish and checkpoint. Paths are relative to the config file.
 */
export const StreamConfigSchema = z.object({
  /** Registry model name the versions are published under. */
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - or _'),
  /** Feature spec; categorical and multi fields need `"vocab": {"type": "hash"}` (the vocabulary grows with the stream). */
  features: z.string(),
  /** Any CTR model type; the embedding layout must be `unified` with `dynamic` rows. */
  model: CtrModelConfigSchema,
  stream: z.object({
    /** @default env KAFKA_EVENTS_TOPIC or recsys.events */
    topic: TopicName.optional(),
    /** The trainer's own consumer group. */
    groupId: z.string().min(1).default('recsys-train-stream'),
    /** With no checkpoint and no committed offsets, start at the topic's beginning. */
    fromBeginning: z.boolean().default(true),
    /** Examples per training step (the micro-batch). */
    batchSize: z.number().int().positive().default(256),
    /** Event-time slack for out-of-order events across partitions (the point-in-time builder's reorder buffer). */
    allowedLatenessMs: z.number().int().nonnegative().default(0),
    /** Consumer session timeout: how soon a killed trainer's partitions move on. */
    sessionTimeoutMs: z.number().int().min(6000).default(10_000),
  }).default({}),
  /** The point-in-time builder's per-user state (behaviour histories, user attributes), kept in memory and in checkpoints. */
  state: z.object({
    /** Users whose state is kept; beyond it the least recently active user's is dropped (they start again with an empty history). */
    maxUsers: z.number().int().positive().default(1_000_000),
    /** Optional: drop a user's state after this many seconds of event time without an event from them. */
    userIdleSeconds: z.number().positive().optional(),
  }).default({}),
  /** Where to start when there is no checkpoint: the latest published version of `name`, or fresh weights. */
  initFrom: z.enum(['latest', 'scratch']).default('latest'),
  publish: z.object({
    /** A version every this many trained examples… */
    everyExamples: z.number().int().positive().default(50_000),
    /** …or every this many seconds, whichever comes first (only when something was trained). */
    everySeconds: z.number().positive().default(300),
    /** A full snapshot after this many deltas (0: always full). */
    fullEvery: z.number().int().nonnegative().default(10),
    /**
     * Optional: move the serving alias when the new version's progressive metrics are within the margins of the
     * serving version's on the same events (the serving version shadow-scores every micro-batch; `minEvents` must
     * not exceed `progressive.window`, and accrues again on each new serving version).
     */
    autoPromote: AutoPromotePolicySchema.optional(),
  }).default({}),
  checkpoint: z.object({
    /** @default var/train-stream/<name> under the working directory */
    dir: z.string().optional(),
    /** A checkpoint at least this often (one is also written after every publish). */
    everySeconds: z.number().positive().default(60),
    /** Checkpoints kept on disk (the newest is used; older ones are the fallback if it is damaged). */
    keep: z.number().int().min(1).default(2),
  }).default({}),
  progressive: z.object({
    /** Rolling window of the progressive AUC and logloss, in examples. */
    window: z.number().int().min(100).default(10_000),
    /** Seconds between progress log lines. */
    logEverySeconds: z.number().positive().default(10),
  }).default({}),
});

export type StreamConfig = z.infer<typeof StreamConfigSchema>;
export type StreamConfigInput = z.input<typeof StreamConfigSchema>;

export function loadStreamConfig(file: string): StreamConfig {
  const config = loadJsonFile(StreamConfigSchema, file, 'streaming training config');
  const base = path.dirname(path.resolve(file));
  return {
    ...config,
    features: path.resolve(base, config.features),
    checkpoint: { ...config.checkpoint, ...(config.checkpoint.dir ? { dir: path.resolve(base, config.checkpoint.dir) } : {}) },
  };
}

/** The checkpoint folder of a config: its own, else var/train-stream/<name>. */
export const checkpointDirOf = (config: StreamConfig): string => path.resolve(config.checkpoint.dir ?? path.join('var', 'train-stream', config.name));
