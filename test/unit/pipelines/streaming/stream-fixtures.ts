import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { syntheticEvents, type SyntheticOptions } from '../../../../features/datasets/synthetic.js';
import { StreamConfigSchema, type StreamConfig } from '../../../../pipelines/streaming/stream-config.js';
import type { StreamRecord } from '../../../../pipelines/streaming/stream-trainer.js';

export const STREAM_SPEC = path.resolve('configs/features/synthetic-stream.json');
export const SMALL = { events: 3000, users: 100, items: 200, categories: 6, seed: 5 };

/** A small DIN on a dynamic unified table, publishing and checkpointing only when told. */
export function smallStreamConfig(dir: string, overrides: Partial<StreamConfig> = {}): StreamConfig {
  return {
    ...StreamConfigSchema.parse({
      name: 'stream-test',
      features: STREAM_SPEC,
      model: {
        type: 'din', seed: 3, learningRate: 0.005, embeddingLearningRate: 0.02, mlpUnits: [16], attentionUnits: [8],
        embedding: { kind: 'unified', rows: 4096, chunkDim: 4, defaultChunks: 2, dynamic: { admitAfter: 1 } },
      },
      stream: { batchSize: 64 },
      initFrom: 'scratch',
      publish: { everyExamples: 1e9, everySeconds: 1e9, fullEvery: 2 },
      checkpoint: { dir: path.join(dir, 'checkpoints'), everySeconds: 1e9 },
    }),
    ...overrides,
  };
}

/** The synthetic stream as Kafka-like records of one partition. */
export function syntheticRecords(options: SyntheticOptions = SMALL): StreamRecord[] {
  return [...syntheticEvents(options)].map((e, offset) => ({ partition: offset % 1, offset, value: Buffer.from(JSON.stringify(e)), timestamp: 1_700_000_000_000 + offset }));
}

export const tempDir = (): string => mkdtempSync(path.join(tmpdir(), 'stream-unit-'));
