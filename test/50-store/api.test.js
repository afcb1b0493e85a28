'use strict';
const assert = require('assert');
const { forEachEngine } = require('../helpers/engines');

forEachEngine('Store API', ({ engine, make }) => {
  it('reports its engine and exposes the buffer', () => {
    const s = make();
    assert.strictEqual(s.engine, engine);
    assert.ok(s.buffer instanceof SharedArrayBuffer);
  });

  it('reports ERR_STORE_FULL when entries or space run out, and stays usable', () => {
    const s = make({ maxEntries: 10 });
    for (let i = 0; i < 10; i++) s.set('f', `k${i}`, i);
    assert.throws(() => s.set('f', 'k10', 10), { code: 'ERR_STORE_FULL' });
    s.set('f', 'k0', 'overwrite is fine when full');
    s.delete('f', 'k1');
    s.set('f', 'k10', 10);
    assert.strictEqual(s.count(), 10);
    const small = make({ size: 80 * 1024, buckets: 64 });
    let n = 0;
    assert.throws(() => {
      for (;;) small.set('f', `key${n++}`, 'x'.repeat(1000));
    }, { code: 'ERR_STORE_FULL' });
    assert.strictEqual(small.count(), n - 1);
    assert.strictEqual(small.get('f', 'key0'), 'x'.repeat(1000));
    assert.ok(small.verify().ok);
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
  });
});
