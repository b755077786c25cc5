import { z } from 'zod';

/**
 * The event schema, version 1: what Kafka ingestion, event files and serving
 * all accept. Validate once at the edge with `parseEvent`, then trust `Event`.
 *
 * - interactions (`impression`, `click`, `rating`): a user met an item. `label`
 *   is the binary outcome when known (an impression that was clicked has
 *   label 1); `value` carries a graded outcome such as a rating. An
 *   interaction that answers a served recommendation carries its `request_id`.
 * - attribute updates (`item_update`, `user_update`): the entity's attributes
 *   as of `ts` (a full replacement of the named attributes).
 */
export const EVENT_SCHEMA_VERSION = 1;
export const MAX_EVENT_BYTES = 64 * 1024;

export const INTERACTION_TYPES = ['impression', 'click', 'rating'] as const;
export const UPDATE_TYPES = ['item_update', 'user_update'] as const;
export const EVENT_TYPES = [...INTERACTION_TYPES, ...UPDATE_TYPES] as const;

const Id = z.string().min(1, 'must not be empty').max(256, 'longer than 256 characters');
/** Latest event time accepted (2100-01-01): a later one is a unit or clock bug, and would pin "latest" queries far ahead. */
export const MAX_EVENT_TS = 4_102_444_800_000;
/** Epoch milliseconds; the lower bound (2001-09-09) rules out seconds sent by mistake. */
const Timestamp = z.number().int('an integer (epoch milliseconds)').min(1e12, 'epoch milliseconds, not seconds').max(MAX_EVENT_TS, 'after 2100-01-01 (epoch milliseconds expected)');
const AttributeValue = z.union([z.string().max(1024), z.number().finite(), z.boolean(), z.array(z.string().max(256)).max(256)]);

/**
 * Attribute names starting with `_` are the online store's own fields (a
 * user attribute `_ts` would overwrite the update time the store orders
 * updates by). A name must also be in Unicode NFKC form, so look-alike
 * spellings (full-width `＿ｔｓ`, ligatures) cannot stand in for a reserved or
 * an existing name.
 */
export const RESERVED_ATTRIBUTE_PREFIX = '_';

const NON_ASCII = /[^\u0000-\u007f]/; // eslint-disable-line no-control-regex

/** Why `name` cannot be an attribute name, or undefined when it can. */
export function attributeNameProblem(name: string): string | undefined {
  if (name.startsWith(RESERVED_ATTRIBUTE_PREFIX)) return `attribute name ${JSON.stringify(name)} is reserved (names starting with "${RESERVED_ATTRIBUTE_PREFIX}" are the store's own fields)`;
  // ASCII is always in NFKC form: only other names pay for normalize().
  if (NON_ASCII.test(name) && name !== name.normalize('NFKC')) return `attribute name ${JSON.stringify(name)} is not in Unicode NFKC form (it reads as ${JSON.stringify(name.normalize('NFKC'))})`;
  return undefined;
}

// One check over the whole map rather than a refinement per key: this runs for every ingested event.
const Attributes = z.record(z.string().min(1).max(128), AttributeValue).superRefine((attributes, ctx) => {
  const names = Object.keys(attributes);
  if (names.length > 256) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'at most 256 attributes' });
  for (const name of names) {
    const problem = attributeNameProblem(name);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem, path: [name] });
  }
});

const base = {
  schema_version: z.literal(EVENT_SCHEMA_VERSION).default(EVENT_SCHEMA_VERSION),
  event_id: Id,
  ts: Timestamp,
};

export const InteractionEventSchema = z
  .object({
    ...base,
    type: z.enum(INTERACTION_TYPES),
    user_id: Id,
    item_id: Id,
    label: z.union([z.literal(0), z.literal(1)]).optional(),
    value: z.number().finite().optional(),
    request_id: Id.optional(),
    /** Request-time context (device, page, position...): usable as features. */
    context: Attributes.optional(),
  })
  .strict();

export const ItemUpdateEventSchema = z.object({ ...base, type: z.literal('item_update'), item_id: Id, attributes: Attributes }).strict();
export const UserUpdateEventSchema = z.object({ ...base, type: z.literal('user_update'), user_id: Id, attributes: Attributes }).strict();

export const EventSchema = z.discriminatedUnion('type', [
  InteractionEventSchema,
  ItemUpdateEventSchema,
  UserUpdateEventSchema,
]);

export type InteractionEvent = z.infer<typeof InteractionEventSchema>;
export type ItemUpdateEvent = z.infer<typeof ItemUpdateEventSchema>;
export type UserUpdateEvent = z.infer<typeof UserUpdateEventSchema>;
export type Event = InteractionEvent | ItemUpdateEvent | UserUpdateEvent;
export type AttributeMap = z.infer<typeof Attributes>;

export function isInteraction(event: Event): event is InteractionEvent {
  return (INTERACTION_TYPES as readonly string[]).includes(event.type);
}
