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
