import type { RegistryEvent } from './registry-notifier.js';

/** The ClickHouse table of registry events (infra/migrations/0003_model_registry.sql). */
export const REGISTRY_TABLE = 'model_registry';

/** One row of the table: metrics as parallel name/value arrays (no Map on 18.16), times as epoch ms. */
export function registryEventRow(event: RegistryEvent, host: string): Record<string, unknown> {
  const metrics = Object.entries(event.metrics).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]));
  return {
    event_id: event.eventId,
    event_kind: event.kind,
    registry: event.registry,
    model: event.model,
    version: event.version,
    alias: event.alias ?? '',
    previous_version: event.previous,
    parent_version: event.parent,
    generation: event.generation ?? 0,
    model_type: event.modelType,
    artifact_kind: event.artifactKind,
    created_at: event.createdAt,
    event_ts: event.at,
    trained_until: event.trainedUntil,
    metric_names: metrics.map(([name]) => name),
    metric_values: metrics.map(([, value]) => value),
    offsets: event.offsets === null || event.offsets === undefined ? '' : JSON.stringify(event.offsets),
    actor: event.actor,
    reason: event.reason,
    host,
  };
}
