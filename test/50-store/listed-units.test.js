'use strict';
// AllocState.listedUnits (format.md §8, "Listed units"): the units on the free lists, kept by
// every push and pop of both engines, so that stats() and compact() read the free space from one
// word instead of walking the class lists under the allocator lock.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { forEachEngine } = require('../helpers/engines');
const { readStore } = require('../helpers/independent-reader');
const { prng } = require('../helpers/prng');
const { C, AT, SIZE_CLASSES } = require('../../lib/layout/layout');

// The free lists as the independent reader (written from format.md alone) walks them, at rest:
// their units, and the problems it finds (among them a listedUnits that is not their units).
function walked(store) {
  const r = readStore(new Uint8Array(store.buffer));
  const size = new Map(r.blocks.map((b) => [b.unit, b.units]));
  let units = 0;
  for (const u of Object.values(r.freeLists).flat()) units += size.get(u);
  const totalUnits = r.header.totalSize / C.BLOCK_UNIT;
  return { r, units, tailUnits: totalUnits - r.header.freeHead };
}

// listedUnits is the walked lists' units, and stats() of both handles reports them.
function assertCounted(handles, what) {
  const { r, units, tailUnits } = walked(handles[0]);
  assert.deepStrictEqual(r.problems, [], `${what}: ${r.problems.slice(0, 5).join('; ')}`);
  assert.strictEqual(r.metadata.alloc.listedUnits, units, what);
  for (const h of handles) {
    const st = h.stats();
    assert.strictEqual(st.bytesFreeLists, units * C.BLOCK_UNIT, `${what}: ${st.engine} bytesFreeLists`);
    assert.strictEqual(st.bytesFree, (units + tailUnits) * C.BLOCK_UNIT, `${what}: ${st.engine} bytesFree`);
    const v = h.verify();
    assert.ok(v.ok, `${what}: ${v.errors.join('\n')}`);
  }
}

const value = (rnd, n) => Buffer.alloc(n, Math.floor(rnd() * 256));
// A set that may find no room even after eviction (every block left in use by the other handle's
// parked blocks or the entry being replaced): refused as a whole, the store unchanged.
function set(h, ns, key, v) {
  try {
    h.set(ns, key, v);
  } catch (err) {
    if (err.code !== 'ERR_STORE_FULL') throw err;
  }
}

forEachEngine('AllocState.listedUnits', ({ engine, other, make }) => {
  it(`stays the units on the free lists under churn by ${engine} and ${other} handles on the same bytes`, function () {
    this.timeout(30000);
    const a = make({ size: 1 << 23, eviction: 'auto' });
    const b = Store.attach(a.buffer, { engine: other });
    try {
      const rnd = prng(engine === 'js' ? 9 : 10);
      const hs = [a, b];
      const sizes = [8, 40, 100, 300, 1200, 5000, 40000, 70000, 200000];
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 1200; i++) {
          const h = hs[i & 1];
          const ns = `n${i % 3}`;
          const key = `k${Math.floor(rnd() * 600)}`;
          const x = rnd();
          // Sets of mixed sizes (large values among them: past 65535 bytes), overwrites of the
          // same keys, deletes.
          if (x < 0.7) set(h, ns, key, value(rnd, sizes[Math.floor(rnd() * (round === 3 ? sizes.length : 7))]));
          else h.delete(ns, key);
        }
        assertCounted(hs, `round ${round}, after sets and deletes`);
        if (round % 2 === 1) {
          hs[round & 2 ? 1 : 0].compact({ maxBytes: 1 << 20 });
          assertCounted(hs, `round ${round}, after a bounded compaction`);
        }
      }
      // A full store: sets evict (large values too).
      for (let i = 0; i < 200; i++) set(hs[i & 1], 'big', `b${i}`, value(rnd, 100000));
      assert.ok(a.stats().namespaceStats.big.count < 200 || a.stats().namespaceStats.n0.evictions > 0);
      assertCounted(hs, 'after eviction');
      b.compact();
      assertCounted(hs, 'after a whole sweep');
      a.namespace('n1').clear();
      b.clear('n2');
      b.clear('big');
      assertCounted(hs, 'after clear');
      a.repair();
      assertCounted(hs, 'after a repair pass');
    } finally {
      b.close();
    }
    // The other handle's parked blocks went back on the lists when it closed.
    assertCounted([a], 'after a handle closed');
  });

  it('verify() reports a damaged listedUnits, and a repair pass stores the exact count', () => {
    const s = make();
    for (let i = 0; i < 300; i++) s.set('d', `k${i}`, 'v'.repeat(i % 150));
    for (let i = 0; i < 300; i += 3) s.delete('d', `k${i}`);
    const u32 = new Uint32Array(s.buffer);
    const exact = u32[AT.ALLOC_STATE.LISTED_UNITS];
    assert.ok(exact > 0);
    assert.strictEqual(walked(s).units, exact);
    u32[AT.ALLOC_STATE.LISTED_UNITS] = exact + 7;
    const v = s.verify();
    assert.strictEqual(v.ok, false);
    assert.deepStrictEqual(v.errors, [`allocator: listedUnits ${exact + 7}, the free lists hold ${exact}`]);
    s.repair();
    // The pass relists every free run (coalesced): the count is what its lists hold.
    const after = walked(s);
    assert.deepStrictEqual(after.r.problems, []);
    assert.strictEqual(u32[AT.ALLOC_STATE.LISTED_UNITS], after.units);
    assert.ok(s.verify().ok);
    assert.strictEqual(s.stats().bytesFreeLists, after.units * C.BLOCK_UNIT);
  });

  it('stats() and compact() take the free space from the count, not from a walk of the class lists', () => {
    const s = make();
    // The pool's first window holds only live entries that have no hole of their class to move
    // to: a step there moves and merges nothing, and touches no free list.
    for (let i = 0; i < 1000; i++) s.set('w', `w${i}`, 'y'.repeat(300));
    // A long list of one class after them: 2000 blocks of 9 units.
    for (let i = 0; i < 4000; i++) s.set('c', `k${i}`, 'x'.repeat(100));
    for (let i = 0; i < 4000; i += 2) s.delete('c', `k${i}`);
    const cls = SIZE_CLASSES.indexOf(9);
    const u32 = new Uint32Array(s.buffer);
    assert.notStrictEqual(u32[AT.ALLOC_STATE.FREE_HEADS + cls], 0);
    const before = s.stats();
    assert.ok(before.bytesFreeLists >= 2000 * 9 * C.BLOCK_UNIT);
    // The list cut off at its head in the bytes: a walk of it would find no block, the count
    // still holds them all.
    const head = u32[AT.ALLOC_STATE.FREE_HEADS + cls];
    u32[AT.ALLOC_STATE.FREE_HEADS + cls] = 0;
    const st = s.stats();
    assert.strictEqual(st.bytesFreeLists, before.bytesFreeLists);
    assert.strictEqual(st.bytesFree, before.bytesFree);
    assert.strictEqual(st.bytesLive, before.bytesLive);
    const r = s.compact({ maxBytes: 1 });
    assert.deepStrictEqual([r.steps, r.movedEntries, r.mergedRuns], [1, 0, 0]);
    assert.strictEqual(r.bytesFree, before.bytesFree);
    u32[AT.ALLOC_STATE.FREE_HEADS + cls] = head;
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
  });
});
