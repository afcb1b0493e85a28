'use strict';
// store.compact({ maxBytes, maxMs }) (format.md §8 "Compaction"): bounded steps that move live
// entries out of a window into holes elsewhere and merge the window's free runs, with no
// stop-the-world pass; every entry keeps its value, verify() stays clean, and the other engine
// reads the result. Bad options are refused without changing anything.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C, W, AT, UNIT_WORDS, SIZE_CLASSES } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { mixedValueFor, largeValueFor, checkLargeValue } = require('../helpers/values');

const N = 2400;

forEachEngine('compaction steps', ({ make, other }) => {
  // Mixed sizes, then every other key deleted: holes of every class between live entries, no two
  // of them adjacent (nothing to merge without moving entries).
  const churned = () => {
    const s = make({ size: 4 << 20, maxEntries: 20000 });
    for (let i = 0; i < N; i++) s.set('m', `k${i}`, mixedValueFor('k', i));
    for (let i = 0; i < N; i += 2) s.delete('m', `k${i}`);
    // Fill the never-used tail with a large value, so that only merged space makes a long run.
    const tail = s.stats().bytesTail;
    if (tail > 70000) s.set('pad', 'tail', largeValueFor('pad', 0, tail - 40000));
    return s;
  };
  const checkAll = (s) => {
    assert.strictEqual(s.count('m'), N / 2);
    for (let i = 1; i < N; i += 2) assert.strictEqual(s.get('m', `k${i}`), mixedValueFor('k', i), `k${i}`);
    for (let i = 0; i < N; i += 2) assert.strictEqual(s.get('m', `k${i}`), undefined, `k${i}`);
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
  };

  it('bounded steps after churn move entries and grow the largest free run until a large value fits', () => {
    const s = churned();
    const before = s.stats();
    const need = 6 * 65536; // 393216 bytes: more than any free run holds now
    assert.ok(before.bytesLargestFree < need + 64, `largest ${before.bytesLargestFree}`);
    let moved = 0;
    let merged = 0;
    let calls = 0;
    for (; calls < 200; calls++) {
      const r = s.compact({ maxBytes: 65536 });
      // One window covers at most maxBytes beyond the block it starts with, plus its last block.
      assert.ok(r.steps >= 1 && r.movedBytes >= 0 && r.ms >= 0);
      moved += r.movedEntries;
      merged += r.mergedRuns;
      if (r.done) break;
    }
    assert.ok(calls < 200, 'a sweep completes');
    const after = s.stats();
    assert.strictEqual(after.repairs, before.repairs, 'no stop-the-world pass');
    assert.ok(moved > 0 && merged > 0, `moved ${moved}, merged ${merged}`);
    assert.strictEqual(after.compactionMoved - before.compactionMoved, moved);
    assert.ok(after.bytesLargestFree > before.bytesLargestFree, `${before.bytesLargestFree} -> ${after.bytesLargestFree}`);
    assert.strictEqual(after.bytesFree, before.bytesFree, 'moves take as much as they free');
    checkAll(s);
    // A large value that no free run could hold before fits now, without compacting in the set.
    if (after.bytesLargestFree >= need + 64) {
      const big = largeValueFor('big', 1, need);
      s.set('l', 'big', big);
      assert.strictEqual(s.stats().compactionSteps, after.compactionSteps);
      assert.ok(s.get('l', 'big').equals(big));
    } else {
      assert.fail(`the largest free run stayed below ${need + 64}: ${after.bytesLargestFree}`);
    }
    checkAll(s);
    const o = Store.attach(s.buffer, { engine: other });
    try {
      assert.ok(o.verify().ok);
      assert.ok(checkLargeValue(o.get('l', 'big')));
      for (let i = 1; i < N; i += 2) assert.strictEqual(o.get('m', `k${i}`), mixedValueFor('k', i));
    } finally {
      o.close();
    }
  });

  it('compact() without options sweeps the whole pool in steps; stats() shows the cursor and progress', () => {
    const s = churned();
    const before = s.stats();
    const r = s.compact();
    assert.strictEqual(r.done, true);
    // Each window covers COMPACT_STEP_UNITS units beyond the free block it starts with, or ends
    // the sweep: one sweep from firstUnit takes at most this many steps.
    const usedUnits = (before.bytesLive + before.bytesFreeLists) / C.BLOCK_UNIT;
    assert.ok(r.steps >= 2 && r.steps <= Math.ceil(usedUnits / C.COMPACT_STEP_UNITS) + 1, `${r.steps} steps`);
    assert.ok(r.movedEntries > 0 && r.movedBytes >= r.movedEntries * SIZE_CLASSES[0] * C.BLOCK_UNIT);
    assert.ok(r.bytesLargestFree > r.bytesLargestFreeBefore);
    const after = s.stats();
    assert.strictEqual(after.compactionSweeps, before.compactionSweeps + 1);
    assert.strictEqual(after.compactionSteps - before.compactionSteps, r.steps);
    assert.strictEqual(after.compactionMerged - before.compactionMerged, r.mergedRuns);
    assert.ok(after.compactionCursor * C.BLOCK_UNIT < after.bytesTotal);
    assert.strictEqual(after.repairs, before.repairs);
    checkAll(s);
    // The free lists stranded fewer bytes: fragmentation fell.
    assert.ok(after.fragmentation <= before.fragmentation, `${before.fragmentation} -> ${after.fragmentation}`);
  });

  it('maxMs: 0 runs exactly one step; a write that finds no room runs bounded steps, not a repair pass', () => {
    const s = churned();
    const r = s.compact({ maxMs: 0 });
    assert.strictEqual(r.steps, 1);
    // Fill what is left with entries of a class nobody freed, so that the writes need merged space.
    const before = s.stats();
    let n = 0;
    try {
      for (; n < 100000; n++) s.set('w', `x${n}`, 'w'.repeat(2000));
    } catch (err) {
      assert.strictEqual(err.code, 'ERR_STORE_FULL');
    }
    const after = s.stats();
    assert.ok(n * 2000 > before.bytesTail, 'freed space served the writes');
    assert.strictEqual(after.repairs, before.repairs, 'no stop-the-world pass');
    assert.ok(after.compactionSteps > before.compactionSteps);
    for (let i = 0; i < n; i++) assert.strictEqual(s.get('w', `x${i}`), 'w'.repeat(2000));
    checkAll(s);
  });

  it('refuses bad options with TypeError or RangeError and changes nothing', () => {
    const s = churned();
    const before = s.stats();
    const bad = [
      [1, TypeError], ['x', TypeError], [null, TypeError], [{ maxBytes: '64' }, TypeError], [{ maxMs: '1' }, TypeError],
      [{ maxBytes: 0 }, RangeError], [{ maxBytes: -1 }, RangeError], [{ maxBytes: 1.5 }, RangeError],
      [{ maxBytes: Infinity }, RangeError], [{ maxBytes: NaN }, RangeError], [{ maxMs: -1 }, RangeError],
      [{ maxMs: NaN }, RangeError],
    ];
    for (const [opts, type] of bad) assert.throws(() => s.compact(opts), type, JSON.stringify(opts));
    assert.throws(() => s.compact({ maxbytes: 1 }), /maxbytes/);
    const after = s.stats();
    assert.strictEqual(after.compactionSteps, before.compactionSteps);
    assert.strictEqual(after.compactionCursor, before.compactionCursor);
    checkAll(s);
  });
});

