'use strict';
// Automatic compaction (format.md §8, "When steps run"): ordinary sets of a handle run a bounded
// step when the free space is fragmented (AllocState.freedUnits at least AUTO_COMPACT_MIN_UNITS
// and at least the space after freeHead), one look at the hint per AUTO_COMPACT_EVERY sets; on a
// store that is not fragmented they run none. Both engines, on the same bytes.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C, AT } = require('../../lib/layout/layout');
const { ownAs, freeOwner, lockedBy } = require('../helpers/store-bytes');
const { mixedValueFor } = require('../helpers/values');

// A store filled with mixed values to about 90%, then every other key deleted: holes of every
// size between live entries, little space after the last block.
function fragmented(engine) {
  const store = Store.create({ buffer: new SharedArrayBuffer(2 << 20), engine, maxEntries: 20000, buckets: 4096 });
  let n = 0;
  while (store.stats().bytesTail > 16384) store.set('m', `k${n}`, mixedValueFor('k', n++));
  for (let i = 0; i < n; i += 2) store.delete('m', `k${i}`);
  return { store, n };
}

function checkKept(store, n) {
  const v = store.verify();
  assert.ok(v.ok, v.errors.join('\n'));
  for (let i = 1; i < n; i += 2) assert.strictEqual(store.get('m', `k${i}`), mixedValueFor('k', i), `k${i}`);
}

describe('automatic compaction by ordinary writes', function () {
  this.timeout(60000);

  for (const engine of ['native', 'js']) {
    const other = engine === 'js' ? 'native' : 'js';

    it(`${engine}: sets alone defragment a fragmented store (the largest free block grows)`, () => {
      const { store, n } = fragmented(engine);
      try {
        const before = store.stats();
        assert.strictEqual(before.compactionSteps, 0);
        assert.ok(before.bytesFreeLists > before.bytesTail, JSON.stringify(before));
        // Overwrites of one key with a value of the same size: no allocation ever fails, so no
        // write compacts for want of room; only the fragmentation trigger can run steps.
        const sets = 200 * C.AUTO_COMPACT_EVERY;
        for (let i = 0; i < sets; i++) store.set('w', 'one', `v${i % 10}`);
        const after = store.stats();
        assert.ok(after.compactionSteps > 0 && after.compactionSteps <= sets / C.AUTO_COMPACT_EVERY, JSON.stringify(after));
        assert.ok(after.compactionMerged > 0, JSON.stringify(after));
        assert.ok(after.bytesLargestFree > 4 * before.bytesLargestFree, `${before.bytesLargestFree} -> ${after.bytesLargestFree}`);
        // The steps went on until the fragmentation was gone: a whole sweep by hand now finds no
        // more contiguous space to make.
        assert.strictEqual(store.compact().bytesLargestFree, after.bytesLargestFree);
        checkKept(store, n);
        const peer = Store.attach(store.buffer, { engine: other });
        checkKept(peer, n);
        peer.close();
      } finally {
        store.close();
      }
    });

    it(`${engine}: the trigger does not fire on a store that is not fragmented`, () => {
      // Plenty of space after the last block: churn of inserts, overwrites and deletes.
      const store = Store.create({ buffer: new SharedArrayBuffer(8 << 20), engine, maxEntries: 20000 });
      try {
        for (let i = 0; i < 100 * C.AUTO_COMPACT_EVERY; i++) {
          store.set('c', `k${i % 500}`, mixedValueFor('c', i));
          if (i % 3 === 0) store.delete('c', `k${(i * 7) % 500}`);
        }
        const st = store.stats();
        assert.strictEqual(st.compactionSteps, 0, JSON.stringify(st));
        assert.ok(store.verify().ok);
      } finally {
        store.close();
      }
    });

    it(`${engine}: the steps stop once what was freed has been merged (a second round of sets runs fewer)`, () => {
      const { store, n } = fragmented(engine);
      try {
        const sets = 400 * C.AUTO_COMPACT_EVERY;
        for (let i = 0; i < sets; i++) store.set('w', 'one', `v${i % 10}`);
        const first = store.stats().compactionSteps;
        for (let i = 0; i < sets; i++) store.set('w', 'one', `v${i % 10}`);
        const second = store.stats().compactionSteps - first;
        // Once everything that could be merged was merged, the hint falls below the trigger (or is
        // forgotten after a sweep that changed nothing): the second round runs fewer steps.
        assert.ok(second < first, `${first} then ${second}`);
        checkKept(store, n);
      } finally {
        store.close();
      }
    });

    it(`${engine}: a set that succeeded succeeds when its step meets an allocator lock a live holder keeps`, () => {
      // The step after a set is work nobody waits for: when the allocator lock stays held by a
      // live other process (lockTimeoutMs x 10), the step is left to a later set, and the set,
      // whose value is written, reports success.
      const store = Store.create({ buffer: new SharedArrayBuffer(1 << 21), engine, lockTimeoutMs: 10 });
      const u32 = new Uint32Array(store.buffer);
      try {
        // AUTO_COMPACT_EVERY - 1 sets, the last an overwrite, which leaves a parked block of its
        // class: the next overwrite needs no allocator lock (format.md §8, "Parked blocks").
        for (let i = 0; i < C.AUTO_COMPACT_EVERY - 2; i++) store.set('m', `k${i}`, 'v0');
        store.set('m', 'k0', 'v1');
        // Fragmented, by the hint: the next set looks at it and runs a step.
        u32[AT.ALLOC_STATE.FREED_UNITS] = 0xffffffff;
        const slot = 4000;
        ownAs(u32, slot, process.ppid); // a live process other than this one
        const free = u32[AT.ALLOC_STATE.LOCK];
        u32[AT.ALLOC_STATE.LOCK] = lockedBy(free, slot);
        try {
          store.set('m', 'k0', 'v2');
        } finally {
          u32[AT.ALLOC_STATE.LOCK] = free;
          freeOwner(u32, slot);
        }
        assert.strictEqual(store.get('m', 'k0'), 'v2');
        assert.strictEqual(store.stats().compactionSteps, 0, 'the step never took the allocator lock');
        const v = store.verify();
        assert.ok(v.ok, v.errors.join('\n'));
      } finally {
        store.close();
      }
    });
  }
});
