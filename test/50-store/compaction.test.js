'use strict';
// Compaction (format.md §8 "Compaction"): a write that finds no block for its entry or its large
// value, in a store where enough was freed since the last sweep, runs a bounded batch of
// compaction steps (no stop-the-world pass) that merge runs of adjacent free blocks into free
// large blocks, and then takes its block from one; a full store where nothing was freed refuses
// at once.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { largeValueFor, checkLargeValue } = require('../helpers/values');
const { inWorkerWithin } = require('../helpers/actors');

forEachEngine('compaction', ({ engine, make, other }) => {
  // Fills the store with entries of 100-byte values (9 units each) until it refuses one.
  const fill = (s, prefix) => {
    let n = 0;
    try {
      for (; ; n++) s.set('c', `${prefix}${n}`, 'v'.repeat(100));
    } catch (err) {
      assert.strictEqual(err.code, 'ERR_STORE_FULL');
    }
    return n;
  };

  it('freed blocks of a small class are coalesced and serve a larger entry and a large value', () => {
    const s = make({ size: 1 << 22, maxEntries: 100000 });
    const n = fill(s, 'k');
    assert.ok(n > 3000);
    const repairs = s.stats().repairs;
    // Nothing freed: a refused insert runs no pass.
    assert.throws(() => s.set('c', 'wide', 'w'.repeat(40000)), { code: 'ERR_STORE_FULL' });
    assert.strictEqual(s.stats().repairs, repairs);
    // Free 3000 adjacent entries (allocated one after the other): 27000 units in blocks of 9.
    for (let i = 0; i < 3000; i++) assert.ok(s.delete('c', `k${i}`));
    const steps = s.stats().compactionSteps;
    s.set('c', 'wide', 'w'.repeat(40000)); // 2503 units: class 2560, none on its list
    assert.strictEqual(s.stats().repairs, repairs, 'no stop-the-world pass');
    assert.ok(s.stats().compactionSteps > steps, 'compaction steps ran');
    const big = largeValueFor('c', 1, 200000); // a large block of 12502 units
    s.set('c', 'big', big);
    assert.strictEqual(s.get('c', 'wide'), 'w'.repeat(40000));
    assert.ok(s.get('c', 'big').equals(big));
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    const o = Store.attach(s.buffer, { engine: other });
    try {
      assert.ok(o.verify().ok);
      assert.ok(checkLargeValue(o.get('c', 'big')));
      assert.strictEqual(o.get('c', `k${n - 1}`), 'v'.repeat(100));
    } finally {
      o.close();
    }
  });

  it('freed large blocks next to each other are coalesced for a larger value', () => {
    const s = make({ size: 1 << 22, maxEntries: 100000 });
    // Two large values whose entries take their blocks from a small class list (filled first:
    // a 2-byte key and 6 value bytes take the class of an indirect entry with a 1-byte key, 3
    // units), so that their large blocks are adjacent.
    for (let i = 0; i < 4; i++) s.set('l', `s${i}`, 'x'.repeat(6));
    for (let i = 0; i < 4; i++) s.delete('l', `s${i}`);
    s.set('l', 'a', largeValueFor('l', 1, 1 << 20));
    s.set('l', 'b', largeValueFor('l', 2, 1 << 20));
    fill(s, 'f');
    s.delete('l', 'a');
    s.delete('l', 'b');
    // Neither freed block holds 1.5 MiB; together they do.
    const before = s.stats();
    assert.ok(before.bytesLargestFree < 3 << 19);
    const v15 = largeValueFor('l', 3, 3 << 19);
    s.set('l', 'c', v15);
    assert.ok(s.get('l', 'c').equals(v15));
    assert.strictEqual(s.stats().repairs, before.repairs, 'no stop-the-world pass');
    assert.ok(s.stats().compactionSteps > before.compactionSteps, 'compaction steps ran');
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
  });

  it('an evicting store that evicted large values coalesces their space for a larger one', () => {
    const s = make({ size: 1 << 22, eviction: 'auto', maxEntries: 1000 });
    // Values of growing sizes: the space of smaller evicted ones must be merged to fit.
    for (let i = 0; i < 30; i++) s.set('e', `k${i}`, largeValueFor('e', i, (1 << 19) + i * 30000));
    assert.ok(checkLargeValue(s.get('e', 'k29')));
    assert.ok(s.stats().namespaceStats.e.evictions > 0);
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
  });

  it('a large value no merge can make room for is refused in bounded time (obstacles between the free runs)', async () => {
    const s = make({ size: 1 << 22, maxEntries: 100000 });
    // A large block (never moved), its entry (one unit, of a class no hole has: not moved either)
    // and a 6 KB entry, again and again until the store is full.
    let n = 0;
    try {
      for (; ; n++) {
        s.set('o', `big${n}`, largeValueFor('o', n, 66000));
        s.set('o', `s${n}`, 'x'.repeat(6000));
      }
    } catch (err) {
      assert.strictEqual(err.code, 'ERR_STORE_FULL');
    }
    assert.ok(n > 40);
    for (let i = 0; i < n; i++) s.delete('o', `s${i}`);
    // More was freed than the value needs, but in blocks of 6 KB, each between two blocks in use:
    // no step merges or moves anything, and the freed units stay counted.
    const r = await inWorkerWithin(30000, engine, s.buffer, 'set', ['o', 'wide', largeValueFor('o', -1, 200000)]);
    assert.deepStrictEqual(r.error && r.error.code, 'ERR_STORE_FULL');
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    for (let i = 0; i < n; i++) assert.ok(checkLargeValue(s.get('o', `big${i}`)));
  });

  it('compact() runs the pass by hand: the largest free space grows, entries and verify() unchanged', () => {
    const s = make({ size: 1 << 22, maxEntries: 100000 });
    const n = fill(s, 'k');
    // The keys of whole refill batches (1, 2, 4, ... PARK_REFILL blocks, then PARK_REFILL at a
    // time, format.md §8): a batch is taken from adjacent blocks but used last block first, so
    // the first m keys' blocks are adjacent when m ends a batch.
    let m = 0;
    for (let b = 1; m + b <= 2000; b = Math.min(2 * b, C.PARK_REFILL)) m += b;
    for (let i = 0; i < m; i++) assert.ok(s.delete('c', `k${i}`));
    const before = s.stats();
    const r = s.compact();
    assert.strictEqual(r.bytesLargestFreeBefore, before.bytesLargestFree);
    // m adjacent blocks of 9 units (a key of at most 5 bytes and 100 value bytes: at most 133
    // bytes): one free block of m * 9 units now.
    assert.strictEqual(Math.ceil((C.ENTRY_HEADER_SIZE + 5 + 100) / C.BLOCK_UNIT), 9);
    const run = m * 9 * C.BLOCK_UNIT;
    assert.ok(before.bytesLargestFree < run && r.bytesLargestFree >= run, `${before.bytesLargestFree} -> ${r.bytesLargestFree}`);
    assert.strictEqual(r.bytesFree, before.bytesFree);
    assert.ok(r.ms >= 0);
    assert.strictEqual(s.count('c'), n - m);
    assert.strictEqual(s.get('c', `k${n - 1}`), 'v'.repeat(100));
    assert.ok(s.verify().ok);
    // Nothing more to merge: a second pass changes nothing.
    assert.strictEqual(s.compact().bytesLargestFree, r.bytesLargestFree);
    s.close();
    assert.throws(() => s.compact(), { code: 'ERR_CLOSED' });
  });
});
