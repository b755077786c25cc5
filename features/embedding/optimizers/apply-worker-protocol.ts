import type { MessagePort } from 'node:worker_threads';
import type { OptimizerConfig } from './sparse-optimizer.js';

/** Slots of the Int32Array each helper thread shares with the main thread. */
export const CONTROL = {
  /** Main increments it to hand out a job; -1 stops the helper. */
  job: 0,
  /** The helper sets it to the job it finished. */
  done: 1,
  first: 2,
  last: 3,
  step: 4,
  /** 1 if the helper's last job threw, FAILED_TO_START if it never ran (the message follows on the port). */
  failed: 5,
} as const;
export const FAILED_TO_START = 2;
export const CONTROL_INTS = 8;

export interface WorkerSetup {
  config: OptimizerConfig;
  weights: Float32Array;
  slots: Float32Array[];
  dim: number;
  control: Int32Array;
  port: MessagePort;
}
