/**
 * A corpus of malformed event messages, one per kind of fault, each with the
 * reason (a regex) ingestion must give when dead-lettering it. Shared by the
 * unit test of validation and the integration test through Kafka.
 */
const good = { schema_version: 1, type: 'impression', event_id: 'bad-base', ts: 1_704_067_200_000, user_id: 'u1', item_id: 'i1', label: 0 };
const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const without = (field: string) => json(Object.fromEntries(Object.entries(good).filter(([k]) => k !== field)));
const withField = (field: string, value: unknown) => json({ ...good, [field]: value });

export interface BadInput {
  name: string;
  value: Buffer | null;
  reason: RegExp;
}

export const BAD_INPUTS: BadInput[] = [
  { name: 'truncated JSON', value: Buffer.from('{"type":"impression","event_id":'), reason: /malformed JSON/ },
  { name: 'not JSON at all', value: Buffer.from('hello world'), reason: /malformed JSON/ },
  { name: 'JSON array', value: Buffer.from('[1,2,3]'), reason: /not a JSON object/ },
  { name: 'JSON string', value: Buffer.from('"impression"'), reason: /not a JSON object/ },
  { name: 'JSON null', value: Buffer.from('null'), reason: /not a JSON object/ },
  { name: 'JSON number', value: Buffer.from('42'), reason: /not a JSON object/ },
  { name: 'empty object', value: Buffer.from('{}'), reason: /unknown event type/ },
  { name: 'unknown type', value: withField('type', 'purchase'), reason: /unknown event type "purchase"/ },
  { name: 'missing type', value: without('type'), reason: /unknown event type undefined/ },
  { name: 'missing event_id', value: without('event_id'), reason: /invalid impression event: event_id/ },
  { name: 'empty event_id', value: withField('event_id', ''), reason: /event_id: must not be empty/ },
  { name: 'event_id too long', value: withField('event_id', 'x'.repeat(300)), reason: /event_id: longer than 256/ },
  { name: 'ts in seconds', value: withField('ts', 1_704_067_200), reason: /ts: epoch milliseconds, not seconds/ },
  { name: 'ts as a string', value: withField('ts', '1704067200000'), reason: /ts: Expected number/ },
  { name: 'fractional ts', value: withField('ts', 1_704_067_200_000.5), reason: /ts: an integer/ },
  { name: 'missing user_id', value: without('user_id'), reason: /user_id: Required/ },
  { name: 'numeric item_id', value: withField('item_id', 123), reason: /item_id: Expected string/ },
  { name: 'label out of range', value: withField('label', 2), reason: /label/ },
  { name: 'value not a number', value: withField('value', 'high'), reason: /value: Expected number/ },
  { name: 'unknown field', value: withField('price', 9.99), reason: /Unrecognized key.*price/ },
  { name: 'future schema version', value: withField('schema_version', 2), reason: /schema_version/ },
  { name: 'nested context', value: withField('context', { device: { os: 'x' } }), reason: /context/ },
  { name: 'item_update without attributes', value: json({ schema_version: 1, type: 'item_update', event_id: 'bad-iu', ts: 1_704_067_200_000, item_id: 'i1' }), reason: /invalid item_update event: attributes/ },
  { name: 'invalid UTF-8', value: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), reason: /not valid UTF-8/ },
  { name: 'attribute list of numbers', value: json({ schema_version: 1, type: 'user_update', event_id: 'bad-uu', ts: 1_704_067_200_000, user_id: 'u1', attributes: { tags: [1, 2] } }), reason: /invalid user_update event: attributes\.tags/ },
  { name: 'NaN literal', value: Buffer.from('{"type":"impression","ts":NaN}'), reason: /malformed JSON/ },
  { name: 'oversized', value: withField('context', { ...Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'z'.repeat(700)])) }), reason: /oversized/ },
  { name: 'empty message', value: Buffer.alloc(0), reason: /empty message/ },
  { name: 'tombstone (null value)', value: null, reason: /empty message/ },
  { name: 'whitespace only', value: Buffer.from('   \n'), reason: /malformed JSON/ },
];
