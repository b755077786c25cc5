import type { AttributeMap, Event } from '../../features/events/event-schema.js';
import type { FeatureSpec } from '../../features/spec/feature-spec.js';
import { labelOf } from '../../features/samples/point-in-time-builder.js';

/**
 * What the online store keeps, derived from a feature spec so serving sees
 * the behaviour sequence training saw:
 * - per user: the behaviour sequence (spec.behaviour: types, positive only,
 *   newest first, at most maxLength), counters, attributes;
 * - per item: counters, attributes.
 * Counters per entity and interaction type: `<type>` (events) and
 * `<type>:pos` (label 1 under the spec's label rule), plus `last_ts`.
 */
export interface OnlineStoreSpec {
  label: FeatureSpec['label'];
  behaviour: { types: readonly string[]; positiveOnly: boolean; maxLength: number };
}

export function onlineSpecFrom(spec: FeatureSpec): OnlineStoreSpec {
  return { label: spec.label, behaviour: { ...spec.behaviour } };
}

export type EntityKind = 'user' | 'item';

/** One behaviour event in a user's sequence. */
export interface SequenceEntry {
  item_id: string;
  ts: number;
  event_id: string;
}

export interface AttributeUpdate {
  kind: EntityKind;
  id: string;
  ts: number;
  attributes: AttributeMap;
}

/**
 * The effect of a run of events on the online store, aggregated: counter
 * increments summed, sequence entries grouped by user, attribute updates in
 * order. Applied atomically by the Redis writer and by the in-memory store.
 */
export interface OnlineOps {
  /** `${kind}\u0000${id}` → field → increment. */
  counters: Map<string, Map<string, number>>;
  /** `${kind}\u0000${id}` → the latest interaction time. */
  lastTs: Map<string, number>;
  /** user id → new sequence entries. */
  sequences: Map<string, SequenceEntry[]>;
  attributes: AttributeUpdate[];
}

export const entityRef = (kind: EntityKind, id: string) => `${kind}\u0000${id}`;
export function parseEntityRef(ref: string): { kind: EntityKind; id: string } {
  const at = ref.indexOf('\u0000');
  return { kind: ref.slice(0, at) as EntityKind, id: ref.slice(at + 1) };
}

export function emptyOps(): OnlineOps {
  return { counters: new Map(), lastTs: new Map(), sequences: new Map(), attributes: [] };
}

function bump(ops: OnlineOps, ref: string, field: string): void {
  let fields = ops.counters.get(ref);
  if (!fields) ops.counters.set(ref, (fields = new Map()));
  fields.set(field, (fields.get(field) ?? 0) + 1);
}

/**
 * Where an entity's share of an event's effect goes: the ops of the entity's
 * bucket, or undefined where that bucket must not take the event (it holds
 * it already). Called at most once per entity and event.
 */
export type OpsTarget = (kind: EntityKind, id: string) => OnlineOps | undefined;

/** Every entity into one `ops`. */
export const into = (ops: OnlineOps): OpsTarget => () => ops;

/** Adds one event's effect to the ops `target` gives for each entity it touches. */
export function addEventOps(target: OpsTarget, spec: OnlineStoreSpec, event: Event): void {
  if (event.type === 'item_update') {
    target('item', event.item_id)?.attributes.push({ kind: 'item', id: event.item_id, ts: event.ts, attributes: event.attributes });
    return;
  }
  if (event.type === 'user_update') {
    target('user', event.user_id)?.attributes.push({ kind: 'user', id: event.user_id, ts: event.ts, attributes: event.attributes });
    return;
  }
  const label = labelOf({ label: spec.label } as FeatureSpec, event);
  const userOps = target('user', event.user_id);
  const itemOps = target('item', event.item_id);
  if (userOps) addInteraction(userOps, entityRef('user', event.user_id), event.type, label, event.ts);
  if (itemOps) addInteraction(itemOps, entityRef('item', event.item_id), event.type, label, event.ts);
  const { types, positiveOnly } = spec.behaviour;
  if (userOps && types.includes(event.type) && (!positiveOnly || label === 1)) {
    let seq = userOps.sequences.get(event.user_id);
    if (!seq) userOps.sequences.set(event.user_id, (seq = []));
    seq.push({ item_id: event.item_id, ts: event.ts, event_id: event.event_id });
  }
}

function addInteraction(ops: OnlineOps, ref: string, type: string, label: number | undefined, ts: number): void {
  bump(ops, ref, type);
  if (label === 1) bump(ops, ref, `${type}:pos`);
  if ((ops.lastTs.get(ref) ?? -Infinity) < ts) ops.lastTs.set(ref, ts);
}

/** `ops` split by the bucket of each entity (`bucketOf` of its id): one ops per bucket. */
export function splitOps(ops: OnlineOps, buckets: number, bucketOf: (id: string) => number): OnlineOps[] {
  if (buckets === 1) return [ops];
  const out = Array.from({ length: buckets }, emptyOps);
  for (const [ref, fields] of ops.counters) out[bucketOf(parseEntityRef(ref).id)]!.counters.set(ref, fields);
  for (const [ref, ts] of ops.lastTs) out[bucketOf(parseEntityRef(ref).id)]!.lastTs.set(ref, ts);
  for (const [userId, entries] of ops.sequences) out[bucketOf(userId)]!.sequences.set(userId, entries);
  for (const update of ops.attributes) out[bucketOf(update.id)]!.attributes.push(update);
  return out;
}

export function opsOf(spec: OnlineStoreSpec, events: Iterable<Event>): OnlineOps {
  const ops = emptyOps();
  const target = into(ops);
  for (const e of events) addEventOps(target, spec, e);
  return ops;
}

/**
 * Sequence order, newest first: by ts, then by the entry's member string
 * (descending), as Redis orders equal scores in ZREVRANGE.
 */
export function sequenceMember(entry: SequenceEntry): string {
  return `${entry.item_id.length}:${entry.item_id}${entry.event_id}`;
}

export function parseSequenceMember(member: string): { item_id: string } {
  const colon = member.indexOf(':');
  const length = Number(member.slice(0, colon));
  return { item_id: member.slice(colon + 1, colon + 1 + length) };
}

export function compareNewestFirst(a: { ts: number; member: string }, b: { ts: number; member: string }): number {
  return b.ts - a.ts || Buffer.compare(Buffer.from(b.member), Buffer.from(a.member));
}
