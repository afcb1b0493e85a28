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
