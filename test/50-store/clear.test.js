'use strict';
// store.clear(ns) (docs/api.md): a clear() that meets a cycle in its bucket's chain returns (the
// chain is repaired) and removes exactly the namespace's entries. Clearing one namespace leaves
// the others: namespaces.test.js; a count already 0 stays 0: keys-entries-count.test.js.
const assert = require('assert');
const { W } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { inWorkerWithin } = require('../helpers/actors');
const { entryWord, chain } = require('../helpers/store-bytes');

const NEXT = W.ENTRY.NEXT;

forEachEngine('store.clear()', ({ engine, make }) => {
  it('clear() on a namespace whose bucket chain has a cycle returns', async function () {
    this.timeout(30000);
    const s = make({ buckets: 1 });
    s.set('b', 'x', 'bx');
    for (const k of ['k1', 'k2', 'k3']) s.set('a', k, k);
    const u32 = new Uint32Array(s.buffer);
    const units = chain(u32); // k3, k2, k1, bx
    assert.strictEqual(units.length, 4);
    u32[entryWord(units[2], NEXT)] = units[0]; // k1.next = k3: a cycle without namespace b
    const r = await inWorkerWithin(15000, engine, s.buffer, 'clear', ['b']);
    assert.ok(!r.error || r.error.code === 'ERR_CORRUPT', JSON.stringify(r));
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    assert.deepStrictEqual(s.keys('a').sort(), ['k1', 'k2', 'k3']);
    assert.strictEqual(s.count('b'), 0);
  });
});

// An entry marked INDIRECT whose key length (damaged, up to 65535) reaches past its block: its
// bytes are counted without reading a reference from past the block, which near the end of the
// pool lies past the end of the store (format.md §9: damage gives an error or a repair). The JS
// engine reads the store through its SharedArrayBuffer, which ends where the pool does.
describe('store.clear(): a damaged indirect entry at the end of the pool [js engine]', () => {
  const { Store } = require('../../lib/store/store');
  const { C, H, UNIT_HALFS, entriesOffset } = require('../../lib/layout/layout');
  it('is removed with the others, and the removals the hand and the expiry sweep make too', () => {
    for (const removal of ['clear', 'dropNamespace', 'expiry']) {
      const maxNamespaces = 4;
      const size = entriesOffset(1, maxNamespaces) + 2000 * C.BLOCK_UNIT;
      const s = Store.create({ buffer: new SharedArrayBuffer(size), engine: 'js', buckets: 1, maxNamespaces, maxEntries: 100 });
      try {
        s.set('n', 'k', 'v', removal === 'expiry' ? { ttl: 1 } : undefined);
        const u16 = new Uint16Array(s.buffer);
        const u32 = new Uint32Array(s.buffer);
        const [u] = chain(u32);
        u16[u * UNIT_HALFS + H.ENTRY.KEY_LENGTH] = 0xFFFF;
        u32[entryWord(u, W.ENTRY.FLAGS)] |= C.FLAG_INDIRECT;
        if (removal === 'clear') s.clear('n');
        else if (removal === 'dropNamespace') s.dropNamespace('n');
        else {
          const until = Date.now() + 5;
          while (Date.now() < until); // the entry expires
          s.set('n', 'other', 'v'); // an insert sweeps the bucket
        }
        assert.deepStrictEqual(chain(u32).includes(u), false, removal);
        s.repair();
        const v = s.verify();
        assert.ok(v.ok, v.errors.join('\n'));
      } finally {
        s.close();
      }
    }
  });
});
