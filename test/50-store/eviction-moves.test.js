'use strict';
// Moves only go down (format.md §8, "Compaction" step 2, "Joined runs"): a compaction step moves an
// entry into a hole of its class or into a block carved from the head of free large space that
// lies wholly below it, a large value into free large space below it, and a write making room
// moves a pinned entry at its run's end to the head of its run or below the run. Live data slides
// down and free space gathers above it, so that pinned entries (and pinned large values) spread
// through a store no longer keep every free run shorter than a block the free space could hold,
// and pinned entries in a large value's way no longer make it evict several times its room.
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { C, CLASS_UNITS } = require('../../lib/layout/layout');
const { unitsForLarge } = require('../../lib/store/js/large');
const { classFor } = require('../../lib/store/js/alloc');
const { forEachEngine, assertSoundForBoth } = require('../helpers/engines');

const SMALL = 'v'.repeat(100);
const keyOf = (i) => `k${String(i).padStart(12, '0')}`;
const ENTRY_UNITS = CLASS_UNITS[classFor(C.ENTRY_HEADER_SIZE + keyOf(0).length + SMALL.length)];
// The 100-byte entries whose space a value of `bytes` needs.
const roomOf = (bytes) => Math.ceil(unitsForLarge(bytes) / ENTRY_UNITS);

// A full evicting store of `mib` MiB of 100-byte entries, entry i in namespace 'pinned' (not
// evictable) when pinned(i), else in 'c'; returns it and the number of keys set.
function fullWithPinned(make, mib, pinned) {
  const s = make({ size: mib << 20, maxEntries: 200000, eviction: 'auto' });
  s.namespace('pinned', { eviction: 'none' });
  let n = 0;
  while (s.stats().entries === n) {
    s.set(pinned(n) ? 'pinned' : 'c', keyOf(n), SMALL);
    n++;
  }
  return { s, n };
}

function assertPinnedWhole(s, n, pinned) {
  for (let i = 0; i < n; i++) if (pinned(i)) assert.strictEqual(s.get('pinned', keyOf(i)), SMALL, keyOf(i));
}

forEachEngine('moves only go down: a large value among pinned entries', ({ make, other }) => {
  // Before, a pinned entry at the end of a write's run ended the run: its blocks stayed apart and
  // the write went on to evict elsewhere. With every 50th entry pinned a 1 MiB value evicted
  // 34,917 entries for the room of 7,282 (4.8 times), with every 10th 29,128 (4.0 times); a 4 MiB
  // value with every 7th pinned 42,087 for the room of 29,128 (1.44 times). Now each pinned entry
  // there moves to the run's head and the run goes on: all three evict exactly their room (7,283
  // and 29,128 measured).
  for (const [mib, every, value, bound] of [[8, 50, 1 << 20, 1.5], [8, 10, 1 << 20, 1.5], [8, 7, 4 << 20, 1.2]]) {
    it(`a ${value >> 20} MiB value in a full ${mib} MiB store with every ${every}th entry pinned is stored and evicts at most ${bound} times its room`, function () {
      this.timeout(30000); // filling a store with the pure-JS engine on a loaded machine
      const pinned = (i) => i % every === 0;
      const { s, n } = fullWithPinned(make, mib, pinned);
      const before = s.stats().namespaceStats.c.evictions;
      const big = Buffer.alloc(value, 5);
      s.set('c', 'big', big);
      assert.ok(s.get('c', 'big').equals(big));
      const evicted = s.stats().namespaceStats.c.evictions - before;
      const room = roomOf(value);
      assert.ok(evicted >= room, `${evicted} evicted for the room of ${room}`);
      assert.ok(evicted <= Math.ceil(bound * room), `${evicted} evicted for the room of ${room}`);
      assertPinnedWhole(s, n, pinned);
      assertSoundForBoth(s, other);
    });
  }
});

