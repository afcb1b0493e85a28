'use strict';
// The bounds of the work one set does to make room in a full store (docs/api.md, "Expiry and
// eviction"; format.md §8, "Making room"): a value larger than the pool is refused before
// anything is evicted, the evictions of one set stop once the space they freed reaches
// EVICT_UNITS_PER_NEED times the space it needs (not a count of entries, which small entries
// would make the whole store), a search for an entry of a class is bounded, and a refused set
// where nothing may be evicted runs the hand less than a turn.
const assert = require('assert');
const { C, CLASS_UNITS } = require('../../lib/layout/layout');
const { classFor } = require('../../lib/store/js/alloc');
const { forEachEngine } = require('../helpers/engines');

const SMALL = 'v'.repeat(100);
const bytesOf = (n, seed) => Buffer.alloc(n, seed);
// The units of an entry's block for a key of kl bytes and a value of vl bytes held in it
// (format.md §8).
const entryUnits = (kl, vl) => CLASS_UNITS[classFor(C.ENTRY_HEADER_SIZE + kl + vl)];

function assertRefused(fn) {
  assert.throws(fn, (err) => err.code === 'ERR_STORE_FULL');
}

forEachEngine('eviction: the bounds of one set that makes room', ({ make }) => {
  it('a value larger than the pool is refused and evicts nothing', () => {
    const s = make({ size: 1 << 21, maxEntries: 1e6, eviction: 'auto' });
    for (let i = 0; s.stats().namespaceStats.c?.evictions !== 1; i++) s.set('c', `k${i}`, SMALL);
    const before = s.count('c');
    assertRefused(() => s.set('c', 'huge', bytesOf(1 << 22, 7)));
    assert.strictEqual(s.count('c'), before);
    assert.strictEqual(s.stats().namespaceStats.c.evictions, 1);
    assert.strictEqual(s.get('c', 'huge'), undefined);
  });

  it('a 60000-byte set that cannot be placed evicts at most EVICT_UNITS_PER_NEED times its need, in each of its two rounds', () => {
    // Pinned 5000-byte entries every 300 cache entries (about 40 KB): nothing moves them into the
    // small holes evictions leave, so no run of the 60000 bytes needed ever forms.
    const s = make({ size: 1 << 21, maxEntries: 1e6, eviction: 'auto' });
    s.namespace('p', { eviction: 'none' });
    let pinned = 0;
    for (let i = 0; s.stats().namespaceStats.c?.evictions !== 1; i++) {
      if (i % 300 === 0) s.set('p', `p${pinned++}`, bytesOf(5000, 1));
      s.set('c', `k${i}`, SMALL);
    }
    const before = s.count('c');
    let stored = true;
    try {
      s.set('c', 'big', bytesOf(60000, 2));
    } catch (err) {
      if (err.code !== 'ERR_STORE_FULL') throw err;
      stored = false;
    }
    const evicted = before - s.count('c') + (stored ? 1 : 0);
    // Every cache entry's block is at least this many units (the shortest key, 'k0').
    const least = entryUnits(2, SMALL.length);
    // 60000 bytes are a small value: the set needs an entry's block of its class.
    const need = entryUnits('big'.length, 60000);
    // A set that evicted and still found no room gets its bounds once more (format.md §8, "Making
    // room", step 6): two rounds.
    const bound = 2 * Math.max(C.EVICT_BASE_PER_SET, Math.ceil((C.EVICT_UNITS_PER_NEED * need) / least));
    assert.ok(evicted <= bound, `${evicted} entries evicted, at most ${bound}`);
    assert.strictEqual(s.count('p'), pinned);
  });

  it('a refused set where every entry is pinned runs the hand less than a turn', () => {
    // 8 MiB of pinned 100-byte entries, far more blocks than EVICT_CLASS_STEPS: before the counts
    // ended a fruitless search, each refused set ran the hand over the whole pool twice or more
    // (most of a second on 64 MiB).
    const s = make({ size: 8 << 20, maxEntries: 1e6, eviction: 'auto' });
    s.namespace('p', { eviction: 'none' });
    for (let i = 0; ; i++) {
      try {
        s.set('p', `p${i}`, SMALL);
      } catch (err) {
        if (err.code !== 'ERR_STORE_FULL') throw err;
        break;
      }
    }
    const count = s.count('p');
    assert.ok(count > 4 * C.EVICT_CLASS_STEPS);
    // A large value asks the hand for any entry; a 100-byte and a 3000-byte one ask for their
    // class first, then for any.
    for (const [key, value] of [['large', bytesOf(100000, 3)], ['small', SMALL], ['mid', bytesOf(3000, 4)]]) {
      const t0 = s.stats().evictionTurns;
      assertRefused(() => s.set('p', key, value));
      const turns = s.stats().evictionTurns - t0;
      assert.ok(turns <= 1, `${key}: ${turns} turns of the hand for one refused set`);
    }
    assert.strictEqual(s.count('p'), count);
    // An evictable entry makes the hand look on: the next set evicts it and gets in.
    s.delete('p', 'p0');
    s.set('c', 'cold', SMALL);
    s.set('p', 'again', SMALL);
    assert.strictEqual(s.get('c', 'cold'), undefined);
    assert.strictEqual(s.get('p', 'again'), SMALL);
    assert.strictEqual(s.count('p'), count);
  });

  // How an entry with an expiry leaves a store before it fills with pinned entries: whatever the
  // way, the store then holds no entry that may expire, and a refused set must not send the hand
  // around the pool (EvictState.ttlSeen stays 1 for good; the count cells count what is left).
  const gone = {
    deleted: (s) => {
      s.set('p', 'ttl', SMALL, { ttl: 60000 });
      s.delete('p', 'ttl');
    },
    'overwritten without an expiry': (s) => {
      s.set('p', 'ttl', SMALL, { ttl: 60000 });
      s.set('p', 'ttl', SMALL);
    },
    'expired and removed by a read': async (s) => {
      s.set('p', 'ttl', SMALL, { expiresAt: Date.now() + 5 });
      while (s.get('p', 'ttl') !== undefined) await new Promise((r) => setTimeout(r, 5));
    },
    'a large value deleted': (s) => {
      s.set('p', 'ttl', bytesOf(100000, 6), { ttl: 60000 });
      s.delete('p', 'ttl');
    },
  };
  const stores = {
    'policy none': { opts: {}, pinned: () => {} },
    'a pinned namespace of an evicting store': { opts: { eviction: 'auto' }, pinned: (s) => s.namespace('p', { eviction: 'none' }) },
  };
  for (const [storeKind, { opts, pinned }] of Object.entries(stores)) {
    for (const [how, drop] of Object.entries(gone)) {
      if (storeKind !== 'policy none' && how !== 'deleted') continue;
      it(`a refused set of a full pinned store runs the hand less than a turn once its last entry with an expiry went (${how}, ${storeKind})`, async () => {
        const s = make({ size: 8 << 20, maxEntries: 1e6, ...opts });
        pinned(s);
        await drop(s);
        for (let i = 0; ; i++) {
          try {
            s.set('p', `p${i}`, SMALL);
          } catch (err) {
            if (err.code !== 'ERR_STORE_FULL') throw err;
            break;
          }
        }
        const count = s.count('p');
        assert.ok(count > 4 * C.EVICT_CLASS_STEPS);
        for (const [key, value] of [['large', bytesOf(100000, 3)], ['small', SMALL], ['mid', bytesOf(3000, 4)]]) {
          const t0 = s.stats().evictionTurns;
          assertRefused(() => s.set('p', key, value));
          const turns = s.stats().evictionTurns - t0;
          assert.ok(turns <= 1, `${key}: ${turns} turns of the hand for one refused set`);
        }
        assert.strictEqual(s.count('p'), count);
      });
    }
  }

  it('a refused set of a store whose entry count is full and pinned runs the hand less than a turn once its entry with an expiry went', () => {
    const max = 5 * C.EVICT_CLASS_STEPS;
    const s = make({ size: 8 << 20, maxEntries: max });
    s.set('p', 'ttl', SMALL, { ttl: 60000 });
    s.delete('p', 'ttl');
    for (let i = 0; i < max; i++) s.set('p', `p${i}`, SMALL);
    const t0 = s.stats().evictionTurns;
    assertRefused(() => s.set('p', 'one more', SMALL));
    const turns = s.stats().evictionTurns - t0;
    assert.ok(turns <= 1, `${turns} turns of the hand for one refused set`);
    assert.strictEqual(s.count('p'), max);
  });

  for (const full of ['space', 'the entry count']) {
    it(`a full store of pinned entries still takes a set while it holds an expired entry (${full})`, async () => {
      // The hand removes expired entries whatever their namespace's policy: the count of entries
      // with an expiry says one may be there.
      const s = make({ size: 1 << 20, maxEntries: full === 'space' ? 1e6 : 500 });
      let n = 0;
      for (; ; n++) {
        try {
          s.set('p', `p${n}`, SMALL);
        } catch (err) {
          if (err.code !== 'ERR_STORE_FULL') throw err;
          break;
        }
      }
      // One pinned entry makes way for one that expires, of the same size class: full again.
      s.delete('p', 'p0');
      s.set('p', 'px', SMALL, { ttl: 30 });
      await new Promise((r) => setTimeout(r, 60));
      s.set('p', 'new', SMALL);
      assert.strictEqual(s.get('p', 'new'), SMALL);
      assert.strictEqual(s.has('p', 'px'), false);
      assert.strictEqual(s.count('p'), n);
      assert.strictEqual(s.stats().namespaceStats.p.expirations, 1);
    });
  }

  for (const old of [3000, 4000]) {
    it(`a set whose search for its class stopped at the bound still finds such an entry further on (${old} bytes)`, () => {
      // Small entries of two sizes fill 1 MiB, pinned and evictable in turn, with one entry of
      // the needed class (3000 bytes) or a larger one (4000) far past where the hand stands: the
      // bounded search misses it. Evicting entries of any class left no run of 3000 bytes (the
      // holes small and apart, with a pinned entry between each two), and before refusing the set
      // searched the whole pool for its class once, evicted that entry and took its block, of a
      // larger class too, though its evictions had reached their bound. Now the set moves the
      // pinned entries at its run's end out of the run (format.md §8, "Joined runs"), and the run
      // may hold the value before that search: either way the set is stored.
      const s = make({ size: 1 << 20, maxEntries: 1e6, eviction: 'auto' });
      s.namespace('p', { eviction: 'none' });
      const evictions = () => Object.values(s.stats().namespaceStats).reduce((n, x) => n + x.evictions, 0);
      for (let i = 0; evictions() === 0; i++) {
        s.set('p', `p${i}`, 'x');
        s.set('c', `c${i}`, 'y'.repeat(20));
        if (i === 5000) s.set('c', 'bigOld', bytesOf(old, 1));
      }
      assert.ok(s.has('c', 'bigOld'));
      s.set('c', 'bigNew', bytesOf(3000, 2));
      assert.deepStrictEqual(s.get('c', 'bigNew'), bytesOf(3000, 2));
      for (let i = 0; s.has('p', `p${i}`) || i < 5000; i++) assert.strictEqual(s.get('p', `p${i}`), 'x', `p${i}`);
      assert.deepStrictEqual(s.verify().errors, []);
    });
  }

  it('the first set of a class no entry has searches for it EVICT_CLASS_STEPS steps, not two turns', () => {
    // 8 MiB of 100-byte entries (tens of thousands of blocks, far more than EVICT_CLASS_STEPS): a
    // search for an entry of the 3000-byte class or larger finds none, and before its bound it
    // ran the hand over the whole pool twice (most of a second on 64 MiB) before evicting.
    const s = make({ size: 8 << 20, maxEntries: 1e6, eviction: 'auto' });
    for (let i = 0; s.stats().namespaceStats.c?.evictions !== 1; i++) s.set('c', `k${i}`, SMALL);
    assert.ok(s.stats().entries > 4 * C.EVICT_CLASS_STEPS);
    const t0 = s.stats().evictionTurns;
    s.set('c', 'big', bytesOf(3000, 5));
    assert.deepStrictEqual(s.get('c', 'big'), bytesOf(3000, 5));
    // The hand wraps at most once within EVICT_CLASS_STEPS steps and the evictions that follow.
    const turns = s.stats().evictionTurns - t0;
    assert.ok(turns <= 1, `${turns} turns of the hand for one set`);
  });
});
