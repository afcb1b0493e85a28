'use strict';
// store.has(ns, key) and store.delete(ns, key) (docs/api.md): presence and misses, space freed by
// delete (and overwrite) is reused, and a delete that meets a block both live and free.
const assert = require('assert');
const { C, W, AT } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { entryWord, chain } = require('../helpers/store-bytes');

const HEADS = AT.ALLOC_STATE.FREE_HEADS;
const FLAGS = W.ENTRY.FLAGS;

forEachEngine('store.has() / store.delete()', ({ make }) => {
  it('misses return undefined; has/delete report presence', () => {
    const s = make();
    assert.strictEqual(s.get('none', 'k'), undefined);
    assert.strictEqual(s.has('none', 'k'), false);
    assert.strictEqual(s.delete('none', 'k'), false);
    s.set('a', 'k', 'v');
    assert.strictEqual(s.get('a', 'missing'), undefined);
    assert.strictEqual(s.has('a', 'k'), true);
    assert.strictEqual(s.delete('a', 'k'), true);
    assert.strictEqual(s.delete('a', 'k'), false);
    assert.strictEqual(s.has('a', 'k'), false);
    assert.strictEqual(s.get('a', 'k'), undefined);
  });

  it('reuses freed space: delete and overwrite do not grow the store', () => {
    const s = make({ size: 1 << 20 });
    const value = 'v'.repeat(200);
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) s.set('r', `k${i}`, value + round);
      for (let i = 0; i < 100; i += 2) s.delete('r', `k${i}`);
    }
    const st = s.stats();
    assert.strictEqual(st.entries, 50);
    assert.ok(st.bytesLive < 100 * 320 * 2, `live bytes ${st.bytesLive}`);
    assert.ok(st.bytesTail > (1 << 20) / 2, 'most of the pool was never needed');
    assert.ok(s.verify().ok);
  });

  it('delete() of an entry that is also marked free does not free it twice', () => {
    const s = make({ buckets: 1 });
    s.set('a', 'k1', 'v1');
    const u32 = new Uint32Array(s.buffer);
    const [u] = chain(u32);
    const flags = u32[entryWord(u, FLAGS)];
    const cls = (flags >>> C.FLAG_CLASS_SHIFT) & C.FLAG_CLASS_MASK;
    // The block is live and also the head of its (otherwise empty) free list.
    assert.strictEqual(u32[HEADS + cls], 0);
    u32[entryWord(u, FLAGS)] = (flags | C.FLAG_FREE) >>> 0;
    u32[HEADS + cls] = u;
    assert.strictEqual(s.delete('a', 'k1'), false);
    s.set('a', 'k2', 'v2');
    s.set('a', 'k3', 'v3');
    assert.strictEqual(s.get('a', 'k2'), 'v2');
    assert.strictEqual(s.get('a', 'k3'), 'v3');
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
  });
});
