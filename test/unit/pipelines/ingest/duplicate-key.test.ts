import assert from 'node:assert/strict';
import fc from 'fast-check';
import { duplicateKey } from '../../../../features/events/json-message.js';

describe('duplicateKey (the scan that refuses a JSON key given twice)', () => {
  const json = fc.jsonValue({ maxDepth: 4 });

  it('finds none in any JSON.stringify output (keys with quotes, backslashes, unicode)', () => {
    fc.assert(fc.property(fc.dictionary(fc.string({ unit: 'binary' }), json), (o) => duplicateKey(JSON.stringify(o)) === undefined), { numRuns: 500 });
  });

  it('finds a key repeated in an object, however the repeat is spelled, and not across objects or arrays', () => {
    fc.assert(fc.property(fc.dictionary(fc.string({ unit: 'binary' }), json, { minKeys: 1 }), json, (o, value) => {
      const text = JSON.stringify(o);
      const key = Object.keys(o)[0]!;
      // The same key with its first ASCII letter written as a \\u escape (when it has one).
      let done = false;
      const escaped = `"${[...key].map((ch) => {
        if (!done && /[a-z]/i.test(ch)) { done = true; return `\\u00${ch.charCodeAt(0).toString(16)}`; }
        return JSON.stringify(ch).slice(1, -1);
      }).join('')}"`;
      assert.equal(duplicateKey(`${text.slice(0, -1)},${escaped}:${JSON.stringify(value)}}`), key);
      assert.equal(duplicateKey(`[${text},${text}]`), undefined);
      assert.equal(duplicateKey(`{"a":${text},"b":${text}}`), undefined);
    }), { numRuns: 500 });
  });
});
