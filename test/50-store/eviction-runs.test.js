'use strict';
// A set that makes room for a large block in a full store of small cold entries (format.md §8,
// "Making room", step 3): the hand evicts in address order, and each block it frees joins the
// free run the set's earlier evictions left right before it, so the set evicts about its own size
// and is stored. Before, the evicted blocks sat apart on their class's list until a batch of
// compaction steps (which starts at the compaction cursor, not where the hand freed them) merged
// them: a 1 MiB value evicted every entry of a 4 MiB store, and was refused by an 8 MiB one.
const assert = require('assert');
const { C, CLASS_UNITS } = require('../../lib/layout/layout');
const { unitsForLarge } = require('../../lib/store/js/large');
const { classFor } = require('../../lib/store/js/alloc');
const { forEachEngine } = require('../helpers/engines');

const SMALL = 'v'.repeat(100);
const keyOf = (i) => `k${String(i).padStart(12, '0')}`;
const ENTRY_UNITS = CLASS_UNITS[classFor(C.ENTRY_HEADER_SIZE + keyOf(0).length + SMALL.length)];

// A store of `mib` MiB filled with 100-byte entries up to its first eviction; returns it and the
// number of keys set.
function fullOfCold(make, mib) {
  const s = make({ size: mib << 20, maxEntries: 200000, eviction: 'auto' });
  let n = 0;
  while (s.stats().entries === n) s.set('c', keyOf(n++), SMALL);
  return { s, n };
}

forEachEngine('making room: evictions join into one run', ({ make }) => {
  for (const mib of [4, 8]) {
    it(`a 1 MiB value in a full ${mib} MiB store of cold 100-byte entries evicts about its size`, function () {
      this.timeout(20000); // filling a store with the pure-JS engine on a loaded machine
      const { s, n } = fullOfCold(make, mib);
      const before = s.stats().entries;
      const value = Buffer.alloc(1 << 20, 7);
      s.set('c', 'big', value);
      assert.ok(s.get('c', 'big').equals(value));
      const evicted = before + 1 - s.stats().entries;
      // The value's block is unitsForLarge(1 MiB) units; each entry frees ENTRY_UNITS of them.
      const exact = Math.ceil(unitsForLarge(1 << 20) / ENTRY_UNITS);
      assert.ok(evicted >= exact, `${evicted} evicted, the value needs the room of ${exact}`);
      assert.ok(evicted <= exact + 64, `${evicted} entries evicted for the room of ${exact}`);
      // Every entry not evicted reads back whole; the store checks clean.
      let kept = 0;
      for (let i = 0; i < n; i++) {
        const v = s.get('c', keyOf(i));
        if (v === undefined) continue;
        assert.strictEqual(v, SMALL);
        kept++;
      }
      assert.strictEqual(kept + 1, s.stats().entries);
      assert.deepStrictEqual(s.verify().errors, []);
    });
  }

  it('the joined run serves the next large value too, and a pinned namespace keeps every entry', function () {
    this.timeout(20000);
    const s = make({ size: 8 << 20, maxEntries: 200000, eviction: 'auto' });
    s.namespace('pinned', { eviction: 'none' });
    let n = 0;
    // Every 50th entry pinned, the rest cold and evictable: the runs break at pinned entries.
    while (s.stats().entries === n) {
      s.set(n % 50 === 0 ? 'pinned' : 'c', keyOf(n), SMALL);
      n++;
    }
    for (let k = 0; k < 3; k++) s.set('c', `big${k}`, Buffer.alloc(256 << 10, k + 1));
    for (let k = 0; k < 3; k++) assert.strictEqual(s.get('c', `big${k}`)?.length, 256 << 10);
    for (let i = 0; i < n; i += 50) assert.strictEqual(s.get('pinned', keyOf(i)), SMALL, keyOf(i));
    assert.deepStrictEqual(s.verify().errors, []);
  });
});
