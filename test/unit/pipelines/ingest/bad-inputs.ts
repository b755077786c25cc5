/**
 * A corpus of malformed event messages, one per kind of fault, each with the
 * reason (a regex) ingestion must give when dead-lettering it. Shared by the
 * unit test of validation and the integration test through Kafka.
 */
const good = { schema_version: 1, type: 'impression', event_id: 'bad-base', ts: 1_704_067_200_000, user_id: 'u1', item_id: 'i1', label: 0 };
const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const without = (field: string) => json(Object.fromEntries(Object.entries(good).filter(([k]) => k !== field)));
const withField = (field: string, value: unknown) => json({ ...good, [field]: value });
const userUpdate = (attributes: unknown) => json({ schema_version: 1, type: 'user_update', event_id: 'bad-uu', ts: 1_704_067_200_000, user_id: 'u1', attributes });
const itemUpdate = (attributes: unknown) => json({ schema_version: 1, type: 'item_update', event_id: 'bad-iu', ts: 1_704_067_200_000, item_id: 'i1', attributes });
/** `good` as JSON text with `raw` spliced in before the closing brace (for what JSON.stringify cannot write). */
const rawJson = (raw: string) => Buffer.from(`${JSON.stringify(good).slice(0, -1)},${raw}}`);

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
  // Names the store uses itself, and look-alikes of names.
  { name: 'reserved attribute _ts', value: userUpdate({ _ts: 'x', color: 'red' }), reason: /attributes\._ts: attribute name "_ts" is reserved/ },
  { name: 'reserved attribute prefix on an item', value: itemUpdate({ _internal: 1 }), reason: /attribute name "_internal" is reserved/ },
  { name: 'full-width look-alike of _ts', value: userUpdate({ '\uff3f\uff54\uff53': 1 }), reason: /not in Unicode NFKC form \(it reads as "_ts"\)/ },
  { name: 'ligature in an attribute name', value: itemUpdate({ '\ufb01eld': 'x' }), reason: /not in Unicode NFKC form/ },
  { name: 'look-alike context key', value: withField('context', { '\uff44evice': 'x' }), reason: /context.*NFKC/ },
  { name: 'Cyrillic e in a field name', value: json({ ...Object.fromEntries(Object.entries(good).filter(([k]) => k !== 'user_id')), 'us\u0435r_id': 'u1' }), reason: /user_id: Required|Unrecognized key/ },
  { name: 'Cyrillic c in the type', value: withField('type', '\u0441lick'), reason: /unknown event type/ },
  // Keys given twice: JSON.parse keeps the last, other readers the first.
  { name: 'duplicate key', value: rawJson('"event_id":"other"'), reason: /duplicate key "event_id"/ },
  { name: 'duplicate key spelled with an escape', value: rawJson('"\\u0074s":1704067200001'), reason: /duplicate key "ts"/ },
  { name: 'duplicate attribute', value: Buffer.from('{"schema_version":1,"type":"item_update","event_id":"bad-dup","ts":1704067200000,"item_id":"i1","attributes":{"color":"red","color":"blue"}}'), reason: /duplicate key "color"/ },
  // Text that is not UTF-8, or strings that are not.
  { name: 'overlong UTF-8', value: Buffer.concat([Buffer.from('{"type":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), reason: /not valid UTF-8/ },
  { name: 'truncated UTF-8 sequence', value: Buffer.concat([Buffer.from('{"type":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]), reason: /not valid UTF-8/ },
  { name: 'UTF-8 encoded surrogate', value: Buffer.concat([Buffer.from('{"type":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), reason: /not valid UTF-8/ },
  { name: 'lone surrogate escape', value: Buffer.from(JSON.stringify(good).replace('"u1"', '"u\\ud800"')), reason: /lone UTF-16 surrogate/ },
  { name: 'NUL byte outside a string', value: Buffer.from('{"type":"click"\u0000}'), reason: /malformed JSON/ },
  // JSON that is not quite JSON.
  { name: 'deeply nested context', value: rawJson(`"context":{"deep":${'['.repeat(20_000)}${']'.repeat(20_000)}}`), reason: /context/ },
  { name: 'deeply nested and truncated', value: Buffer.from(`{"context":${'{"a":'.repeat(5000)}`), reason: /malformed JSON/ },
  { name: 'trailing garbage', value: Buffer.from(`${JSON.stringify(good)}x`), reason: /malformed JSON/ },
  { name: 'two objects', value: Buffer.from(`${JSON.stringify(good)}${JSON.stringify(good)}`), reason: /malformed JSON/ },
  { name: 'comment', value: Buffer.from(`/* hi */${JSON.stringify(good)}`), reason: /malformed JSON/ },
  { name: 'single quotes', value: Buffer.from("{'type':'click'}"), reason: /malformed JSON/ },
  { name: 'Infinity literal', value: Buffer.from('{"type":"click","ts":Infinity}'), reason: /malformed JSON/ },
  // Numbers JSON allows and events do not.
  { name: 'ts overflowing to Infinity', value: Buffer.from(JSON.stringify(good).replace('1704067200000', '1e999')), reason: /ts: / },
  { name: 'value overflowing to -Infinity', value: rawJson('"value":-1e999'), reason: /value: / },
  { name: 'negative ts', value: withField('ts', -1), reason: /ts: epoch milliseconds, not seconds/ },
  { name: 'far-future ts', value: withField('ts', 9_999_999_999_999), reason: /ts: after 2100-01-01/ },
  { name: 'huge ts', value: withField('ts', 1e300), reason: /ts: / },
  { name: 'unsafe integer ts', value: Buffer.from(JSON.stringify(good).replace('1704067200000', '9007199254740993')), reason: /ts: / },
  // Wrong types.
  { name: 'label as boolean', value: withField('label', true), reason: /label/ },
  { name: 'label as string', value: withField('label', '1'), reason: /label/ },
  { name: 'user_id as object', value: withField('user_id', { id: 'u1' }), reason: /user_id: Expected string/ },
  { name: 'event_id null', value: withField('event_id', null), reason: /event_id: Expected string/ },
  { name: 'schema_version as string', value: withField('schema_version', '1'), reason: /schema_version/ },
  { name: 'type null', value: withField('type', null), reason: /unknown event type null/ },
  { name: 'attributes as array', value: itemUpdate(['red']), reason: /attributes/ },
  { name: 'attribute value an object', value: itemUpdate({ size: { w: 1 } }), reason: /attributes\.size/ },
  { name: 'context as array', value: withField('context', [1, 2]), reason: /context/ },
  // One past each size limit.
  { name: 'item_id of 257 characters', value: withField('item_id', 'i'.repeat(257)), reason: /item_id: longer than 256/ },
  { name: 'attribute string of 1025 characters', value: itemUpdate({ title: 't'.repeat(1025) }), reason: /attributes\.title/ },
  { name: 'attribute name of 129 characters', value: itemUpdate({ ['n'.repeat(129)]: 1 }), reason: /attributes/ },
  { name: '257 attributes', value: itemUpdate(Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`a${i}`, i]))), reason: /at most 256 attributes/ },
  { name: 'attribute list of 257 strings', value: itemUpdate({ tags: Array.from({ length: 257 }, (_, i) => `t${i}`) }), reason: /attributes\.tags/ },
  { name: 'one byte over 64 KiB', value: withField('context', { pad: 'p'.repeat(64 * 1024 - JSON.stringify({ ...good, context: { pad: '' } }).length + 1) }), reason: /oversized: 65537 bytes > 65536/ },
];
