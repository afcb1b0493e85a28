'use strict';
// A full evictable store makes room for a new entry that fits, at the first set (docs/api.md,
// "Expiry and eviction"; format.md §8, "Making room"): a value larger than every entry the store
// holds, small (up to 65535 bytes) or large, is stored by evicting several cold entries and
// coalescing their space, within bounds that grow with the space the set needs. Pinned entries
// stay, a store where nothing may be evicted still refuses, and both engines do the same on the
// same bytes.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { forEachEngine, assertSoundForBoth } = require('../helpers/engines');
const { inWorker, announced } = require('../helpers/actors');

// As test/helpers/children/store-actor.js pinnedReader checks it.
const pinnedValue = (i) => `pinned ${i} `.padEnd(100, '.');
const SMALL = 'v'.repeat(100);

// A 2 MiB store that evicts by default, with a pinned namespace: `pinned` entries, most written
// first and the rest spread among the cache entries, then 100-byte cache values until the store
// is full (its first eviction).
function filled(make) {
  const s = make({ size: 1 << 21, maxEntries: 1e6, eviction: 'auto' });
  s.namespace('pinned', { eviction: 'none' });
  let pinned = 0;
  for (; pinned < 200; pinned++) s.set('pinned', `p${pinned}`, pinnedValue(pinned));
  for (let i = 0; s.stats().namespaceStats.c?.evictions !== 1; i++) {
    s.set('c', `k${i}`, SMALL);
    if (i % 50 === 0) {
      s.set('pinned', `p${pinned}`, pinnedValue(pinned));
      pinned++;
    }
  }
  return { s, pinned };
}

function assertPinned(s, pinned) {
  assert.strictEqual(s.count('pinned'), pinned);
  for (let i = 0; i < pinned; i++) assert.strictEqual(s.get('pinned', `p${i}`), pinnedValue(i), `p${i}`);
}

const bytesOf = (n, seed) => Buffer.alloc(n, seed);

forEachEngine('eviction: a full store makes room at the first set', ({ make, other }) => {
  it('stores 3000-byte, 60000-byte and 256 KiB values into a store full of 100-byte values', () => {
    const { s, pinned } = filled(make);
    const o = Store.attach(s.buffer, { engine: other });
    try {
      let n = 0;
      for (const size of [3000, 60000, 256 * 1024, 3000, 60000]) {
        // Each handle in turn: both engines make room the same way.
        for (const h of [s, o]) {
          const key = `big${n++}`;
          h.set('c', key, bytesOf(size, n)); // throws ERR_STORE_FULL without room made
          assert.ok(s.get('c', key).equals(bytesOf(size, n)), key);
          assert.ok(o.get('c', key).equals(bytesOf(size, n)), key);
        }
      }
      assertPinned(s, pinned);
      assertPinned(o, pinned);
      assert.strictEqual(s.stats().namespaceStats.pinned.evictions, 0);
      assertSoundForBoth(s, other);
    } finally {
      o.close();
    }
  });

  it('stores a 1 MiB value, half the store, into a store full of 100-byte values', () => {
    const s = make({ size: 1 << 21, maxEntries: 1e6, eviction: 'auto' });
    for (let i = 0; s.stats().namespaceStats.c?.evictions !== 1; i++) s.set('c', `k${i}`, SMALL);
    const o = Store.attach(s.buffer, { engine: other });
    try {
      let n = 0;
      for (const h of [s, o]) {
        for (const size of [3000, 60000, 1 << 20]) {
          const key = `big${n++}`;
          h.set('c', key, bytesOf(size, n));
          assert.ok(o.get('c', key).equals(bytesOf(size, n)), key);
          assert.ok(s.get('c', key).equals(bytesOf(size, n)), key);
        }
      }
      assertSoundForBoth(s, other);
    } finally {
      o.close();
    }
  });

  it('alternating small and large sets never refuse', () => {
    const { s, pinned } = filled(make);
    const o = Store.attach(s.buffer, { engine: other });
    try {
      for (let round = 0; round < 60; round++) {
        const h = round % 2 ? o : s;
        const small = bytesOf(100 + ((round * 977) % 65000), round);
        const large = bytesOf(65536 + ((round * 7919) % 200000), round + 1);
        // Each read back before the next set, which may evict it (it is the newest entry).
        h.set('c', `s${round}`, small);
        assert.ok(s.get('c', `s${round}`).equals(small));
        h.set('c', `l${round}`, large);
        assert.ok(o.get('c', `l${round}`).equals(large));
      }
      assertPinned(s, pinned);
      assertSoundForBoth(s, other);
    } finally {
      o.close();
    }
  });

  it('a store where nothing may be evicted still refuses, and its entries stay', () => {
    const s = make({ size: 1 << 20, maxEntries: 1e6, eviction: 'auto' });
    s.namespace('pinned', { eviction: 'none' });
    let pinned = 0;
    assert.throws(() => {
      for (;; pinned++) s.set('pinned', `p${pinned}`, pinnedValue(pinned));
    }, { code: 'ERR_STORE_FULL' });
    const before = s.entries('pinned').sort();
    for (const [ns, size] of [['pinned', 100], ['c', 100], ['c', 3000], ['c', 60000], ['c', 256 * 1024]]) {
      assert.throws(() => s.set(ns, 'one more', bytesOf(size, 1)), { code: 'ERR_STORE_FULL' }, `${ns} ${size}`);
    }
    assert.deepStrictEqual(s.entries('pinned').sort(), before);
    assert.strictEqual(s.count(), pinned);
    assertPinned(s, pinned);
    assertSoundForBoth(s, other);
  });

  it('readers and writers in another thread meanwhile see every pinned entry whole', async function () {
    this.timeout(30000); // 1.5 s of readers and writers, then sets until every size got in
    const { s, pinned } = filled(make);
    const started = announced();
    const reader = inWorker({ op: 'pinnedReader', engine: other, buffer: s.buffer, ms: 1500, pinned, id: 1 },
      started.onMessage);
    await started.promise;
    // Another writer may take the room a set made before the set takes it (a set refused then
    // changes nothing of the pinned entries either): every size must get in, not every set. On a
    // loaded machine the other thread can win every race of the first second, so the sets go on
    // (the other thread's writes stop after its 1.5 s) until each size got in, within 200 rounds.
    const end = Date.now() + 1000;
    const stored = new Set();
    for (let n = 0; n === 0 || Date.now() < end || (stored.size < 3 && n < 200); n++) {
      for (const size of [3000, 60000, 200000]) {
        try {
          s.set('c', `big${n}-${size}`, bytesOf(size, n));
        } catch (err) {
          if (err.code !== 'ERR_STORE_FULL') throw err;
          continue;
        }
        // The other thread's sets may evict it as soon as it is in (it was never read): gone is
        // allowed, another value is not.
        const got = s.get('c', `big${n}-${size}`);
        assert.ok(got === undefined || got.equals(bytesOf(size, n)), `big${n}-${size}`);
        stored.add(size);
      }
    }
    const r = await reader.done;
    assert.strictEqual(stored.size, 3);
    assert.ok(r.reads >= pinned);
    assert.deepStrictEqual([r.missing, r.wrong], [0, 0]);
    assert.ok(r.writes > 0);
    assertPinned(s, pinned);
    assertSoundForBoth(s, other);
  });
});
