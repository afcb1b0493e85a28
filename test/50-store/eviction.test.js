'use strict';
// Eviction (docs/api.md, "Expiry and eviction"; format.md §8): 'none' refuses when full and
// changes nothing, an evicting store always accepts a new entry that fits, pinned entries are
// never evicted, marked (read) entries get a second chance, counts add up, both engines evict
// the same bytes.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { forEachEngine, ENGINES, assertSoundForBoth } = require('../helpers/engines');

forEachEngine('eviction: Store.create({ eviction }), namespace policies', ({ make, other }) => {
  it("'none' (the default) refuses a new entry when full and changes nothing", () => {
    for (const eviction of [undefined, 'none']) {
      const s = make({ maxEntries: 10, eviction });
      for (let i = 0; i < 10; i++) s.set('n', `k${i}`, i);
      assert.throws(() => s.set('n', 'one more', 1), { code: 'ERR_STORE_FULL' });
      s.set('n', 'k3', 'replaced'); // a replacement needs no new slot
      assert.strictEqual(s.count(), 10);
      assert.deepStrictEqual(s.keys('n').sort(), Array.from({ length: 10 }, (_, i) => `k${i}`).sort());
      assert.strictEqual(s.stats().eviction, 'none');
    }
  });

  it("'auto' accepts every new entry of a full store and the counts add up", () => {
    const s = make({ maxEntries: 100, buckets: 64, eviction: 'auto' });
    for (let i = 0; i < 1000; i++) s.set('c', `k${i}`, `v${i}`);
    assert.strictEqual(s.count(), 100);
    assert.strictEqual(s.get('c', 'k999'), 'v999', 'the entry just written is there');
    let hits = 0;
    for (let i = 0; i < 1000; i++) if (s.get('c', `k${i}`) !== undefined) hits++;
    assert.strictEqual(hits, 100);
    const st = s.stats();
    assert.strictEqual(st.eviction, 'clock');
    const c = st.namespaceStats.c;
    assert.deepStrictEqual([c.count, c.evictions, c.hits, c.misses], [100, 900, 101, 900]);
    assert.strictEqual(c.hits + c.misses, 1001);
    assert.strictEqual(c.count + c.evictions, 1000, 'every insert is live or evicted');
    assert.strictEqual(c.bytes, s.entries('c').reduce((n, [k, v]) => n + k.length + v.length, 0));
    assert.ok(st.evictionTurns >= 1);
    assert.ok(s.verify().ok);
  });

  it('never evicts a pinned namespace; a store full of pinned entries refuses', () => {
    const s = make({ maxEntries: 100, buckets: 64, eviction: 'auto' });
    s.namespace('memories', { eviction: 'none' });
    for (let i = 0; i < 60; i++) s.set('memories', `m${i}`, { i });
    for (let i = 0; i < 2000; i++) s.set('cache', `c${i}`, 'x'.repeat(i % 50));
    for (let i = 0; i < 60; i++) assert.deepStrictEqual(s.get('memories', `m${i}`), { i });
    assert.strictEqual(s.count('memories'), 60);
    assert.strictEqual(s.count('cache'), 40);
    assert.strictEqual(s.stats().namespaceStats.memories.evictions, 0);
    // Only pinned entries left: nothing may go, so the insert is refused and nothing changes.
    s.clear('cache');
    for (let i = 60; i < 100; i++) s.set('memories', `m${i}`, { i });
    assert.throws(() => s.set('memories', 'one more', 1), { code: 'ERR_STORE_FULL' });
    assert.throws(() => s.set('cache', 'one more', 1), { code: 'ERR_STORE_FULL' });
    assert.strictEqual(s.count(), 100);
    assert.ok(s.verify().ok);
  });

  it("a store that does not evict by default evicts only the namespaces that say so", () => {
    const s = make({ maxEntries: 50, buckets: 64 });
    s.namespace('cache', { eviction: 'auto' });
    for (let i = 0; i < 20; i++) s.set('agents', `a${i}`, i);
    for (let i = 0; i < 500; i++) s.set('cache', `c${i}`, i);
    assert.strictEqual(s.count('agents'), 20);
    assert.strictEqual(s.count('cache'), 30);
    assert.deepStrictEqual(s.stats().namespaceStats.agents.eviction, 'none');
    assert.deepStrictEqual(s.stats().namespaceStats.cache.eviction, 'clock');
  });

  it('gives entries read since the hand passed a second chance', () => {
    const s = make({ maxEntries: 100, buckets: 64, eviction: 'clock' });
    for (let i = 0; i < 100; i++) s.set('c', `k${i}`, i);
    for (let i = 0; i < 100; i += 2) s.get('c', `k${i}`); // mark the even keys
    for (let i = 0; i < 50; i++) s.set('c', `new${i}`, i);
    for (let i = 0; i < 100; i += 2) assert.ok(s.has('c', `k${i}`), `k${i}`);
    assert.strictEqual(s.count('c'), 100);
  });

  it('a get hit writes shared memory only when the mark changes, and never without eviction', () => {
    for (const eviction of ['auto', 'none']) {
      const s = make({ size: 1 << 20, eviction });
      for (let i = 0; i < 50; i++) s.set('c', `k${i}`, `v${i}`);
      const bytes = new Uint8Array(s.buffer);
      const before = Uint8Array.from(bytes);
      assert.strictEqual(s.get('c', 'k7'), 'v7');
      const changed = [];
      for (let i = 0; i < bytes.length; i++) if (bytes[i] !== before[i]) changed.push(i);
      // 'auto': exactly the byte of k7's flags word that holds the mark (bit 17); 'none': nothing.
      assert.strictEqual(changed.length, eviction === 'auto' ? 1 : 0, `${eviction}: bytes ${changed}`);
      const again = Uint8Array.from(bytes);
      for (let r = 0; r < 10; r++) assert.strictEqual(s.get('c', 'k7'), 'v7');
      assert.strictEqual(s.has('c', 'k7'), true);
      assert.ok(bytes.every((b, i) => b === again[i]), 'a hit on a marked entry wrote shared memory');
    }
  });

  it('demotes new entries quickly: a loop a little larger than the store still hits', () => {
    // Plain CLOCK (and LRU) would miss every request of such a loop: each key is evicted just
    // before it comes round again. Here a new entry that is not read before the next eviction
    // is the next one evicted (format.md §8), so most of the store keeps its keys.
    const s = make({ maxEntries: 100, buckets: 64, eviction: 'clock' });
    let hits = 0;
    for (let r = 0; r < 20; r++) {
      for (let i = 0; i < 110; i++) {
        if (s.get('c', `k${i}`) !== undefined) hits++;
        else s.set('c', `k${i}`, i);
      }
    }
    // A number both engines must reach exactly: they run the same hand on the same bytes.
    assert.ok(hits > 19 * 80, `${hits} hits of ${20 * 110}`);
    assert.strictEqual(s.stats().namespaceStats.c.hits, hits);
  });

  it('accepts by space as well as by count, entries of several sizes', () => {
    const s = make({ size: 1 << 20, maxEntries: 1e6, eviction: 'auto' });
    for (let i = 0; i < 3000; i++) s.set('c', `k${i}`, 'v'.repeat([10, 300, 3000][i % 3]));
    assert.strictEqual(s.get('c', 'k2999').length, 3000);
    assert.ok(s.count('c') < 3000);
    assert.strictEqual(s.stats().namespaceStats.c.evictions + s.count('c'), 3000);
    assert.ok(s.verify().ok);
  });

  it('refuses an unknown policy or a wrong type with RangeError or TypeError', () => {
    for (const [eviction, Err] of [['lru', RangeError], ['', RangeError], ['toString', RangeError],
      [1, TypeError], [null, TypeError], [{}, TypeError]]) {
      assert.throws(() => Store.create({ buffer: new SharedArrayBuffer(1 << 20), eviction }), Err);
    }
  });

  it('the other engine on the same bytes evicts the same way and respects the pins', () => {
    const s = make({ maxEntries: 64, buckets: 64, eviction: 'auto' });
    s.namespace('pinned', { eviction: 'none' });
    for (let i = 0; i < 10; i++) s.set('pinned', `p${i}`, i);
    const o = Store.attach(s.buffer, { engine: other });
    try {
      for (let i = 0; i < 500; i++) (i % 2 ? o : s).set('cache', `c${i}`, i);
      assert.strictEqual(o.count(), 64);
      for (let i = 0; i < 10; i++) assert.strictEqual(o.get('pinned', `p${i}`), i);
      assert.strictEqual(s.get('cache', 'c499'), 499);
      s.stats(); // flushes this handle's counts: each handle adds its own
      assert.strictEqual(o.stats().namespaceStats.cache.evictions, 500 - 54);
      assert.ok(o.verify().ok);
    } finally {
      o.close();
    }
  });
});

