import type { AttributeMap, InteractionEvent } from '../events/event-schema.js';
import type { Example } from '../samples/example.js';

type Raw = AttributeMap[string] | undefined;

/** The raw value a `source` names, for the example's own event. */
export function sourceValue(source: string, example: Example): Raw {
  return valueFrom(source, example.event, example.user, example.item);
}

/** The raw value an item-side `source` names for another item (a history entry). */
export function itemSourceValue(source: string, itemId: string, itemAttributes: (id: string) => AttributeMap): Raw {
  if (source === 'item_id') return itemId;
  return itemAttributes(itemId)[source.slice('item.'.length)];
}

function valueFrom(source: string, event: InteractionEvent, user: AttributeMap, item: AttributeMap): Raw {
  if (source === 'user_id') return event.user_id;
  if (source === 'item_id') return event.item_id;
  const dot = source.indexOf('.');
  const scope = source.slice(0, dot);
  const key = source.slice(dot + 1);
  if (scope === 'user') return user[key];
  if (scope === 'item') return item[key];
  return event.context?.[key];
}

/** A scalar token for a categorical field; a list takes its first element. Missing → undefined. */
export function scalarToken(value: Raw, transform: 'none' | 'first_char' = 'none'): string | undefined {
  const scalar = Array.isArray(value) ? value[0] : value;
  if (scalar === undefined || scalar === '') return undefined;
  const token = String(scalar);
  return transform === 'first_char' ? token.charAt(0) : token;
}

/** Tokens of a multi-valued field: a list, or a scalar as a list of one. */
export function listTokens(value: Raw): string[] {
  if (value === undefined || value === '') return [];
  return Array.isArray(value) ? value : [String(value)];
}

/** A cross's token: its sources' scalar tokens joined by U+001F (which no id contains in practice); undefined when any is missing. */
export function crossToken(sources: readonly string[], example: Example): string | undefined {
  const tokens: string[] = [];
  for (const source of sources) {
    const token = scalarToken(sourceValue(source, example));
    if (token === undefined) return undefined;
    tokens.push(token);
  }
  return tokens.join('\u001f');
}
