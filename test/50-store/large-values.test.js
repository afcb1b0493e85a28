'use strict';
// Values longer than 65535 bytes, up to 64 MiB (format.md §8, "Large values"): held in a large
// block the entry refers to, in both engines and across them; the boundary, overwrites between
// inline and indirect values, the block freed and reused, a store too full, eviction making room,
// and damage that verify() reports and repair() removes.
const assert = require('assert');
const { Store } = require('../../lib/store/store');
const { C, W, AT, BASE, UNIT_WORDS, SIZE_CLASSES } = require('../../lib/layout/layout');
const { forEachEngine, assertSoundForBoth } = require('../helpers/engines');
const { largeValueFor, checkLargeValue } = require('../helpers/values');

const units = (bytes) => Math.ceil(bytes / C.BLOCK_UNIT);

// The owner slot the handle attached last by this process holds: slots are claimed lowest free
// first, so it is the highest one naming this process.
function lastSlot(u32) {
  let slot = 0;
  for (let o = 1; o < C.OWNER_SLOTS; o++) {
    if (u32[BASE.OWNER + o * W.OWNER.WORDS + W.OWNER.PID] === process.pid) slot = o;
  }
  return slot;
}

forEachEngine('large values', ({ make, other }) => {
  it('a value of 64 MiB round-trips and the other engine reads it', function () {
    this.timeout(120000);
    const s = make({ size: C.MAX_VALUE_BYTES + (1 << 20), maxEntries: 100 });
    const v = largeValueFor('max', 1, C.MAX_VALUE_BYTES);
    s.set('big', 'max', v);
    const got = s.get('big', 'max');
    assert.strictEqual(got.length, C.MAX_VALUE_BYTES);
    assert.ok(got.equals(v));
    const o = Store.attach(s.buffer, { engine: other });
    try {
      assert.ok(o.get('big', 'max').equals(v));
      assert.strictEqual(s.stats().namespaceStats.big.bytes, 3 + C.MAX_VALUE_BYTES);
    } finally {
      o.close();
    }
    assert.ok(s.verify().ok);
    assert.throws(() => s.set('big', 'max', Buffer.alloc(C.MAX_VALUE_BYTES + 1)),
      { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.ok(s.get('big', 'max').equals(v), 'a refused set changes nothing');
  });

  it('stores 65535 bytes in the entry and 65536 in a large block', () => {
    const s = make();
    s.set('b', 'k', Buffer.alloc(65535, 1));
    // One entry of 28 + 1 + 65535 bytes: 4098 units, in the largest class (5120 units).
    assert.strictEqual(s.verify().liveUnits, SIZE_CLASSES[SIZE_CLASSES.length - 1]);
    assert.ok(SIZE_CLASSES[SIZE_CLASSES.length - 2] < units(C.ENTRY_HEADER_SIZE + 1 + 65535));
    s.set('b', 'k', Buffer.alloc(65536, 2));
    // An entry of 28 + 1 + 8 bytes (3 units) and a large block of 32 + 65536 bytes (4098 units).
    assert.strictEqual(s.verify().liveUnits, units(C.ENTRY_HEADER_SIZE + 1 + 8) + units(32 + 65536));
    assert.ok(s.get('b', 'k').equals(Buffer.alloc(65536, 2)));
    const o = Store.attach(s.buffer, { engine: other });
    try {
      assert.ok(o.get('b', 'k').equals(Buffer.alloc(65536, 2)));
    } finally {
      o.close();
    }
  });

  it('overwrites between inline and large values free the large block, and a later value reuses it', () => {
    const s = make({ size: 1 << 23 });
    const big = largeValueFor('a', 1, 200000);
    s.set('n', 'k', big);
    s.set('n', 'k', 'small');
    const tail = s.stats().bytesTail;
    let v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    assert.ok(v.freeUnits >= units(32 + 200000), `${v.freeUnits} free units`);
    assert.strictEqual(s.get('n', 'k'), 'small');
    // The freed large block serves the next large value (split if larger than needed).
    s.set('n', 'k', largeValueFor('a', 2, 150000));
    assert.strictEqual(s.stats().bytesTail, tail, 'no new space taken from the tail');
    assert.ok(checkLargeValue(s.get('n', 'k')));
    s.set('n', 'k2', largeValueFor('a', 3, 40000)); // inline, beside it
    assert.ok(s.delete('n', 'k'));
    v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    assert.strictEqual(s.get('n', 'k'), undefined);
    assert.ok(checkLargeValue(s.get('n', 'k2')));
    assert.strictEqual(s.stats().namespaceStats.n.bytes, 2 + 40000);
  });

  it('large strings and JSON values, and every read path, return the value', () => {
    const s = make({ size: 1 << 23 });
    const str = 'ünïcödé ✓ '.repeat(20000); // about 260 KB of UTF-8
    const obj = { list: Array.from({ length: 20000 }, (_, i) => i), text: 'x'.repeat(70000) };
    s.set('m', 'str', str);
    s.set('m', 'obj', obj);
    s.set('m', 'bin', largeValueFor('b', 1, 100000));
    s.set('m', 'small', 1);
    assert.strictEqual(s.get('m', 'str'), str);
    assert.deepStrictEqual(s.get('m', 'obj'), obj);
    assert.ok(s.has('m', 'bin'));
    const many = s.getMany('m', ['str', 'obj', 'bin', 'none']);
    assert.strictEqual(many[0], str);
    assert.deepStrictEqual(many[1], obj);
    assert.ok(checkLargeValue(many[2]));
    assert.strictEqual(many[3], undefined);
    const entries = new Map(s.entries('m'));
    assert.strictEqual(entries.get('str'), str);
    assert.deepStrictEqual(entries.get('obj'), obj);
    assert.ok(checkLargeValue(entries.get('bin')));
    assert.deepStrictEqual(s.keys('m').sort(), ['bin', 'obj', 'small', 'str']);
    assert.strictEqual(s.clear('m'), 4);
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    assert.strictEqual(v.liveUnits, 0);
  });

  it('the space a large value freed serves entries of every size class once the tail is used up', () => {
    const s = make({ size: 1 << 22, maxEntries: 100000 });
    s.set('c', 'big', largeValueFor('c', 1, 2 << 20));
    const fill = (prefix) => {
      let n = 0;
      try {
        for (; ; n++) s.set('c', `${prefix}${n}`, 'v'.repeat(20 + (n % 7) * 150)); // 3 to 60 units
      } catch (err) {
        assert.strictEqual(err.code, 'ERR_STORE_FULL');
      }
      return n;
    };
    // The largest block one of these takes: a key of at most 8 bytes and 920 value bytes.
    const most = SIZE_CLASSES.find((u) => u * C.BLOCK_UNIT >= C.ENTRY_HEADER_SIZE + 8 + 20 + 6 * 150);
    const before = fill('a');
    assert.ok(before > 100);
    assert.ok(s.stats().bytesLargestFree < most * C.BLOCK_UNIT, 'the tail is used up');
    assert.ok(s.delete('c', 'big'));
    // stats(): the freed large block is the largest free space.
    const st = s.stats();
    assert.strictEqual(st.bytesLargestFree, units(32 + (2 << 20)) * C.BLOCK_UNIT);
    assert.ok(st.bytesFreeLists >= st.bytesLargestFree);
    // The tail is used up: every one of these is carved from the freed large block.
    const after = fill('b');
    const bigUnits = units(32 + (2 << 20));
    // Blocks of at most `most` units, split off until no free large block holds the next one.
    assert.ok(after * most >= bigUnits - most, `${after} entries in ${bigUnits} freed units`);
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    assert.ok(v.freeUnits < most + before, `${v.freeUnits} units left free`);
    const o = Store.attach(s.buffer, { engine: other });
    try {
      assert.ok(o.verify().ok);
      assert.strictEqual(o.get('c', `b${after - 1}`), 'v'.repeat(20 + ((after - 1) % 7) * 150));
    } finally {
      o.close();
    }
  });

  it('a store without room refuses a large value with ERR_STORE_FULL and stays unchanged', () => {
    const s = make({ size: 1 << 22 });
    s.set('f', 'a', largeValueFor('f', 1, 3 << 20));
    assert.throws(() => s.set('f', 'b', largeValueFor('f', 2, 3 << 20)), { code: 'ERR_STORE_FULL' });
    assert.throws(() => s.set('f', 'a', largeValueFor('f', 3, 3 << 20)), { code: 'ERR_STORE_FULL' });
    assert.strictEqual(s.get('f', 'b'), undefined);
    assert.ok(checkLargeValue(s.get('f', 'a')));
    assert.strictEqual(s.count('f'), 1);
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    assert.strictEqual(v.leakedUnits, 0);
  });

  it('an evicting store evicts entries to make room for a large value', () => {
    const s = make({ size: 1 << 22, eviction: 'auto' });
    for (let i = 0; i < 40; i++) s.set('e', `k${i}`, largeValueFor('e', i, 600000));
    assert.ok(checkLargeValue(s.get('e', 'k39')));
    assert.ok(s.count('e') < 40 && s.count('e') >= 1);
    assert.ok(s.stats().namespaceStats.e.evictions >= 34);
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
  });

  it('verify() counts a large block being written as in use, and repairs first when its writer is gone', () => {
    const s = make();
    s.set('w', 'k', largeValueFor('w', 1, 100000));
    s.delete('w', 'k');
    // The freed large block is the only one on the large list: make it look allocated by a
    // writer that has not linked it yet (format.md §8, "Writing a large value").
    const u32 = new Uint32Array(s.buffer);
    const lu = u32[AT.ALLOC_STATE.LARGE_HEAD];
    assert.ok(lu > 0);
    assert.strictEqual(u32[lu * UNIT_WORDS + W.LARGE_BLOCK.NEXT], 0);
    const size = u32[lu * UNIT_WORDS + W.LARGE_BLOCK.UNITS];
    u32[AT.ALLOC_STATE.LARGE_HEAD] = 0;
    u32[AT.ALLOC_STATE.LISTED_UNITS] -= size; // as an allocation takes it off the count
    u32[lu * UNIT_WORDS + W.LARGE_BLOCK.FLAGS] = C.LARGE_CLASS << C.FLAG_CLASS_SHIFT;
    // A writer that is this process's own live handle: in flight, not leaked.
    const own = Store.attach(s.buffer, { engine: other });
    try {
      u32[lu * UNIT_WORDS + W.LARGE_BLOCK.WRITER] = lastSlot(u32);
      const v = s.verify();
      assert.ok(v.ok, v.errors.join('\n'));
      assert.strictEqual(v.liveUnits, size);
      assert.strictEqual(s.stats().repairs, 0);
    } finally {
      own.close();
    }
    // Its writer gone (the slot released): verify() repairs first, which frees the block.
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    assert.strictEqual(v.liveUnits, 0);
    assert.ok(v.freeUnits >= size);
    assert.strictEqual(s.stats().repairs, 1);
    assert.strictEqual(u32[AT.ALLOC_STATE.LARGE_HEAD], lu);
  });

  it('verify() reports a damaged large value, and a repair pass removes its entry', () => {
    const s = make();
    const val = largeValueFor('damaged', 7, 100000);
    s.set('d', 'k', val);
    s.set('d', 'ok', 'fine');
    // The large value is the only copy of these bytes in the store: damage its middle.
    const bytes = new Uint8Array(s.buffer);
    const at = Buffer.from(bytes.buffer, 0, bytes.length).indexOf(val.subarray(0, 64));
    assert.ok(at > 0);
    bytes[at + 50000] ^= 0xff;
    const v = s.verify();
    assert.strictEqual(v.ok, false);
    assert.ok(v.errors.some((e) => e.endsWith('has a large value with a wrong checksum')), v.errors.join('\n'));
    const o = Store.attach(s.buffer, { engine: other });
    try {
      assert.deepStrictEqual(o.verify().errors, v.errors, 'both engines report it alike');
    } finally {
      o.close();
    }
    s.repair();
    const after = s.verify();
    assert.ok(after.ok, after.errors.join('\n'));
    assert.strictEqual(s.get('d', 'k'), undefined);
    assert.strictEqual(s.get('d', 'ok'), 'fine');
    assert.strictEqual(s.count('d'), 1);
  });
});

// A writer fills its large block before it takes the bucket lock (format.md §8, "Writing a large
// value"). A repair pass run meanwhile (by any handle, for any reason) must not hand that block
// to another writer while the first one still writes into it. The JS engine's writer is
// interrupted as it starts to write its string value, while a handle of each engine repairs and
// stores a large value of its own.
describe('large values: a repair pass while a writer fills its large block [js engine writer]', () => {
  const { Buffer } = require('buffer');
  for (const engine of ['native', 'js']) {
    it(`keeps the value a ${engine} handle stored meanwhile, and the writer's`, () => {
      const s = Store.create({ buffer: new SharedArrayBuffer(1 << 22), engine: 'js', maxEntries: 100 });
      const o = Store.attach(s.buffer, { engine });
      const n = C.MAX_INLINE_VALUE_BYTES + 1000;
      const mine = 'a'.repeat(n);
      const theirs = 'b'.repeat(n);
      const original = Buffer.prototype.utf8Write;
      let interleaved = false;
      try {
        s.set('big', 'warm', 1); // the namespace exists: the set below goes straight to its value
        Buffer.prototype.utf8Write = function (str, ...rest) {
          if (!interleaved && str === mine) {
            interleaved = true;
            o.repair();
            o.set('big', 'theirs', theirs);
          }
          return original.call(this, str, ...rest);
        };
        s.set('big', 'mine', mine);
        Buffer.prototype.utf8Write = original;
        assert.ok(interleaved, 'the writer was interrupted');
        assert.ok(o.get('big', 'theirs') === theirs, 'the other handle\'s acknowledged write is kept');
        assert.ok(s.get('big', 'mine') === mine, 'the writer\'s value');
        assert.ok(s.get('big', 'theirs') === theirs);
        const v = s.verify();
        assert.ok(v.ok, v.errors.join('\n'));
      } finally {
        Buffer.prototype.utf8Write = original;
        o.close();
        s.close();
      }
    });
  }
});

// A repair pass that cuts holes of damaged units (format.md §9, step 3) must not free a large
// block a live writer other than the repairer is still filling, wherever the damage lies: a hole
// that starts in front of the block ends at it, and the block itself is a block start even when
// a unit inside it looks like an entry a chain names (stale bytes its writer has not overwritten
// yet). Freed, its units could go to another writer while the first one's copy still runs, and
// that copy would overwrite the other's acknowledged value. The JS engine's writer is
// interrupted as it starts to copy its string value; meanwhile a handle of the engine under test
// damages the pool, repairs, and stores a large value of the same size.
forEachEngine('large values: a repair pass that cuts holes while a writer fills its large block', ({ make }) => {
  const { Buffer } = require('buffer');
  const { blocksOf, chain, entryWord } = require('../helpers/store-bytes');
  const LB = W.LARGE_BLOCK;
  const n = C.MAX_INLINE_VALUE_BYTES + 1000;
  const mine = 'a'.repeat(n);
  const theirs = 'b'.repeat(n);
  const blockUnits = units(C.LARGE_HEADER_SIZE + n);

  // Runs the writer's set with `during(u32, lu, writerSlot)` run as its copy starts (lu: its
  // block), then checks both values and verify().
  function interleave(damage) {
    const s = make({ maxEntries: 100, buckets: 1 });
    s.set('big', 'warm', 1); // the namespace exists: the writer's set goes straight to its value
    s.set('big', 'x', 'victim');
    const w = Store.attach(s.buffer, { engine: 'js' });
    const u32 = new Uint32Array(s.buffer);
    const slot = lastSlot(u32);
    const original = Buffer.prototype.utf8Write;
    let interleaved = false;
    try {
      Buffer.prototype.utf8Write = function (str, offset, ...rest) {
        if (!interleaved && str === mine) {
          interleaved = true;
          const lu = (offset - C.LARGE_HEADER_SIZE) / C.BLOCK_UNIT;
          assert.strictEqual(u32[lu * UNIT_WORDS + LB.WRITER], slot, 'the writer\'s block');
          damage(u32, lu);
          s.repair();
          // The block is still the writer's: a block start, in use, naming it, on no list.
          assert.ok(blocksOf(s.buffer).includes(lu), 'the writer\'s block is a block start');
          assert.strictEqual(u32[lu * UNIT_WORDS + LB.FLAGS], C.LARGE_CLASS << C.FLAG_CLASS_SHIFT);
          assert.strictEqual(u32[lu * UNIT_WORDS + LB.UNITS], blockUnits);
          assert.strictEqual(u32[lu * UNIT_WORDS + LB.WRITER], slot);
          for (let f = u32[AT.ALLOC_STATE.LARGE_HEAD]; f !== 0; f = u32[f * UNIT_WORDS + LB.NEXT]) {
            assert.ok(f + u32[f * UNIT_WORDS + LB.UNITS] <= lu || f >= lu + blockUnits, `free block ${f} overlaps the writer's`);
          }
          s.set('big', 'theirs', theirs);
          // Its block (the entry just inserted heads the one chain) lies outside the writer's.
          const t = chain(u32)[0];
          const tu = Buffer.from(u32.buffer).readUInt32LE(t * C.BLOCK_UNIT + C.ENTRY_HEADER_SIZE + 'theirs'.length);
          assert.ok(tu + blockUnits <= lu || tu >= lu + blockUnits, `their block ${tu} overlaps the writer's ${lu}`);
        }
        return original.call(this, str, offset, ...rest);
      };
      w.set('big', 'mine', mine);
      Buffer.prototype.utf8Write = original;
      assert.ok(interleaved, 'the writer was interrupted');
      assert.ok(s.get('big', 'theirs') === theirs, 'the other handle\'s acknowledged write is kept');
      assert.ok(w.get('big', 'mine') === mine, 'the writer\'s value');
      assert.ok(w.get('big', 'theirs') === theirs);
      assert.ok(s.get('big', 'mine') === mine);
      assertSoundForBoth(s, 'js');
    } finally {
      Buffer.prototype.utf8Write = original;
      w.close();
    }
  }

  it('a hole cut in front of the block ends at it', () => {
    interleave((u32, lu) => {
      // The block before the writer's gets an invalid size class: the hole starts there, and no
      // entry a chain names follows it.
      const starts = blocksOf(u32.buffer);
      const before = starts[starts.indexOf(lu) - 1];
      u32[entryWord(before, W.ENTRY.FLAGS)] |= C.FLAG_CLASS_MASK << C.FLAG_CLASS_SHIFT;
    });
  });

  it('an entry a damaged link names inside the block does not make it damage', () => {
    interleave((u32, lu) => {
      // A copy of the entry 'x' inside the block (stale bytes the writer's copy has not reached
      // yet), which the chain names after 'x' in place of its real next.
      const [x] = chain(u32).filter((u) => u32[entryWord(u, W.ENTRY.KEY_HASH)] !== 0 &&
        Buffer.from(u32.buffer, u * C.BLOCK_UNIT + C.ENTRY_HEADER_SIZE, 1).toString() === 'x');
      const inside = lu + (blockUnits >>> 1);
      const cls = (u32[entryWord(x, W.ENTRY.FLAGS)] >>> C.FLAG_CLASS_SHIFT) & C.FLAG_CLASS_MASK;
      new Uint8Array(u32.buffer).copyWithin(inside * C.BLOCK_UNIT, x * C.BLOCK_UNIT, (x + SIZE_CLASSES[cls]) * C.BLOCK_UNIT);
      u32[entryWord(inside, W.ENTRY.NEXT)] = 0;
      u32[entryWord(x, W.ENTRY.NEXT)] = inside;
    });
  });
});

// A writer whose own handle's repair pass freed its large block (writer = 0), and which then
// allocated the same unit again for something else (a compaction move whose block it could not
// give back), finds that block named by it again: its keyHash and valueChecksum tell it is not
// the block of the first claim (format.md §8, "Writing a large value"). As the native engine's
// StoreAlloc.ABlockAllocatedAgainAtTheSameUnitIsNotTheFirstClaims.
describe('large values: a block allocated again at the same unit after the writer\'s own pass [js engine]', () => {
  const alloc = require('../../lib/store/js/alloc');
  const LB = W.LARGE_BLOCK;
  it('is not the first claim\'s', () => {
    const s = Store.create({ buffer: new SharedArrayBuffer(1 << 22), engine: 'js', maxEntries: 100 });
    try {
      const e = s._e;
      const u32 = new Uint32Array(s.buffer);
      const size = units(C.LARGE_HEADER_SIZE + 70000);
      const first = { gc: 0, keyHash: 0, sum: 0 };
      const u = alloc.allocLarge(e, size, first);
      assert.ok(u > 0);
      u32[u * UNIT_WORDS + LB.KEY_HASH] = first.keyHash = 0x1234;
      u32[u * UNIT_WORDS + LB.VALUE_CHECKSUM] = first.sum = 0x5678;
      s.repair();
      assert.strictEqual(u32[u * UNIT_WORDS + LB.WRITER], 0);
      assert.strictEqual(alloc.largeHeld(e, u, first), false);
      const second = { gc: 0, keyHash: 0, sum: 0 };
      assert.strictEqual(alloc.allocLarge(e, size, second), u);
      assert.strictEqual(alloc.largeHeld(e, u, second), true);
      u32[u * UNIT_WORDS + LB.KEY_HASH] = second.keyHash = 0x4321;
      u32[u * UNIT_WORDS + LB.VALUE_CHECKSUM] = second.sum = 0x8765;
      assert.strictEqual(alloc.largeHeld(e, u, first), false);
      assert.strictEqual(alloc.largeHeld(e, u, second), true);
      alloc.freeUnlinkedLarge(e, u, first);
      assert.strictEqual(u32[u * UNIT_WORDS + LB.FLAGS], C.LARGE_CLASS << C.FLAG_CLASS_SHIFT, 'not the first claim\'s to free');
      alloc.freeUnlinkedLarge(e, u, second);
      assert.strictEqual(u32[u * UNIT_WORDS + LB.FLAGS], (C.FLAG_FREE | (C.LARGE_CLASS << C.FLAG_CLASS_SHIFT)) >>> 0);
      const v = s.verify();
      assert.ok(v.ok, v.errors.join('\n'));
    } finally {
      s.close();
    }
  });
});

// A writer that gives up a large block it has not linked and cannot take the allocator lock to
// free it gives the block up, writer = 0 (format.md §8, "Writing a large value"): a later repair
// pass run by another handle frees it, instead of keeping it in flight for as long as the
// writer's handle lives. As the native engine's
// StoreAlloc.ALargeBlockNotFreedForAGoneAllocatorHolderIsFreedByAnyHandlesRepairPass.
describe('large values: a block its writer could not free for the allocator lock [js engine]', () => {
  const alloc = require('../../lib/store/js/alloc');
  const { lockedBy, ownAs } = require('../helpers/store-bytes');
  const LB = W.LARGE_BLOCK;
  // An owner slot no handle of these tests takes.
  const PASS_SLOT = 4000;
  // After a repair pass of `store`: the large block at unit `u` is free, first on the list of
  // free large blocks, and the store verifies clean.
  function assertFreedByThePass(u32, store, u) {
    assert.strictEqual(u32[u * UNIT_WORDS + LB.FLAGS], (C.FLAG_FREE | (C.LARGE_CLASS << C.FLAG_CLASS_SHIFT)) >>> 0);
    assert.strictEqual(u32[AT.ALLOC_STATE.LARGE_HEAD], u);
    const v = store.verify();
    assert.ok(v.ok, v.errors.join('\n'));
  }
  it('is given up, and another handle\'s repair pass frees it', () => {
    const s = Store.create({ buffer: new SharedArrayBuffer(1 << 22), engine: 'js', lockTimeoutMs: 20 });
    const o = Store.attach(s.buffer, { engine: 'js' });
    try {
      const e = s._e;
      const u32 = new Uint32Array(s.buffer);
      const claim = { gc: 0, keyHash: 0, sum: 0 };
      const u = alloc.allocLarge(e, units(C.LARGE_HEADER_SIZE + 70000), claim);
      assert.ok(u > 0);
      assert.strictEqual(u32[u * UNIT_WORDS + LB.WRITER], e.locks.slot);
      // Held by a slot no owner holds (released): gone, and not for this writer to take over.
      const free = u32[AT.ALLOC_STATE.LOCK];
      u32[AT.ALLOC_STATE.LOCK] = lockedBy(free, C.OWNER_SLOTS - 1);
      alloc.freeUnlinkedLarge(e, u, claim);
      assert.strictEqual(u32[u * UNIT_WORDS + LB.WRITER], 0, 'given up');
      o.repair();
      assertFreedByThePass(u32, o, u);
    } finally {
      o.close();
      s.close();
    }
  });

  // A block one count behind is its writer's only while the pass that cut has not completed
  // (cutGc is still gcCounter): once it did, the block may be one it cut without seeing. As the
  // native engine's StoreAlloc.ALargeBlockOneCutBehindAfterTheCuttingPassCompletedIsNotHeld.
  it('one count behind is not held once the pass that cut completed, nor two counts behind', () => {
    const s = Store.create({ buffer: new SharedArrayBuffer(1 << 22), engine: 'js' });
    const o = Store.attach(s.buffer, { engine: 'js' });
    try {
      const e = s._e;
      const u32 = new Uint32Array(s.buffer);
      const claim = { gc: 0, keyHash: 0, sum: 0 };
      const u = alloc.allocLarge(e, units(C.LARGE_HEADER_SIZE + 70000), claim);
      o.repair();
      const gc = u32[AT.HEADER.GC_COUNTER];
      u32[AT.REPAIR_STATE.CUT_GC] = gc - 1;
      u32[AT.REPAIR_STATE.CUTS]++;
      assert.strictEqual(alloc.largeHeld(e, u, claim), false);
      u32[AT.REPAIR_STATE.CUT_GC] = gc;
      assert.strictEqual(alloc.largeHeld(e, u, claim), true);
      u32[AT.REPAIR_STATE.CUTS]++;
      assert.strictEqual(alloc.largeHeld(e, u, claim), false);
    } finally {
      o.close();
      s.close();
    }
  });

  // The allocator lock held by a live pass that cut (step 3: cuts moved, cutGc = gcCounter) and
  // has not stamped the blocks it keeps (step 5), after another pass completed since the writer
  // read gcCounter and stamped its block: the block is one count behind, and still given up. As
  // the native engine's StoreAlloc.ALargeBlockGivenUpBetweenARunningPassesCutAndItsStampIsFreed.
  for (const engine of ['js', 'native']) {
    it(`is given up between a running pass's cut and its stamp, and the passes of a ${engine} handle free it`, () => {
      const s = Store.create({ buffer: new SharedArrayBuffer(1 << 22), engine: 'js', lockTimeoutMs: 20 });
      const o = Store.attach(s.buffer, { engine });
      try {
        const e = s._e;
        const u32 = new Uint32Array(s.buffer);
        const claim = { gc: 0, keyHash: 0, sum: 0 };
        const u = alloc.allocLarge(e, units(C.LARGE_HEADER_SIZE + 70000), claim);
        assert.ok(u > 0);
        o.repair(); // keeps the block in flight of its live writer, and stamps it
        assert.strictEqual(u32[u * UNIT_WORDS + LB.CUTS], u32[AT.REPAIR_STATE.CUTS]);
        // The running pass: a live owner of this process holds the allocator lock, and it cut.
        ownAs(u32, PASS_SLOT, process.pid);
        const free = u32[AT.ALLOC_STATE.LOCK];
        u32[AT.ALLOC_STATE.LOCK] = lockedBy(free, PASS_SLOT);
        u32[AT.REPAIR_STATE.CUT_GC] = u32[AT.HEADER.GC_COUNTER];
        u32[AT.REPAIR_STATE.CUTS]++;
        alloc.freeUnlinkedLarge(e, u, claim);
        assert.strictEqual(u32[u * UNIT_WORDS + LB.WRITER], 0, 'given up');
        u32[AT.ALLOC_STATE.LOCK] = free; // the pass goes on (its steps 4 to 7 as a pass of their own)
        o.repair();
        assertFreedByThePass(u32, o, u);
      } finally {
        o.close();
        s.close();
      }
    });
  }
});