forEachEngine('moves only go down: two large writers among pinned entries', ({ engine, make, other }) => {
  // Two handles, each in its own thread, set a 1 MiB value at once into a full 8 MiB store with
  // every 5th entry pinned (the values pinned too, so that neither write evicts the other's):
  // their evictions and moves interleave (each may carve the other's run).
  // Moves whose destinations were carved from the tail of the free block a broken run left piled
  // the moved entries into a wall between two free regions, and both writers were refused in 3 of
  // 7 runs.
  const WORKER = `
    const { workerData, parentPort } = require('worker_threads');
    const { Store } = require(workerData.lib);
    const s = Store.attach(workerData.buffer, { engine: workerData.engine });
    const go = new Int32Array(workerData.go);
    Atomics.add(go, 0, 1);
    while (Atomics.load(go, 0) < 2);
    let error = null;
    try {
      s.set('pinned', workerData.key, Buffer.alloc(1 << 20, workerData.key.length));
    } catch (err) {
      error = err.code || String(err);
    }
    s.close();
    parentPort.postMessage(error);
  `;
  const lib = path.join(__dirname, '..', '..', 'lib', 'store', 'store');
  const run = (buffer, key, go) => new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: { lib, buffer, engine, key, go } });
    w.once('message', resolve);
    w.once('error', reject);
  });
  it('both values are stored, over several layouts, every pinned entry whole', async function () {
    this.timeout(120000);
    for (let seed = 0; seed < 5; seed++) {
      const pinned = (i) => i % 5 === seed;
      const { s, n } = fullWithPinned(make, 8, pinned);
      const go = new SharedArrayBuffer(4);
      const errors = await Promise.all([run(s.buffer, 'one', go), run(s.buffer, 'other', go)]);
      assert.deepStrictEqual(errors, [null, null], `layout ${seed}`);
      assert.ok(s.get('pinned', 'one')?.equals(Buffer.alloc(1 << 20, 3)), `layout ${seed}`);
      assert.ok(s.get('pinned', 'other')?.equals(Buffer.alloc(1 << 20, 5)), `layout ${seed}`);
      assertPinnedWhole(s, n, pinned);
      assertSoundForBoth(s, other);
      s.close();
    }
  });
});

forEachEngine('moves only go down: free space between pinned entries comes together', ({ make, other }) => {
  // 100-byte entries, each followed by a 70,000-byte value; then three values in four deleted.
  // The free space (5.3 MB) lies in blocks of 70 KB with a live entry between each two, and no
  // free block of an entry's class anywhere. Before, a compaction move only filled a hole of the
  // entry's class: nothing moved, a 1 MiB set was refused, and so it was after four calls of
  // compact(). Now the entries go down into free space carved below them, the values that are left
  // into free space below them once it is large enough, and the free blocks above merge.
  const layout = (make) => {
    const s = make({ size: 8 << 20, maxEntries: 200000 });
    let n = 0;
    try {
      for (;; n++) {
        s.set('p', `s${n}`, SMALL);
        s.set('b', `b${n}`, Buffer.alloc(70000, n & 255));
      }
    } catch (err) {
      if (err.code !== 'ERR_STORE_FULL') throw err;
    }
    for (let i = 0; i < n; i++) if (i % 4 !== 0) s.delete('b', `b${i}`);
    const st = s.stats();
    assert.ok(st.bytesLargestFree < 80000 && st.bytesFree > 4 << 20, `${st.bytesLargestFree} of ${st.bytesFree}`);
    return { s, n };
  };
  const assertWhole = (s, n) => {
    for (let i = 0; i < n; i++) {
      assert.strictEqual(s.get('p', `s${i}`), SMALL, `s${i}`);
      if (i % 4 === 0) assert.strictEqual(s.get('b', `b${i}`)?.length, 70000, `b${i}`);
      else assert.strictEqual(s.get('b', `b${i}`), undefined, `b${i}`);
    }
  };

  it('a 1 MiB set is stored by the compaction steps it runs itself', function () {
    this.timeout(30000);
    const { s, n } = layout(make);
    const big = Buffer.alloc(1 << 20, 3);
    s.set('x', 'big', big);
    assert.ok(s.get('x', 'big').equals(big));
    assertWhole(s, n);
    assertSoundForBoth(s, other);
  });

  it('compact() brings a free run of 1 MiB together within two sweeps', function () {
    this.timeout(30000);
    const { s, n } = layout(make);
    const free = s.stats().bytesFree;
    for (let k = 0; k < 2 && s.stats().bytesLargestFree < (1 << 20) + 64; k++) s.compact();
    assert.ok(s.stats().bytesLargestFree >= (1 << 20) + 64, `largest ${s.stats().bytesLargestFree}`);
    assert.strictEqual(s.stats().bytesFree, free, 'moves take as much as they free');
    const steps = s.stats().compactionSteps;
    s.set('x', 'big', Buffer.alloc(1 << 20, 4));
    assert.strictEqual(s.stats().compactionSteps, steps, 'the set ran no step');
    assertWhole(s, n);
    assertSoundForBoth(s, other);
  });
});
