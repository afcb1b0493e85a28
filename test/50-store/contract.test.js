'use strict';
// The store engine contract (lib/store/contract.js): both engines expose exactly the declared
// interface, return the same results for the same calls on the same bytes, and fail the same way
// (an Error with a numeric `status`, never a return value).
const assert = require('assert');
const { STATICS, METHODS, surfaceOf } = require('../../lib/store/contract');
const { JsEngine } = require('../../lib/store/js/store');
const { STATUS } = require('../../lib/base/status');
const { C, S } = require('../../lib/layout/layout');
const { addon } = require('../../lib/base/native');

const ENGINES = { js: () => JsEngine, native: () => addon.NativeStore };

// The engine's failure for `fn`, as { status } (or the non-status error itself).
function failureOf(fn) {
  try {
    fn();
  } catch (err) {
    return typeof err.status === 'number' ? { status: err.status } : err;
  }
  return undefined;
}

function fresh(Engine, size = 1 << 20, buckets = 64, maxEntries = 1000) {
  const buf = new SharedArrayBuffer(size);
  Engine.create(buf, buckets, maxEntries);
  const out = new Int32Array(new SharedArrayBuffer(S.GET_OUT.SIZE));
  return { buf, out, e: new Engine(buf, process.pid, 0, 1000, out) };
}

