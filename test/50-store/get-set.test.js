'use strict';
// store.set(ns, key, value) and store.get(ns, key) (docs/api.md): every value kind round-trips,
// overwrites (across size classes), key and value limits, values from other realms or that JSON
// cannot represent, namespace validation, and a set() that meets a damaged chain.
const assert = require('assert');
const { C, W } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { entryWord, chain } = require('../helpers/store-bytes');

const NEXT = W.ENTRY.NEXT;

forEachEngine('store.set() / store.get()', ({ make }) => {
  it('round-trips every value kind with its type', () => {
    const s = make();
    const values = {
      str: 'hello wörld ✓',
      empty: '',
      bin: Buffer.from([0, 1, 2, 255]),
      u8: new Uint8Array([9, 8, 7]),
      obj: { a: 1, b: [true, null, 'x'], c: { d: 2.5 } },
      arr: [1, 'two', { three: 3 }],
      num: 42.125,
      neg: -7,
      t: true,
      f: false,
      nil: null,
    };
    for (const [k, v] of Object.entries(values)) s.set('ns', k, v);
    for (const [k, v] of Object.entries(values)) {
      const got = s.get('ns', k);
      if (v instanceof Uint8Array) {
        assert.ok(Buffer.isBuffer(got), `${k} comes back as a Buffer`);
        assert.deepStrictEqual([...got], [...v]);
      } else {
        assert.deepStrictEqual(got, v, k);
      }
    }
    const f64 = new Float64Array([1.5, -2]);
    s.set('ns', 'f64', f64);
    assert.deepStrictEqual(new Float64Array(new Uint8Array(s.get('ns', 'f64')).buffer), f64);
  });

  it('overwrites in place of the old value, including a size-class change', () => {
    const s = make();
    s.set('n', 'k', 'short');
    s.set('n', 'k', 'x'.repeat(5000));
    assert.strictEqual(s.get('n', 'k'), 'x'.repeat(5000));
    s.set('n', 'k', { now: 'json' });
    assert.deepStrictEqual(s.get('n', 'k'), { now: 'json' });
    assert.strictEqual(s.count('n'), 1);
    assert.ok(s.verify().ok);
  });

  it('handles keys at the length limits and non-ASCII keys', () => {
    const s = make();
    s.set('k', '', 'empty key');
    s.set('k', 'é'.repeat(512), 'two-byte chars at the limit');
    s.set('k', '𝄞 clef', 'astral');
    assert.strictEqual(s.get('k', ''), 'empty key');
    assert.strictEqual(s.get('k', 'é'.repeat(512)), 'two-byte chars at the limit');
    assert.strictEqual(s.get('k', '𝄞 clef'), 'astral');
    s.set('k', 'v', 'x'.repeat(65535));
    assert.strictEqual(s.get('k', 'v').length, 65535);
  });

  it('an ArrayBuffer from another realm is stored as bytes, not as JSON', () => {
    const s = make();
    const ab = require('vm').runInNewContext('new Uint8Array([1, 2, 3]).buffer');
    s.set('a', 'k', ab);
    assert.deepStrictEqual(s.get('a', 'k'), Buffer.from([1, 2, 3]));
  });

  it('values JSON cannot represent fail with code ERR_INVALID_ARG', () => {
    const s = make();
    const cyclic = {};
    cyclic.self = cyclic;
    assert.throws(() => s.set('a', 'k', cyclic), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    assert.throws(() => s.set('a', 'k', { n: 1n }), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    assert.deepStrictEqual(s.namespaces(), []);
  });

  it('set() on a chain with a cycle repairs it instead of inserting into it', () => {
    const s = make({ buckets: 1 });
    for (const k of ['k1', 'k2', 'k3']) s.set('a', k, k);
    const u32 = new Uint32Array(s.buffer);
    const units = chain(u32);
    u32[entryWord(units[2], NEXT)] = units[0];
    s.set('a', 'k4', 'k4');
    assert.strictEqual(s.get('a', 'k4'), 'k4');
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    assert.strictEqual(s.count('a'), v.entries);
  });
});

forEachEngine('store.set() / store.get(): namespace validation', ({ make }) => {
  it('refuses an undefined or null namespace on a fresh handle, and writes nothing', () => {
    const s = make();
    for (const bad of [undefined, null]) {
      assert.throws(() => s.set(bad, 'k', 'v'), TypeError);
      assert.throws(() => s.get(bad, 'k'), TypeError);
      assert.throws(() => s.has(bad, 'k'), TypeError);
      assert.throws(() => s.delete(bad, 'k'), TypeError);
      assert.throws(() => s.clear(bad), TypeError);
      assert.throws(() => s.keys(bad), TypeError);
      assert.throws(() => s.entries(bad), TypeError);
      assert.throws(() => s.getMany(bad, ['k']), TypeError);
    }
    assert.strictEqual(s.count(), 0);
    assert.ok(s.verify().ok);
  });

  it('a value that is too long does not create the namespace', () => {
    const s = make();
    const over = C.MAX_VALUE_BYTES + 1;
    assert.throws(() => s.set('fresh', 'k', 'v'.repeat(over)), { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.throws(() => s.set('fresh', 'k', Buffer.alloc(over)), { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.throws(() => s.set('fresh', 'k', { t: '€'.repeat(Math.ceil(over / 3)) }), { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.throws(() => s.setMany('fresh2', [['a', 1], ['b', 'x'.repeat(over)]]),
      { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.deepStrictEqual(s.namespaces(), []);
    s.set('fresh', 'k', 'v'.repeat(65535));
    assert.strictEqual(s.get('fresh', 'k').length, 65535);
  });
});
