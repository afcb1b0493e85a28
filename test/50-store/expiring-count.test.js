'use strict';
// The count of live entries that carry an expiry (format.md §5, "Count cells": CountCell.expiring):
// kept exact by both engines on one store through every way an entry with an expiry is linked or
// unlinked, checked by verify() and by the independent reader, and recounted by a repair pass.
const assert = require('assert');
const { C, W } = require('../../lib/layout/layout');
const { Store } = require('../../lib/store/store');
const { forEachEngine, assertSoundForBoth } = require('../helpers/engines');
const { readStore } = require('../helpers/independent-reader');
const { cellWord } = require('../helpers/store-bytes');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The live entries with an expiry, as the document's reader finds them, and the cells' sum; the
// reader also reports any other problem of a store at rest.
function expiring(store) {
  const r = readStore(Buffer.from(store.buffer));
  assert.deepStrictEqual(r.problems, []);
  const found = r.entries.filter((e) => e.expiresAt !== 0).length;
  assert.strictEqual(r.counts.expiring, found, 'the cells count the entries with an expiry');
  return found;
}

forEachEngine('the count of entries with an expiry', ({ make, other }) => {
  it('stays exact while both engines set, overwrite, delete, expire, clear and drop', async () => {
    const s = make({ size: 1 << 22 });
    const o = Store.attach(s.buffer, { engine: other });
    try {
      const check = (n) => {
        assert.strictEqual(expiring(s), n);
        assertSoundForBoth(s, other);
      };
      const later = { ttl: 600000 };
      check(0);
      s.set('n', 'a', 'v', later);
      s.set('n', 'b', 'v', later);
      s.set('n', 'c', 'v');
      o.set('n', 'd', 'v', later);
      check(3);
      o.delete('n', 'a');
      check(2);
      // Overwrites: an expiry gained, kept, lost; only a change of whether there is one counts.
      o.set('n', 'c', 'w', later);
      check(3);
      s.set('n', 'c', 'x', later);
      check(3);
      s.set('n', 'b', 'w');
      check(2);
      o.set('n', 'b', 'y');
      check(2);
      // A namespace's default TTL gives its entries an expiry; Infinity writes one without.
      s.namespace('t', { ttl: 600000 });
      o.set('t', 'k1', 'v');
      s.set('t', 'k2', 'v');
      s.set('t', 'k3', 'v', { ttl: Infinity });
      check(4);
      // A large value (an indirect entry) counts as any entry.
      s.set('n', 'big', Buffer.alloc(100000, 1), later);
      check(5);
      o.set('n', 'big', Buffer.alloc(70000, 2));
      check(4);
      o.set('n', 'big', Buffer.alloc(70000, 3), later);
      check(5);
      s.delete('n', 'big');
      check(4);
      // Expired entries removed by a read of either engine.
      s.set('n', 'e1', 'v', { ttl: 1 });
      o.set('n', 'e2', 'v', { ttl: 1 });
      await sleep(10);
      assert.strictEqual(o.get('n', 'e1'), undefined);
      assert.strictEqual(s.has('n', 'e2'), false);
      check(4);
      // Compaction moves entries and keeps their expiry: the count does not change.
      for (let i = 0; i < 200; i++) s.set('m', `k${i}`, 'x'.repeat(i % 50), i % 3 === 0 ? later : undefined);
      for (let i = 0; i < 200; i += 2) o.delete('m', `k${i}`);
      // The odd keys are left, a third of them with an expiry.
      const inM = [...Array(200).keys()].filter((i) => i % 2 === 1 && i % 3 === 0).length;
      check(4 + inM);
      s.compact();
      o.compact();
      check(4 + inM);
      // clear() and dropNamespace() by either engine.
      assert.strictEqual(o.clear('m'), 100);
      check(4);
      assert.strictEqual(s.dropNamespace('t'), 3);
      check(2);
      o.clear('n');
      check(0);
    } finally {
      o.close();
    }
  });

  it('the expiry sweep of an insert and the eviction hand uncount what they remove', async () => {
    const s = make({ size: 1 << 20, maxEntries: 200, buckets: 16, eviction: 'auto' });
    const o = Store.attach(s.buffer, { engine: other });
    try {
      for (let i = 0; i < 50; i++) s.set('n', `e${i}`, 'v', { ttl: 1 });
      await sleep(10);
      // Each insert sweeps SWEEP_BUCKETS buckets: 16 buckets are swept by 8 inserts.
      for (let i = 0; i < 10; i++) o.set('n', `k${i}`, 'v');
      assert.strictEqual(expiring(s), 0);
      assertSoundForBoth(s, other);
      // The hand evicts entries with an expiry once the entry count is full.
      for (let i = 0; i < 400; i++) (i % 2 ? s : o).set('n', `t${i}`, 'v', { ttl: 600000 });
      assert.ok(s.stats().namespaceStats.n.evictions > 0);
      const kept = [...s.keys('n')];
      assert.strictEqual(expiring(s), kept.filter((k) => k.startsWith('t')).length);
      assertSoundForBoth(s, other);
    } finally {
      o.close();
    }
  });

  it('verify() reports a damaged count and a repair pass recounts it', () => {
    const s = make({ size: 1 << 21 });
    for (let i = 0; i < 40; i++) s.set('n', `k${i}`, 'v', i % 4 === 0 ? { ttl: 600000 } : undefined);
    assert.strictEqual(expiring(s), 10);
    const u32 = new Uint32Array(s.buffer);
    // Cell 5 says 3 more (a party killed between its steps, or damage); cell 9 is negative.
    u32[cellWord(u32, 5, W.COUNT_CELL.EXPIRING)] += 3;
    u32[cellWord(u32, 9, W.COUNT_CELL.EXPIRING)] -= 1;
    for (const h of [s, Store.attach(s.buffer, { engine: other })]) {
      const v = h.verify();
      assert.strictEqual(v.ok, false);
      assert.deepStrictEqual(v.errors, ['count cells: 12 entries with an expiry, found 10']);
      if (h !== s) h.close();
    }
    s.repair();
    assert.strictEqual(expiring(s), 10);
    assertSoundForBoth(s, other);
    // The pass stores the count in cell 0, the others zero, as it does the entry count.
    assert.strictEqual(u32[cellWord(u32, 0, W.COUNT_CELL.EXPIRING)], 10);
    for (let k = 1; k < C.COUNT_CELLS; k++) assert.strictEqual(u32[cellWord(u32, k, W.COUNT_CELL.EXPIRING)], 0);
  });

  it('a count damaged to zero is recounted by a repair pass, after which the hand finds an expired entry again', async () => {
    // A store of pinned entries, full, with one expired entry that its count no longer shows.
    const s = make({ size: 1 << 20, maxEntries: 300 });
    for (let i = 1; i < 300; i++) s.set('p', `p${i}`, 'v');
    // Set last, so that no insert's sweep meets it expired.
    s.set('p', 'px', 'v', { ttl: 30 });
    const u32 = new Uint32Array(s.buffer);
    for (let k = 0; k < C.COUNT_CELLS; k++) u32[cellWord(u32, k, W.COUNT_CELL.EXPIRING)] = 0;
    await sleep(60);
    // The hint says no entry may expire: the set is refused without a look (a hint errs only so).
    assert.throws(() => s.set('p', 'new', 'v'), (err) => err.code === 'ERR_STORE_FULL');
    s.repair();
    s.set('p', 'new', 'v');
    assert.strictEqual(s.has('p', 'px'), false);
    assert.strictEqual(s.count('p'), 300);
    assert.strictEqual(expiring(s), 0);
  });
});
