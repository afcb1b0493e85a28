'use strict';
// Bad arguments get one voice across the Store API (lib/base/validate.js): a TypeError or a
// RangeError with code ERR_INVALID_ARG whose message names the argument, and no change.
const assert = require('assert');
const { forEachEngine } = require('../helpers/engines');
const { Store } = require('../../lib/store/store');

forEachEngine('Store arguments', ({ engine, make }) => {
  const cases = [
    ['Store.create without options', () => Store.create(), TypeError, 'options'],
    ['Store.create with a misspelt option', () => Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine, bukets: 4 }), TypeError, 'options.bukets'],
    ['Store.create with a buffer that is not shared', () => Store.create({ buffer: new ArrayBuffer(1 << 20), engine }), TypeError, 'options.buffer'],
    ['Store.create with buckets that are not a power of two', () => Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine, buckets: 3 }), RangeError, 'options.buckets'],
    ['Store.create with a fractional maxEntries', () => Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine, maxEntries: 1.5 }), RangeError, 'options.maxEntries'],
    ['Store.create with an unknown engine', () => Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine: 'rust' }), RangeError, 'options.engine'],
    ['Store.attach with options that are not an object', () => Store.attach(new SharedArrayBuffer(1 << 20), 'js'), TypeError, 'options'],
    ['a namespace that is not a string', (s) => s.set(7, 'k', 'v'), TypeError, 'namespace'],
    ['an empty namespace', (s) => s.get('', 'k'), RangeError, 'namespace'],
    ['a key that is not a string', (s) => s.set('ns', 42, 'v'), TypeError, 'key'],
    ['a value that cannot be stored', (s) => s.set('ns', 'k', () => 1), TypeError, 'value'],
    ['a value that is not a finite number', (s) => s.set('ns', 'k', NaN), RangeError, 'value'],
    ['getMany keys that are not an array', (s) => s.getMany('ns', 'k'), TypeError, 'keys'],
    ['setMany entries that are not pairs', (s) => s.setMany('ns', [['k']]), TypeError, 'entries'],
    ['a forEach callback that is not a function', (s) => s.namespace('ns').forEach(3), TypeError, 'callback'],
  ];
  for (const [what, call, Class, name] of cases) {
    it(`${what}: ${Class.name} naming "${name}", code ERR_INVALID_ARG, nothing written`, () => {
      const s = make();
      s.set('other', 'k', 'v');
      assert.throws(() => call(s), (err) => err instanceof Class && err.code === 'ERR_INVALID_ARG' &&
        err.message.includes(`"${name}"`), what);
      // Nothing written: no namespace created, no entry added.
      assert.deepStrictEqual(s.namespaces(), ['other']);
      assert.strictEqual(s.count(), 1);
      assert.strictEqual(s.get('other', 'k'), 'v');
    });
  }
});
