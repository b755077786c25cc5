import type { CfConfig } from '../../pipelines/training/cf-config.js';

/** What ml100k-cf saves per (variant, seed): the resolved config it trained and what came out. */
export interface CfRunRecord {
  variant: string; model: string; seed: number; config: unknown; bestEpoch: number; epochsRun: number;
  secondsPerEpoch: number; validation: Record<string, number>; test: Record<string, number>; artifactDir: string;
  /** The early-stopped model's test metrics (test is the model retrained on train ∪ validation); absent in records from before the retrain. */
  earlyStoppedTest?: Record<string, number>;
}

/** What decides a run's outcome: the source, model and training settings (a config's name and description do not). */
const settings = (config: unknown): string => {
  const { source, model, training } = (config ?? {}) as Partial<CfConfig>;
  return JSON.stringify({ source, model, training });
};

/**
 * Whether a saved record stands for the run that would be made now: it has
 * the retrained model's test (records from before the retrain hold the
 * early-stopped one as `test`) and was trained with the same settings as
 * `wanted` (the resolved config the run would train), so a re-tuned config
 * file is run again instead of being read from an older record.
 */
export function resumable(saved: CfRunRecord | undefined, wanted: CfConfig): boolean {
  return saved?.earlyStoppedTest !== undefined && settings(saved.config) === settings(wanted);
}