forEachEngine('free lists linked both ways', ({ make, other }) => {
  it('verify() reports a prev link that does not name the block before it; repair() relinks the list', () => {
    const s = make({ size: 1 << 22 });
    for (let i = 0; i < 8; i++) s.set('p', `k${i}`, 'v'.repeat(100));
    for (let i = 0; i < 8; i += 2) s.delete('p', `k${i}`); // four blocks on one class's list
    const u32 = new Uint32Array(s.buffer);
    // The class of a 2-byte key and a 100-byte value: the smallest that holds header, key and value.
    const cls = SIZE_CLASSES.findIndex((u) => u * C.BLOCK_UNIT >= C.ENTRY_HEADER_SIZE + 2 + 100);
    const head = u32[AT.ALLOC_STATE.FREE_HEADS + cls];
    const second = u32[head * UNIT_WORDS + W.ENTRY.NEXT];
    assert.ok(head !== 0 && second !== 0);
    assert.strictEqual(u32[head * UNIT_WORDS + W.FREE_BLOCK.PREV], 0);
    assert.strictEqual(u32[second * UNIT_WORDS + W.FREE_BLOCK.PREV], head);
    assert.ok(s.verify().ok);
    u32[second * UNIT_WORDS + W.FREE_BLOCK.PREV] = 0;
    for (const engine of [s, Store.attach(s.buffer, { engine: other })]) {
      const v = engine.verify();
      assert.deepStrictEqual(v.errors, [`free list ${cls}, block ${second}: prev does not name the block before it`]);
      if (engine !== s) engine.close();
    }
    s.repair();
    assert.ok(s.verify().ok);
    for (let i = 1; i < 8; i += 2) assert.strictEqual(s.get('p', `k${i}`), 'v'.repeat(100));
  });
});

// A step that takes the last window of a sweep, and, while it waits for a bucket lock, a step of
// another handle that starts the next sweep at firstUnit and merges a run reaching into the first
// step's window: the first step must then not merge (its walk is stale), and neither step may end
// in a repair pass. The interleaving is forced by a hook on the pure-JS engine's lock acquisition.
for (const second of ['js', 'native']) {
  describe(`compaction steps of two sweeps in flight at once [js, then ${second}]`, () => {
    it('the step of the old sweep does not merge over the new sweep\'s run: no repair pass, every entry intact', () => {
      const a = Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine: 'js' });
      const b = Store.attach(a.buffer, { engine: second });
      try {
        for (let i = 0; i < 10; i++) a.set('m', `k${i}`, 'v');
        for (const i of [0, 1, 7]) a.delete('m', `k${i}`); // k7's block is the hole k2 moves into
        const e = a._e;
        // Each entry (a 2-byte key, a 1-byte value) takes one block of this many units.
        const block = SIZE_CLASSES.find((u) => u * C.BLOCK_UNIT >= C.ENTRY_HEADER_SIZE + 2 + 1);
        Atomics.store(e.u32, AT.COMPACT_STATE.CURSOR, e.firstUnit + block); // k1's block
        const repairs = a.stats().repairs;
        const acquire = e.locks.acquire.bind(e.locks);
        let fired = false;
        e.locks.acquire = (w, ...rest) => {
          if (!fired && w !== AT.ALLOC_STATE.LOCK) { // the first bucket lock of the first step's moves
            fired = true;
            b.compact({ maxBytes: 2 * block * C.BLOCK_UNIT, maxMs: 0 }); // k0's and k1's blocks
          }
          return acquire(w, ...rest);
        };
        a.compact({ maxMs: 0 });
        assert.ok(fired, 'the second step ran in the middle of the first');
        assert.strictEqual(a.stats().repairs, repairs, 'no repair pass');
        for (let i = 0; i < 10; i++) assert.strictEqual(a.get('m', `k${i}`), [0, 1, 7].includes(i) ? undefined : 'v');
        const v = b.verify();
        assert.ok(v.ok, v.errors.join('\n'));
      } finally {
        b.close();
        a.close();
      }
    });
  });
}
