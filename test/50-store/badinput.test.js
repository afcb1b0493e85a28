'use strict';
// Bad input: wrong types and values for every method, corrupted and truncated stores. Each must
// give a clear error and leave the store exactly as it was.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { exitedPid } = require('../helpers/process');
const { pidWord, tidWord } = require('../helpers/store-bytes');

const NOT_STRINGS = [undefined, null, 1, {}, [], Symbol('s'), () => {}, 1n];

function snapshot(store) {
  return Buffer.from(new Uint8Array(store.buffer)).toString('base64');
}

forEachEngine('bad input', ({ engine, make }) => {
  it('rejects bad namespaces, keys and values without changing the store', () => {
    const s = make();
    s.set('ok', 'k', 'v');
    const before = snapshot(s);
    for (const bad of NOT_STRINGS) {
      assert.throws(() => s.set(bad, 'k', 'v'), TypeError);
      assert.throws(() => s.set('ok', bad, 'v'), TypeError);
      assert.throws(() => s.get(bad, 'k'), TypeError);
      assert.throws(() => s.get('ok', bad), TypeError);
      assert.throws(() => s.has('ok', bad), TypeError);
      assert.throws(() => s.delete('ok', bad), TypeError);
      assert.throws(() => s.clear(bad), TypeError);
      assert.throws(() => s.keys(bad), TypeError);
      assert.throws(() => s.entries(bad), TypeError);
      assert.throws(() => s.namespace(bad), TypeError);
      if (bad !== undefined) assert.throws(() => s.count(bad), TypeError);
    }
    assert.throws(() => s.set('', 'k', 'v'), RangeError);
    assert.throws(() => s.set('n'.repeat(49), 'k', 'v'), RangeError);
    assert.throws(() => s.set('é'.repeat(25), 'k', 'v'), RangeError);
    assert.throws(() => s.set('ok', 'k'.repeat(1025), 'v'), { name: 'RangeError', code: 'ERR_KEY_TOO_LONG' });
    assert.throws(() => s.set('ok', '€'.repeat(342), 'v'), { name: 'RangeError', code: 'ERR_KEY_TOO_LONG' });
    assert.throws(() => s.get('ok', 'k'.repeat(1025)), RangeError);
    assert.throws(() => s.set('ok', 'k', 'v'.repeat(65536)), { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.throws(() => s.set('ok', 'k', '€'.repeat(30000)), { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.throws(() => s.set('ok', 'k', Buffer.alloc(65536)), { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.throws(() => s.set('ok', 'k', { big: 'x'.repeat(70000) }), RangeError);
    for (const v of [undefined, () => {}, Symbol('v'), 1n]) assert.throws(() => s.set('ok', 'k', v), TypeError);
    for (const v of [NaN, Infinity, -Infinity]) assert.throws(() => s.set('ok', 'k', v), RangeError);
    const cyclic = {};
    cyclic.self = cyclic;
    assert.throws(() => s.set('ok', 'k', cyclic), TypeError);
    assert.throws(() => s.getMany('ok', 'k'), TypeError);
    assert.throws(() => s.getMany('ok', ['a', 2]), TypeError);
    assert.throws(() => s.setMany('ok', 5), TypeError);
    assert.throws(() => s.setMany('ok', [['a']]), TypeError);
    assert.throws(() => s.setMany('ok', [['a', 1], ['b', undefined]]), TypeError);
    assert.throws(() => s.setMany('ok', [['a', 1], [2, 1]]), TypeError);
    assert.throws(() => s.namespace('ok').forEach(5), TypeError);
    assert.strictEqual(snapshot(s), before, 'rejected calls changed the store');
    assert.strictEqual(s.get('ok', 'k'), 'v');
    assert.strictEqual(s.get('ok', 'a'), undefined);
  });

  it('owner slots: a full table of live handles refuses, slots of dead processes are reused', () => {
    const s = make();
    s.set('n', 'k', 'v');
    const u32 = new Uint32Array(s.buffer);
    const deadPid = exitedPid();
    const fill = (pid) => {
      for (let o = 1; o < C.OWNER_SLOTS; o++) {
        if (u32[pidWord(o)] === 0) {
          u32[pidWord(o)] = pid;
          u32[tidWord(o)] = 999;
        }
      }
    };
    fill(process.pid);
    assert.throws(() => Store.attach(s.buffer, { engine }), { code: 'ERR_TOO_MANY_HANDLES' });
    // Make the filler slots look like a dead process's: the next attach adopts one.
    for (let o = 1; o < C.OWNER_SLOTS; o++) {
      if (u32[tidWord(o)] === 999) u32[pidWord(o)] = deadPid;
    }
    const t = Store.attach(s.buffer, { engine });
    assert.strictEqual(t.get('n', 'k'), 'v');
    t.set('n', 'k2', 'v2');
    assert.ok(t.stats().repairs >= 1);
    let stillDead = 0;
    for (let o = 1; o < C.OWNER_SLOTS; o++) if (u32[pidWord(o)] === deadPid) stillDead++;
    assert.strictEqual(stillDead, 0, 'the repair pass released the dead slots');
    t.close();
  });

  it('survives close() from user code that runs inside a call (an Array.prototype setter)', () => {
    const s = make();
    for (let i = 0; i < 50; i++) s.set('re', `k${i}`, i);
    Object.defineProperty(Array.prototype, '3', {
      configurable: true,
      set(v) {
        s.close();
        Object.defineProperty(this, '3', { value: v, writable: true, enumerable: true, configurable: true });
      },
    });
    try {
      try {
        s.keys('re');
      } catch (err) {
        assert.strictEqual(err.code, 'ERR_CLOSED');
      }
    } finally {
      delete Array.prototype[3];
    }
    assert.strictEqual(s.closed, true);
    assert.throws(() => s.get('re', 'k1'), { code: 'ERR_CLOSED' });
  });
});
