'use strict';
// store.close(), store[Symbol.dispose](), store.closed, store.buffer, store.engine (docs/api.md):
// close() is idempotent, every later call is ERR_CLOSED, also when user code closes the store in
// the middle of a call.
const assert = require('assert');
const { forEachEngine } = require('../helpers/engines');
const { Store } = require('../../lib/store/store');
const { uniqueName, removeShm } = require('../helpers/process');

forEachEngine('store.close(), store.closed, store.buffer, store.engine', ({ engine, make }) => {
  it('reports its engine and exposes the buffer', () => {
    const s = make();
    assert.strictEqual(s.engine, engine);
    assert.ok(s.buffer instanceof SharedArrayBuffer);
  });

  it('a handle attached to a named store keeps sharing its memory after the creating handle closes', () => {
    const name = uniqueName('close-attach');
    const first = Store.create({ name, size: 1 << 20, engine });
    let second = null;
    try {
      second = Store.attach(first.buffer, { engine });
      first.close();
      second.set('c', 'k', 'after');
      // A handle mapping the segment on its own sees the write: the memory is still the shared one.
      const third = Store.open({ name, engine });
      try {
        assert.strictEqual(third.get('c', 'k'), 'after');
      } finally {
        third.close();
      }
    } finally {
      if (second !== null) second.close();
      first.close();
      removeShm(name);
    }
  });

  it('close() is idempotent and later calls throw ERR_CLOSED', () => {
    const s = make();
    s.set('c', 'k', 1);
    s.close();
    s.close();
    assert.strictEqual(s.closed, true);
    assert.throws(() => s.get('c', 'k'), { code: 'ERR_CLOSED' });
    assert.throws(() => s.set('c', 'k', 1), { code: 'ERR_CLOSED' });
    assert.throws(() => s.buffer, { code: 'ERR_CLOSED' });
    assert.throws(() => s.latency(), { code: 'ERR_CLOSED' });
    assert.throws(() => s.enableLatency(), { code: 'ERR_CLOSED' });
  });

  it('[Symbol.dispose]() is close(), as `using` calls it: idempotent, later calls ERR_CLOSED', () => {
    const s = make();
    s.set('c', 'k', 1);
    assert.strictEqual(typeof s[Symbol.dispose], 'function');
    s[Symbol.dispose]();
    assert.strictEqual(s.closed, true);
    assert.throws(() => s.get('c', 'k'), { code: 'ERR_CLOSED' });
    s[Symbol.dispose]();
    s.close();
    // It calls the handle's own close(), whatever replaced it on the instance or in a subclass.
    const t = make();
    let calls = 0;
    const close = t.close;
    t.close = function () {
      calls++;
      return close.call(this);
    };
    t[Symbol.dispose]();
    assert.strictEqual(calls, 1);
    assert.strictEqual(t.closed, true);
  });

  it('flush() of a closed store rejects with ERR_CLOSED', async () => {
    const s = require('../../index').Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine });
    await s.flush();
    s.close();
    await assert.rejects(s.flush(), { code: 'ERR_CLOSED' });
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
