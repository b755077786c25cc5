/**
 * What the folder registry tells the outside world after a change is
 * committed to the folder. The folder stays the source of truth: a notifier
 * never fails the operation, it reports what it managed to do.
 */
export type RegistryEventKind = 'publish' | 'promote' | 'rollback';

export interface RegistryEvent {
  kind: RegistryEventKind;
  /** Stable per event (`<model>:v<version>:publish`, `<model>:serving:g<generation>`), so a re-sent event collapses. */
  eventId: string;
  /** The registry folder. */
  registry: string;
  model: string;
  /** The version published, or that the alias now points to. */
  version: number;
  /** The alias the change moved (`serving`), null for a publish. */
  alias: string | null;
  /** The serving version before a promote or rollback. */
  previous: number | null;
  /** The version a delta builds on (manifest `extra.parent`). */
  parent: number | null;
  modelType: string;
  artifactKind: string;
  /** The artifact's creation time, epoch ms. */
  createdAt: number;
  /** When the event happened, epoch ms. */
  at: number;
  trainedUntil: number | null;
  metrics: Record<string, number | null>;
  /** Source offsets the version was trained up to (manifest `extra.offsets`), as the trainer wrote them. */
  offsets: unknown;
  generation: number | null;
  actor: string;
  reason: string;
}

export interface NotifyOutcome {
  sink: string;
  /** `skipped`: the service is not configured or not reachable; `failed`: it answered with an error. */
  status: 'sent' | 'skipped' | 'failed';
  detail: string;
}

export interface RegistryNotifier {
  notify(event: RegistryEvent): Promise<NotifyOutcome[]>;
  close(): Promise<void>;
}

/** No services: nothing is sent, and the outcome says so. */
export const folderOnlyNotifier: RegistryNotifier = {
  notify: async () => [{ sink: 'services', status: 'skipped', detail: 'no services configured (folder only)' }],
  close: async () => {},
};
