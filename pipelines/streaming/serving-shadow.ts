import type { Example } from '../../features/samples/example.js';
import { errorMessage } from '../../infra/errors.js';
import { logger } from '../../infra/logger.js';
import type { CtrModel } from '../../models/ctr/ctr-model.js';
import { loadCtrModel } from '../../models/ctr-artifact/model-artifact.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { ProgressiveMetrics, type ProgressiveFigures, type ProgressiveSnapshot } from './progressive-metrics.js';

const log = logger('train-stream');

/** The serving version's rolling figures, over the same micro-batches as the online model's progressive window. */
export interface ShadowFigures extends ProgressiveFigures {
  /** The serving version scored with; null when nothing serves. */
  version: number | null;
  /** The trainer's example count when the window last grew (its last example); null before the first batch. */
  windowEnd: number | null;
  /** Why the serving version is not being scored (cannot be loaded or scored), else null. */
  problem: string | null;
}

/** What a checkpoint keeps of the shadow: its window, valid only while the alias still names `version`. */
export interface ShadowSnapshot {
  version: number;
  windowEnd: number | null;
  window: ProgressiveSnapshot;
}

/** How the alias stood against the version being scored with, when last read. */
export interface ShadowSync {
  /** The alias names another version than the one scored with: the window restarted. */
  moved: boolean;
  from: number | null;
  to: number | null;
  /** The alias record's action, actor and time when it moved. */
  by: { action: string; actor: string; at: string } | null;
}

/**
 * Shadow scoring for auto-promote: the model's serving version (loaded as
 * serving loads it, `loadCtrModel`, full or delta chain) scores every
 * micro-batch the online model scores, before training, into a rolling
 * window of the same size. The figures then compare with the online model's
 * progressive window on the same events. When the serving alias moves (an
 * auto-promote, a hand promote or rollback) the new serving version is
 * loaded and the window restarts.
 */
export class ServingShadow {
  private model: CtrModel | null = null;
  private loaded: number | null = null;
  private window: ProgressiveMetrics;
  private windowEnd: number | null = null;
  private problem: string | null = null;

  private constructor(private readonly registry: ModelRegistry, private readonly name: string, private readonly size: number) {
    this.window = new ProgressiveMetrics(size);
  }

  /** Loads the current serving version; a checkpointed window is kept if the alias still names its version. */
  static async open(registry: ModelRegistry, name: string, size: number, saved?: ShadowSnapshot): Promise<ServingShadow> {
    const shadow = new ServingShadow(registry, name, size);
    await shadow.sync();
    if (saved && saved.version === shadow.loaded && shadow.model) {
      shadow.window = new ProgressiveMetrics(size, saved.window);
      shadow.windowEnd = saved.windowEnd;
    }
    return shadow;
  }

  /** The serving version scored with (null: nothing serves, or it could not be loaded). */
  get version(): number | null {
    return this.model ? this.loaded : null;
  }

  /** The loaded serving model (read-only use: inspection, tests). */
  get servingModel(): CtrModel | null {
    return this.model;
  }

  /**
   * Scores a micro-batch with the serving version (its own encoder, as
   * serving does); `until` is the trainer's example count once this batch is
   * counted, the window's new end. A batch it cannot score disables the
   * shadow until the alias is read again (the window would have a hole).
   */
  score(examples: readonly Example[], until: number): void {
    if (!this.model) return;
    try {
      const batch = this.model.encoder.encode(examples);
      this.window.add(batch.labels, this.model.predict(batch));
      this.windowEnd = until;
    } catch (error) {
      this.drop(`serving v${this.loaded} could not score the stream's examples: ${errorMessage(error)}`);
    }
  }

  figures(last?: number): ShadowFigures {
    return { ...this.window.figures(last), version: this.loaded, windowEnd: this.windowEnd, problem: this.problem };
  }

  snapshot(): ShadowSnapshot | null {
    return this.model && this.loaded !== null ? { version: this.loaded, windowEnd: this.windowEnd, window: this.window.snapshot() } : null;
  }

  /**
   * Reads the serving alias. If it names another version than the one
   * scored with, that version is loaded and the window restarts; a version
   * that failed to load or score is tried again.
   */
  async sync(): Promise<ShadowSync> {
    const alias = await this.registry.serving(this.name);
    const to = alias?.version ?? null;
    const from = this.loaded;
    const moved = to !== from;
    if (!moved && (to === null || this.model)) return { moved, from, to, by: null };
    this.reset(to);
    if (to !== null) {
      try {
        const resolved = await this.registry.resolve(`${this.name}@${to}`);
        this.model = (await loadCtrModel(resolved.dir)).model;
        log.info({ serving: to, previous: from, action: alias?.action, actor: alias?.actor }, 'shadow scoring with the serving version (window restarted)');
      } catch (error) {
        this.drop(`serving v${to} could not be loaded for shadow scoring: ${errorMessage(error)}`);
      }
    }
    return { moved, from, to, by: moved && alias ? { action: alias.action, actor: alias.actor, at: alias.at } : null };
  }

  dispose(): void {
    this.model?.dispose();
    this.model = null;
  }

  private reset(version: number | null): void {
    this.dispose();
    this.loaded = version;
    this.window = new ProgressiveMetrics(this.size);
    this.windowEnd = null;
    this.problem = null;
  }

  private drop(problem: string): void {
    log.warn({ serving: this.loaded, problem }, 'shadow scoring stopped');
    this.dispose();
    this.window = new ProgressiveMetrics(this.size);
    this.windowEnd = null;
    this.problem = problem;
  }
}
