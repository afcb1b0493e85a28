'use strict';
// store.stats() (docs/api.md): entries, namespace counts, bytes live, free, on free lists and in
// the tail, fragmentation, read and write totals.
const assert = require('assert');
const { C } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');

forEachEngine('store.stats()', ({ engine, make }) => {
  it('stats() reports entries, bytes and fragmentation', () => {
    const s = make();
    for (let i = 0; i < 100; i++) s.set('s', `k${i}`, 'x'.repeat(100));
    for (let i = 0; i < 50; i++) s.delete('s', `k${i}`);
    s.get('s', 'k60');
    const st = s.stats();
    assert.strictEqual(st.engine, engine);
    assert.strictEqual(st.entries, 50);
    assert.strictEqual(st.namespaces, 1);
    assert.deepStrictEqual(st.namespaceCounts, { s: 50 });
    // Each entry (header, a 2- or 3-byte key, 100 bytes of value) takes a block of 3 units.
    assert.strictEqual(st.bytesFreeLists, 50 * 3 * C.UNIT);
    assert.strictEqual(st.bytesLive, 50 * 3 * C.UNIT);
    assert.strictEqual(st.bytesFree, st.bytesFreeLists + st.bytesTail);
    assert.ok(st.fragmentation > 0 && st.fragmentation < 1);
    assert.ok(st.writes >= 150 && st.reads >= 1);
  });
});
