'use strict';
// store[Symbol.dispose]() of a persisted store is the persisted store's close() (docs/api.md):
// the log is closed as close() closes it, so an interval-mode handle's writes are durable after
// it, as after close().
const assert = require('assert');
const { Store } = require('../../index');
const { persistTarget } = require('../helpers/persist');

describe('Persistence: store[Symbol.dispose]()', () => {
  let t;
  beforeEach(() => {
    t = persistTarget('dispose');
  });
  afterEach(() => t.cleanup());

  it('closes the log as close() does: an interval-mode handle leaves its writes durable', () => {
    // An interval no test waits for: only a close syncs the writes.
    const a = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'interval', intervalMs: 600000 } });
    const b = Store.open({ name: t.name, persist: { dir: t.dir } });
    try {
      for (let i = 0; i < 10; i++) a.set('n', `k${i}`, i);
      const before = b.persistence;
      assert.ok(before.durable < before.tail, 'the writes are not durable yet');
      a[Symbol.dispose]();
      assert.strictEqual(a.closed, true);
      assert.throws(() => a.persistence, { code: 'ERR_CLOSED' });
      const after = b.persistence;
      assert.strictEqual(after.durable, after.tail);
      assert.strictEqual(b.get('n', 'k9'), 9);
      a[Symbol.dispose](); // idempotent, as close()
    } finally {
      if (!a.closed) a.close();
      b.close();
    }
  });
});
