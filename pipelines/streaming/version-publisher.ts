import type { Event } from '../../features/events/event-schema.js';
import { errorMessage } from '../../infra/errors.js';
import { logger } from '../../infra/logger.js';
import type { CtrModel } from '../../models/ctr/ctr-model.js';
import { saveCtrDelta } from '../../models/ctr-artifact/delta-artifact.js';
import { saveCtrModel } from '../../models/ctr-artifact/model-artifact.js';
import { ArtifactError } from '../../models/artifact/read-artifact.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { ProgressiveFigures } from './progressive-metrics.js';
import type { ShadowAutoPromoteOutcome } from './shadow-auto-promote.js';
import type { StreamConfig } from './stream-config.js';
import type { PublishState, TrainerCounters } from './trainer-checkpoint.js';

const log = logger('train-stream');

export interface PublishedVersion {
  version: number;
  kind: 'full' | 'delta';
  dir: string;
  parent: number | null;
  /** Embedding rows the delta carries (every row for a full version). */
  rows: number;
  /** Wall clock when the version became visible (ms). */
  publishedAt: number;
  offsets: Record<string, number>;
  freshness: { oldestEventAgeMs: number; newestEventAgeMs: number } | null;
  promoted: boolean;
  /** The auto-promote decision (publish.autoPromote), with the figures it compared; null when off or it failed. */
  autoPromote: ShadowAutoPromoteOutcome | null;
}

export interface PublishInput {
  registry: ModelRegistry;
  config: StreamConfig;
  model: CtrModel;
  topic: string;
  positions: Map<number, number>;
  /** Events below `positions` that the builder still holds for lateness: consumed, not yet in the weights. */
  pending: readonly Event[];
  progressive: ProgressiveFigures;
  counters: TrainerCounters;
  /** Updated in place on success. */
  state: PublishState;
  freshness: PublishedVersion['freshness'];
  /** The auto-promote step (publish.autoPromote): told the new version, says whether serving moved to it. */
  autoPromote?: (version: number) => Promise<ShadowAutoPromoteOutcome | null>;
}

/**
 * Publishes the model as the next version: a full snapshot when the
 * schedule says (first version, every `fullEvery` deltas, or the parent is
 * unusable), else a delta on the trainer's previous version. The manifest
 * carries the source offsets, the events below them still held for
 * lateness (`extra.pendingEvents`) and the progressive metrics; the registry
 * logs and announces it, and the optional auto-promote step may move serving.
 */
export async function publishVersion(input: PublishInput): Promise<PublishedVersion> {
  const { registry, config, model, state, progressive } = input;
  const offsets = Object.fromEntries([...input.positions].sort((a, b) => a[0] - b[0]).map(([p, o]) => [String(p), o]));
  const metrics = { progressive_auc: progressive.auc, progressive_logloss: progressive.logloss, progressive_events: progressive.events, examples: input.counters.trained };
  const extra = {
    offsets: { topic: input.topic, partitions: offsets },
    // The offsets count these as consumed, the weights do not hold them yet: a trainer starting from this version
    // (no checkpoint) trains them first, or they would fall in no version at all.
    pendingEvents: input.pending,
    progressive,
    freshness: input.freshness,
    trainer: { examples: input.counters.trained, events: input.counters.events, steps: input.counters.steps },
    tables: model.layout.tables.map((t) => ({ name: t.name, rows: t.rows, liveRows: t.stats()?.liveRows ?? null })),
  };
  const common = { registry: registry.root, name: config.name, metrics, trainedUntil: input.counters.trainedUntil, extra };
  const tables = model.layout.tables;
  const changed = tables.map((t) => t.takeChangedRows());
  const wantsFull = state.lastVersion === null || config.publish.fullEvery === 0 || state.deltasSinceFull >= config.publish.fullEvery;
  let saved;
  let kind: 'full' | 'delta' = wantsFull ? 'full' : 'delta';
  try {
    if (!wantsFull) {
      try {
        saved = await saveCtrDelta(model, { ...common, parent: state.lastVersion!, changedRows: changed });
      } catch (error) {
        if (!(error instanceof ArtifactError)) throw error;
        log.warn({ parent: state.lastVersion, err: errorMessage(error) }, 'cannot publish a delta on the previous version; publishing a full one');
        kind = 'full';
      }
    }
    saved ??= await saveCtrModel(model, common);
  } catch (error) {
    // Nothing was published: the rows still differ from the last version.
    tables.forEach((t, i) => t.markChanged(changed[i]!));
    throw error;
  }
  const { manifest, dir } = saved;
  const parent = kind === 'delta' ? state.lastVersion : null;
  state.lastVersion = manifest.version;
  state.deltasSinceFull = kind === 'full' ? 0 : state.deltasSinceFull + 1;
  state.examplesSincePublish = 0;
  state.published++;
  try {
    await registry.announce(config.name, manifest.version, { actor: 'train-stream', reason: `${kind} version from the stream` });
  } catch (error) {
    log.warn({ version: manifest.version, err: errorMessage(error) }, 'announcing the version failed; it is published in the folder');
  }
  const autoPromote = input.autoPromote ? await input.autoPromote(manifest.version) : null;
  const promoted = autoPromote?.promoted ?? false;
  const rows = kind === 'delta' ? changed.reduce((n, r) => n + r.length, 0) : tables.reduce((n, t) => n + t.rows, 0);
  log.info({ version: manifest.version, kind, parent, rows, offsets, auc: progressive.auc, promoted }, 'published');
  return { version: manifest.version, kind, dir, parent, rows, publishedAt: Date.now(), offsets, freshness: input.freshness, promoted, autoPromote };
}
