'use strict';
// The allocations a set makes while it makes room in a full evicting store (docs/api.md, "Expiry
// and eviction"; format.md §8, "Making room"): an eviction that frees a block smaller than the
// one the set needs is not followed by another allocation (which would fail again, and whose
// failure walks the whole list of free large blocks); the set allocates again after a batch of
// compaction steps, or after an eviction that freed a block that can hold it. Its allocations
// that found no room (stats().allocationMisses) are thus bounded by its compaction batches, not
// by its evictions, which grow with the space it needs.
const assert = require('assert');
const { C } = require('../../lib/layout/layout');
const { unitsForLarge } = require('../../lib/store/js/large');
const { classFor } = require('../../lib/store/js/alloc');
const { CLASS_UNITS } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');

const SMALL = 'v'.repeat(100);
// The batches of compaction steps one set may run for a block of `need` units, before and after
// it has evicted all it may (format.md §8, "Making room").
const maxBatches = (need) =>
  C.COMPACT_BATCHES_PER_SET +
  C.COMPACT_BATCHES_PER_NEED * Math.ceil(need / (C.COMPACT_STEPS_PER_BATCH * C.COMPACT_STEP_UNITS));
// Its first allocation, one after each batch of either bound, and the one eviction of the search
// for its class over the whole pool.
const missBound = (need) => 2 + 2 * maxBatches(need);

// A 4 MiB store full of 100-byte entries that started evicting (stats() walks the free lists:
// looked at every 256 sets).
function fullOfSmall(make) {
  const s = make({ size: 4 << 20, maxEntries: 1e6, eviction: 'auto' });
  for (let i = 0; i % 256 !== 0 || !(s.stats().namespaceStats.c?.evictions >= 1); i++) s.set('c', `k${i}`, SMALL);
  return s;
}

function missesOf(s, fn) {
  const before = s.stats();
  fn();
  const after = s.stats();
  return {
    misses: after.allocationMisses - before.allocationMisses,
    evicted: after.namespaceStats.c.evictions - before.namespaceStats.c.evictions,
  };
}

forEachEngine('making room: the allocations of one set', ({ make }) => {
  it('stats().allocationMisses is a number that starts at 0 and counts a set that made room', () => {
    const s = make({ size: 1 << 21, eviction: 'auto' });
    assert.strictEqual(s.stats().allocationMisses, 0);
    for (let i = 0; !(s.stats().namespaceStats.c?.evictions >= 1); i++) s.set('c', `k${i}`, SMALL);
    assert.ok(s.stats().allocationMisses >= 1);
  });

  it('a large value stored by evicting thousands of small entries allocates once per compaction batch, not per eviction', function () {
    this.timeout(10000); // filling a store with the pure-JS engine on a loaded machine
    const s = fullOfSmall(make);
    const n = 256 << 10;
    const { misses, evicted } = missesOf(s, () => s.set('c', 'large', Buffer.alloc(n, 1)));
    assert.strictEqual(s.get('c', 'large').length, n);
    const bound = missBound(unitsForLarge(n));
    // The set evicted far more entries than it may allocate: one allocation per eviction would
    // fail the bound below.
    assert.ok(evicted > 4 * bound, `${evicted} evictions`);
    assert.ok(misses <= bound, `${misses} allocations found no room, at most ${bound} (${evicted} evictions)`);
  });

  it('a 60000-byte value among 100-byte entries allocates once per compaction batch, not per eviction', function () {
    this.timeout(10000); // filling a store with the pure-JS engine on a loaded machine
    const s = fullOfSmall(make);
    const need = CLASS_UNITS[classFor(C.ENTRY_HEADER_SIZE + 3 + 60000)];
    const { misses, evicted } = missesOf(s, () => s.set('c', 'big', Buffer.alloc(60000, 2)));
    assert.strictEqual(s.get('c', 'big').length, 60000);
    const bound = missBound(need);
    assert.ok(evicted > 4 * bound, `${evicted} evictions`);
    assert.ok(misses <= bound, `${misses} allocations found no room, at most ${bound} (${evicted} evictions)`);
  });
});
