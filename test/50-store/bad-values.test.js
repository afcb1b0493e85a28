'use strict';
// Values and views that hold no bytes or name nothing (docs/api.md: every function validates its
// arguments): a detached ArrayBuffer, or a view of any kind over one, is a TypeError with ERR_INVALID_ARG and
// changes nothing, a value nested deeper than JSON.stringify can go a RangeError; a NamespaceView is made only over a Store and a valid namespace name.
const assert = require('assert');
const { NamespaceView } = require('../../index');
const { forEachEngine } = require('../helpers/engines');

function detached(bytes = 8) {
  const ab = new ArrayBuffer(bytes);
  structuredClone(ab, { transfer: [ab] });
  return ab;
}

forEachEngine('Store: detached buffers and namespace views', ({ make }) => {
  it('a detached ArrayBuffer, or a view of any kind over one, as a value: TypeError ERR_INVALID_ARG, nothing stored', () => {
    const s = make();
    s.set('n', 'k', 'before');
    const ab = new ArrayBuffer(8);
    // A Uint8Array (a Buffer too) over a transferred buffer reads as empty: it is refused like
    // the others, not stored as an empty value in place of the old one.
    const views = [new DataView(ab), new Uint8Array(ab), Buffer.from(ab), new Float32Array(ab), new Uint8Array(ab, 8)];
    structuredClone(ab, { transfer: [ab] });
    for (const value of [detached(), ...views]) {
      assert.throws(() => s.set('n', 'k', value), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG' && /detached/.test(e.message));
    }
    assert.throws(() => s.setMany('n', [['a', 1], ['b', detached()]]), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    assert.throws(() => s.setMany('n', [['a', 1], ['b', views[1]]]), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    assert.strictEqual(s.get('n', 'k'), 'before');
    // An empty view of a live buffer is an empty value.
    for (const empty of [new Uint8Array(0), Buffer.alloc(0), new Uint8Array(new ArrayBuffer(4), 4), new Uint8Array(new SharedArrayBuffer(4), 4)]) {
      s.set('n', 'e', empty);
      assert.deepStrictEqual(s.get('n', 'e'), Buffer.alloc(0));
    }
    s.delete('n', 'e');
    assert.strictEqual(s.has('n', 'a'), false);
    assert.ok(s.verify().ok);
  });

  it('what an object or array holds is converted as JSON.stringify converts it (docs/api.md, Values); only the top level is refused', () => {
    const s = make();
    const value = { d: new Date(0), nan: NaN, inf: [-Infinity], m: new Map([[1, 2]]), u: undefined, f() {}, t: { toJSON: () => 7 }, ok: [1, 'two', null] };
    s.set('n', 'k', value);
    assert.deepStrictEqual(s.get('n', 'k'), { d: '1970-01-01T00:00:00.000Z', nan: null, inf: [null], m: {}, t: 7, ok: [1, 'two', null] });
    for (const top of [NaN, Infinity, undefined, () => 1]) assert.throws(() => s.set('n', 'k', top), (e) => e instanceof RangeError || e instanceof TypeError);
    assert.deepStrictEqual(s.get('n', 'k').ok, [1, 'two', null]);
  });

  it('a value nested too deeply for JSON.stringify: RangeError ERR_INVALID_ARG, nothing stored', () => {
    const s = make();
    s.set('n', 'k', 'before');
    let deep = 1;
    for (let i = 0; i < 100000; i++) deep = [deep];
    const refused = (e) => e instanceof RangeError && e.code === 'ERR_INVALID_ARG' && /"value".*JSON/.test(e.message);
    assert.throws(() => s.set('n', 'k', deep), refused);
    assert.throws(() => s.setMany('n', [['a', 1], ['b', deep]]), refused);
    assert.strictEqual(s.get('n', 'k'), 'before');
    assert.strictEqual(s.has('n', 'a'), false);
    assert.ok(s.verify().ok);
  });

  it('new NamespaceView(store, name) checks both; a valid one is a namespace of the store', () => {
    const s = make();
    for (const bad of [null, {}, { get() {} }, 'store']) {
      assert.throws(() => new NamespaceView(bad, 'x'), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    }
    assert.throws(() => new NamespaceView(s, 1), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    assert.throws(() => new NamespaceView(s, ''), { name: 'RangeError', code: 'ERR_INVALID_ARG' });
    assert.throws(() => new NamespaceView(s, 'x'.repeat(256)), { name: 'RangeError', code: 'ERR_INVALID_ARG' });
    const v = new NamespaceView(s, 'views');
    v.set('k', 1);
    assert.strictEqual(s.get('views', 'k'), 1);
    assert.strictEqual(v.store, s);
    assert.strictEqual(v.name, 'views');
  });
});