describe('store engine contract (lib/store/contract.js)', function () {
  before(function () {
    if (!addon) throw new Error('the native addon is part of what npm test checks');
  });

  for (const [name, get] of Object.entries(ENGINES)) {
    it(`the ${name} engine exposes exactly the declared statics and methods`, function () {
      const { e } = fresh(get());
      const { statics, methods } = surfaceOf(get(), e);
      e.close();
      assert.deepStrictEqual(statics, Object.keys(STATICS).sort());
      assert.deepStrictEqual(methods, Object.keys(METHODS).sort());
    });
  }

  it('both engines return the same results for the same calls', function () {
    const results = {};
    for (const [name, get] of Object.entries(ENGINES)) {
      const { e, out } = fresh(get());
      const r = [];
      const a = e.resolveNamespace('alpha', true);
      const b = e.resolveNamespace('beta', true);
      r.push(a, b, e.resolveNamespace('alpha', false), e.resolveNamespace('gamma', false));
      r.push(e.set(a, 'k1', 'v1', C.ENC_UTF8), e.set(a, 'k2', new Uint8Array([1, 2, 3]), C.ENC_BINARY));
      r.push(e.set(b, 'k1', '{"x":1}', C.ENC_JSON));
      r.push(e.get(a, 'k1'), out[0], Buffer.from(e.get(a, 'k2')).toString('hex'), out[0], e.get(b, 'k1'), out[0]);
      // The GetOut words of a hit: where the entry is and its header words (the same bytes in both).
      r.push(e.set(a, 'ttl', 'x', C.ENC_UTF8, 4102444800000), e.get(a, 'ttl'), [...new Uint32Array(out.buffer)]);
      r.push(e.addHits(a, 3));
      r.push(e.get(a, 'missing'), e.has(a, 'k1'), e.has(b, 'k2'));
      r.push(e.count(a), e.count(b), e.count(0));
      r.push(e.keys(a).sort(), e.entries(b).map(([k, v, enc]) => [k, String(v), enc]));
      r.push(e.delete(a, 'k1'), e.delete(a, 'k1'), e.clear(b), e.count(0));
      r.push(e.namespaces());
      const st = e.stats();
      r.push(st.entries, st.maxEntries, st.buckets, st.namespaces, st.bytesTotal);
      r.push(e.verify());
      r.push(e.repair(), e.close());
      results[name] = r;
    }
    assert.deepStrictEqual(results.js, results.native);
  });

  it('setEncoded writes the entry set() writes for the same key and value bytes, in both engines', function () {
    const results = {};
    const rec = Buffer.alloc(16000, 0xee);
    // At an odd offset, as a logged set's record has them: the key, then the value.
    const put = (at, key, value) => {
      const kl = rec.write(key, at);
      const vl = typeof value === 'string' ? rec.write(value, at + kl) : (rec.set(value, at + kl), value.length);
      return [at, kl, vl];
    };
    const cases = [
      ['k1', 'v'.repeat(100), C.ENC_UTF8],
      ['ключ', 'значение ✓ \u{1f600}', C.ENC_UTF8],
      ['bin', new Uint8Array([0, 1, 2, 255]), C.ENC_BINARY],
      ['json', '{"a":[1,2]}', C.ENC_JSON],
      ['empty', '', C.ENC_UTF8],
      ['k'.repeat(C.MAX_KEY_BYTES), 'x', C.ENC_UTF8],
      // Longer than a handle's staging scratch: written from a view of the bytes.
      ['long', 'y'.repeat(9000), C.ENC_UTF8],
      ['k1', 'updated', C.ENC_UTF8],
    ];
    const W = S.GET_OUT.SIZE / 4;
    for (const [name, get] of Object.entries(ENGINES)) {
      // Two stores given the same writes, one through set(), one through setEncoded().
      const viaSet = fresh(get());
      const viaBytes = fresh(get());
      const a = viaSet.e.resolveNamespace('a', true);
      assert.strictEqual(viaBytes.e.resolveNamespace('a', true), a);
      const r = [];
      for (const [i, [key, value, enc]] of cases.entries()) {
        const expiry = i % 2 === 0 ? 4102444800000 + i : -1;
        viaSet.e.set(a, key, value, enc, expiry);
        const [at, kl, vl] = put(37 + i, key, value);
        r.push(viaBytes.e.setEncoded(a, rec, at, kl, vl, enc, expiry));
        // The GetOut words of each: unit, key hash, flags, checksum, lengths and expiry alike.
        const want = viaSet.e.get(a, key);
        const words = [...viaSet.out.slice(0, W)];
        const got = viaBytes.e.get(a, key);
        assert.deepStrictEqual([...viaBytes.out.slice(0, W)], words, `${name}: ${key.slice(0, 8)}`);
        assert.deepStrictEqual(got, want);
        r.push(words, typeof got === 'string' ? got.slice(0, 32) : Buffer.from(got).toString('hex'));
      }
      r.push(viaBytes.e.count(a), viaBytes.e.verify().ok);
      viaSet.e.close();
      viaBytes.e.close();
      results[name] = r;
    }
    assert.deepStrictEqual(results.js, results.native);
    assert.deepStrictEqual(results.js.slice(-2), [cases.length - 1, true]);
  });

  it('setEncoded (and set with a key that is not a string) refuses bad arguments the same way in both engines, the store unchanged', function () {
    const results = {};
    for (const [name, get] of Object.entries(ENGINES)) {
      const { e } = fresh(get());
      const a = e.resolveNamespace('a', true);
      const rec = new Uint8Array(64).fill(0x61);
      const r = [];
      const attempt = (...args) => r.push(failureOf(() => e.setEncoded(a, ...args)));
      attempt('not bytes', 0, 1, 1, C.ENC_UTF8, 0);
      attempt(new Uint16Array(8), 0, 1, 1, C.ENC_UTF8, 0);
      attempt(rec, -1, 1, 1, C.ENC_UTF8, 0);
      attempt(rec, 0.5, 1, 1, C.ENC_UTF8, 0);
      attempt(rec, '0', 1, 1, C.ENC_UTF8, 0);
      attempt(rec, 60, 4, 1, C.ENC_UTF8, 0);
      attempt(rec, 0, 1, 64, C.ENC_UTF8, 0);
      attempt(rec, 0, 1, 1, 3, 0);
      attempt(rec, 0, 1, 1, C.ENC_UTF8, -2);
      attempt(rec, 0, 1, 1, C.ENC_UTF8, '1');
      attempt(new Uint8Array(C.MAX_KEY_BYTES + 2), 0, C.MAX_KEY_BYTES + 1, 1, C.ENC_UTF8, 0);
      // set() itself: a key that is not a string (setEncoded's staged key length is not one).
      r.push(failureOf(() => e.set(a, 5, 'v', C.ENC_UTF8)));
      r.push(e.count(0), e.verify().ok);
      e.close();
      results[name] = r.map((x) => (x instanceof Error ? `${x.name}: ${x.message}` : x));
    }
    assert.deepStrictEqual(results.js, results.native);
    const r = results.js;
    assert.match(r[0], /^TypeError: The "bytes" argument must be a Uint8Array/);
    assert.match(r[1], /^TypeError/);
    for (const i of [2, 3, 5, 6, 7, 8]) assert.match(r[i], /^RangeError/, `case ${i}`);
    assert.match(r[4], /^TypeError/);
    assert.match(r[9], /^TypeError/);
    assert.deepStrictEqual(r[10], { status: STATUS.ERR_KEY_TOO_LONG });
    assert.match(r[11], /^TypeError: The "key" argument must be of type string/);
    assert.deepStrictEqual(r.slice(12), [0, true]);
  });

  it('both engines fail the same way: a thrown status, the store unchanged', function () {
    const results = {};
    for (const [name, get] of Object.entries(ENGINES)) {
      const Engine = get();
      const r = [];
      // A store with room for two entries.
      const { e } = fresh(Engine, 1 << 20, 64, 2);
      const a = e.resolveNamespace('a', true);
      e.set(a, 'k1', 'v', C.ENC_UTF8);
      e.set(a, 'k2', 'v', C.ENC_UTF8);
      r.push(failureOf(() => e.set(a, 'k3', 'v', C.ENC_UTF8)), e.count(0), e.has(a, 'k3'));
      r.push(failureOf(() => e.set(a, 'x'.repeat(C.MAX_KEY_BYTES + 1), 'v', C.ENC_UTF8)));
      r.push(failureOf(() => e.set(a, 'k1', 'x'.repeat(C.MAX_VALUE_BYTES + 1), C.ENC_UTF8)), e.get(a, 'k1'));
      for (let i = 2; i <= C.DEFAULT_MAX_NAMESPACES; i++) e.resolveNamespace(`ns${i}`, true);
      r.push(failureOf(() => e.resolveNamespace('one-too-many', true)), e.namespaces().length);
      e.close();
      // Geometry that does not fit, and bytes that are not a store.
      r.push(failureOf(() => Engine.create(new SharedArrayBuffer(C.BUCKETS_OFFSET), 64, 10)));
      const junk = new SharedArrayBuffer(1 << 16);
      new Uint8Array(junk).fill(7);
      r.push(failureOf(() => new Engine(junk, process.pid, 0, 1000, new Int32Array(new SharedArrayBuffer(S.GET_OUT.SIZE)))));
      results[name] = r;
    }
    assert.deepStrictEqual(results.js, results.native);
    const [full, , , keyLong, valueLong, , tooMany, , badCreate, badOpen] = results.js;
    assert.deepStrictEqual(full, { status: STATUS.ERR_STORE_FULL });
    assert.deepStrictEqual(keyLong, { status: STATUS.ERR_KEY_TOO_LONG });
    assert.deepStrictEqual(valueLong, { status: STATUS.ERR_VALUE_TOO_LONG });
    assert.deepStrictEqual(tooMany, { status: STATUS.ERR_TOO_MANY_NAMESPACES });
    assert.deepStrictEqual(badCreate, { status: STATUS.ERR_BAD_SIZE });
    assert.deepStrictEqual(badOpen, { status: STATUS.ERR_BAD_MAGIC });
  });
});
