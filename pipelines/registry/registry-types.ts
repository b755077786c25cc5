import type { Manifest } from '../../models/artifact/artifact-format.js';
import type { AliasRecord } from './alias-store.js';
import type { FileCheck, VersionStatus } from './inspect-version.js';
import type { NotifyOutcome } from './registry-notifier.js';

/** What the registry's operations take and return. */
export interface ActionOptions {
  /** Who acts. @default defaultActor() */
  actor?: string;
  /** Why, for the audit log. @default '' */
  reason?: string;
}

export interface PromoteOptions extends ActionOptions {
  /** Promote only if the serving version is still this one (null: none yet); else AliasConflictError. */
  ifServing?: number | null;
}

export interface ModelSummary {
  model: string;
  versions: number;
  latest: number | null;
  serving: number | null;
  /** When and by whom the serving alias last moved. */
  servingSince: string | null;
  servingActor: string | null;
}

export interface VersionSummary {
  model: string;
  version: number;
  dir: string;
  status: VersionStatus;
  verified: boolean;
  problems: string[];
  serving: boolean;
  createdAt: string | null;
  modelType: string | null;
  kind: string | null;
  parent: number | null;
  trainedUntil: number | null;
  metrics: Record<string, number | null>;
}

export interface VersionDetail extends VersionSummary {
  ref: string;
  manifest: Manifest | null;
  files: FileCheck[];
  offsets: unknown;
  servingAlias: AliasRecord | null;
}

export interface ResolvedModel {
  model: string;
  version: number;
  dir: string;
  /** The reference as resolved, e.g. `din@serving`. */
  ref: string;
}

export interface AliasChange {
  model: string;
  alias: string;
  from: number | null;
  to: number;
  generation: number;
  /** False when the alias already pointed at the version (nothing written). */
  changed: boolean;
  notified: NotifyOutcome[];
}