// The hand looks at a block without a lock, then takes its bucket's lock to remove it. Meanwhile
// the entry it saw may be deleted and its block reused by an entry of a pinned namespace whose key
// falls in the same bucket (format.md §8, "Eviction", step 5). The JS engine's hand is
// interrupted at that point (its look at the block's expiry) while a handle of each engine does
// exactly that on the same bytes.
describe('eviction: a block reused by a pinned entry while the hand looked at it [js engine hand]', () => {
  const chain = require('../../lib/store/js/chain');
  for (const engine of ENGINES) {
    it(`keeps the pinned entry a ${engine} handle wrote there`, () => {
      // One bucket: every key shares it. The first insert takes the pool's first block, where
      // the hand starts.
      const s = Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine: 'js', maxEntries: 4, buckets: 1, eviction: 'clock' });
      const o = Store.attach(s.buffer, { engine });
      const original = chain.expiresAtOf;
      try {
        s.namespace('pinned', { eviction: 'none' });
        for (let i = 0; i < 4; i++) s.set('cache', `c${i}`, 'v');
        let interleaved = false;
        chain.expiresAtOf = (e, u) => {
          if (!interleaved) {
            interleaved = true;
            // The hand has read c0's block: c0 is deleted and a pinned entry of the same size
            // takes the block (a free list is LIFO, and o has no parked block).
            assert.strictEqual(o.delete('cache', 'c0'), true);
            o.set('pinned', 'p0', 'w');
          }
          return original(e, u);
        };
        s.set('cache', 'new', 'v');
        chain.expiresAtOf = original;
        assert.ok(interleaved, 'the hand ran');
        assert.strictEqual(s.get('pinned', 'p0'), 'w', 'the acknowledged write of a pinned namespace is kept');
        assert.strictEqual(o.get('pinned', 'p0'), 'w');
        assert.strictEqual(s.count(), 4);
        assert.strictEqual(s.count('cache'), 3);
        assert.strictEqual(s.stats().namespaceStats.pinned.evictions, 0);
        assertSoundForBoth(s, engine === 'js' ? 'native' : 'js');
      } finally {
        chain.expiresAtOf = original;
        o.close();
        s.close();
      }
    });
  }
});
