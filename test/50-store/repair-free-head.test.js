'use strict';
// A repair pass after damage that moved freeHead down inside the pool (format.md §9, step 3):
// freeHead only grows, so an entry the chains name that proves itself beyond it, or the large
// block such an entry refers to, shows the damage; the pass restores freeHead over them, every
// acknowledged value still reads, and later inserts take no unit of an entry kept.
const assert = require('assert');
const { Worker } = require('worker_threads');
const { Store } = require('../../lib/store/store');
const { C, W, AT, BASE, SIZE_CLASSES } = require('../../lib/layout/layout');
const { readGeometry } = require('../../lib/store/js/format');
const { forEachEngine, assertSoundForBoth } = require('../helpers/engines');
const { entryWord, blocksOf, bucketWord, ownAs, lockedBy } = require('../helpers/store-bytes');
const alloc = require('../../lib/store/js/alloc');
const { UNITS_PER_BEAT } = require('../../lib/ownership/heartbeat');

const FREE_HEAD = AT.HEADER.FREE_HEAD;
const HOLDER_SLOT = 4000;
const CUTS = AT.REPAIR_STATE.CUTS;
const REPAIR_LOCK = AT.REPAIR_STATE.LOCK;
const GC_COUNTER = AT.HEADER.GC_COUNTER;
const classOf = (u32, u) => (u32[entryWord(u, W.ENTRY.FLAGS)] >>> C.FLAG_CLASS_SHIFT) & C.FLAG_CLASS_MASK;
const isLarge = (u32, u) => classOf(u32, u) === SIZE_CLASSES.length;
const unitsOf = (u32, u) => (isLarge(u32, u) ? u32[entryWord(u, W.LARGE_BLOCK.UNITS)] : SIZE_CLASSES[classOf(u32, u)]);
/** The block starts that hold an entry or a large value (not free, not parked by a writer). */
const keptBlocks = (u32) => blocksOf(u32.buffer).filter((u) => (u32[entryWord(u, W.ENTRY.FLAGS)] & (C.FLAG_FREE | C.FLAG_PARKED)) === 0);

/** The value of key i: sizes of many classes, and a few large values among them. */
const valueOf = (i) => (i % 50 === 7 ? `L${i}`.padEnd(70000 + i, 'x') : `v${i}`.padEnd(1 + (i * 37) % 300, 'y'));

// Waits until freeHead moves from `top` (the writer's large block allocated by bump), then moves it
// down to `to` and frees owner slot `holder` (the holder of the lock the writer waits for: gone).
const DAMAGE_AFTER_ALLOCATION = `
  const { parentPort, workerData } = require('worker_threads');
  const { buffer, freeHead, top, to, holderRecord, holderWords } = workerData;
  const u32 = new Uint32Array(buffer);
  parentPort.postMessage('ready');
  while (Atomics.load(u32, freeHead) === top);
  Atomics.store(u32, freeHead, to);
  for (let i = holderWords - 1; i >= 0; i--) Atomics.store(u32, holderRecord + i, 0);
`;

forEachEngine('store.repair() after freeHead was damaged downwards', ({ engine, other }) => {
  const KEYS = 300;

  /** Every key k0..k(n-1) that does not read its value. */
  const missing = (s, n) => Array.from({ length: n }, (_, i) => i).filter((i) => s.get('n', `k${i}`) !== valueOf(i));

  const points = {
    'to the first unit of the pool': (blocks, firstUnit) => firstUnit,
    'into the middle of a block half way': (blocks) => blocks[blocks.length >> 1] + 1,
    'to the start of the last entry': (blocks) => blocks[blocks.length - 1],
  };
  for (const [name, point] of Object.entries(points)) {
    it(`${name}: freeHead is restored, every value reads, the store is sound and new inserts keep the old values`, () => {
      const buffer = new SharedArrayBuffer(1 << 24);
      const s = Store.create({ buffer, engine, buckets: 64 });
      for (let i = 0; i < KEYS; i++) s.set('n', `k${i}`, valueOf(i));
      const u32 = new Uint32Array(buffer);
      const cuts0 = u32[CUTS];
      // The blocks after the last entry are parked by this handle's insert batches: they go back
      // to unallocated space.
      const blocks = keptBlocks(u32);
      const last = blocks[blocks.length - 1];
      u32[FREE_HEAD] = point(blocks, readGeometry(buffer).geometry.firstUnit);
      assert.strictEqual(s.verify().ok, false, 'chains that name blocks beyond freeHead are damage');
      s.repair();
      assert.strictEqual(u32[FREE_HEAD], last + unitsOf(u32, last), 'freeHead is restored to the end of the last entry');
      assert.strictEqual(u32[CUTS], cuts0 + 1, 'a restored freeHead is counted as a cut (writers forget their parked blocks)');
      assertSoundForBoth(s, other);
      assert.deepStrictEqual(missing(s, KEYS), []);
      assert.strictEqual(s.count('n'), KEYS);
      for (let i = 0; i < 200; i++) s.set('m', `x${i}`, valueOf(i));
      assert.deepStrictEqual(missing(s, KEYS), [], 'no insert took a unit of a kept entry');
      assert.strictEqual(s.count('m'), 200);
      assertSoundForBoth(s, other);
      s.close();
    });
  }

  it('a large block beyond the damaged freeHead, its entry below it: the large value is kept', () => {
    const buffer = new SharedArrayBuffer(1 << 22);
    const s = Store.create({ buffer, engine, buckets: 64 });
    for (let i = 0; i < 20; i++) s.set('n', `k${i}`, `v${i}`);
    // A free block of the indirect entry's class below the large block: the entry takes it, while
    // the large block is bumped at the end of the pool.
    const big = 'B'.repeat(100000);
    s.set('n', 'pad', 'p'.repeat(C.INDIRECT_VALUE_BYTES));
    s.delete('n', 'pad');
    s.set('n', 'big', big);
    const u32 = new Uint32Array(buffer);
    const blocks = keptBlocks(u32);
    const lu = blocks[blocks.length - 1];
    assert.ok(isLarge(u32, lu), 'the large block is the last block kept');
    u32[FREE_HEAD] = lu + 1;
    s.repair();
    assert.strictEqual(u32[FREE_HEAD], lu + unitsOf(u32, lu));
    assertSoundForBoth(s, other);
    assert.strictEqual(s.get('n', 'big'), big);
    for (let i = 0; i < 20; i++) s.set('m', `x${i}`, `w${i}`.repeat(40));
    assert.strictEqual(s.get('n', 'big'), big, 'no insert took a unit of the large block kept');
    for (let i = 0; i < 20; i++) assert.strictEqual(s.get('n', `k${i}`), `v${i}`);
    assertSoundForBoth(s, other);
    s.close();
  });

  // Another handle (of the JS engine: it allocates here by hand) in the middle of a set of a
  // large value: its block allocated after everything else, its copy not begun; before it,
  // `zeroBlocks` blocks of class 0 whose writers were killed right after their allocation (their
  // headers never written, all zero).
  function inFlightAfterTheLastEntry(zeroBlocks) {
    const buffer = new SharedArrayBuffer(1 << 23);
    const s = Store.create({ buffer, engine, buckets: 64 });
    for (let i = 0; i < 20; i++) s.set('n', `k${i}`, valueOf(i));
    const u32 = new Uint32Array(buffer);
    if (zeroBlocks > 0) s.repair(); // the parked blocks freed: freeHead is the end of the last entry
    const blocks = keptBlocks(u32);
    if (zeroBlocks > 0) {
      const zero = u32[FREE_HEAD];
      const units = zeroBlocks * SIZE_CLASSES[0];
      new Uint8Array(buffer).fill(0, zero * C.BLOCK_UNIT, (zero + units) * C.BLOCK_UNIT);
      u32[FREE_HEAD] = zero + units;
    }
    const writer = Store.attach(buffer, { engine: 'js' });
    try {
      const n = 70000;
      const size = Math.ceil((C.LARGE_HEADER_SIZE + n) / C.BLOCK_UNIT);
      const claim = { gc: 0, keyHash: 0, sum: 0 };
      const lu = alloc.allocLarge(writer._e, size, claim);
      assert.ok(lu >= blocks[blocks.length - 1] + unitsOf(u32, blocks[blocks.length - 1]) + zeroBlocks * SIZE_CLASSES[0]);
      u32[FREE_HEAD] = readGeometry(buffer).geometry.firstUnit + 1;
      s.repair();
      assert.strictEqual(u32[FREE_HEAD], lu + size, 'freeHead covers the block in flight');
      assert.ok(alloc.largeHeld(writer._e, lu, claim), 'the block is still its writer\'s');
      for (let i = 0; i < 60; i++) s.set('m', `x${i}`, valueOf(i));
      // The writer's copy, done after those inserts: it takes no unit of theirs.
      new Uint8Array(buffer).fill(0x61, lu * C.BLOCK_UNIT + C.LARGE_HEADER_SIZE, lu * C.BLOCK_UNIT + C.LARGE_HEADER_SIZE + n);
      for (let i = 0; i < 60; i++) assert.strictEqual(s.get('m', `x${i}`), valueOf(i), `x${i}`);
      assert.deepStrictEqual(missing(s, 20), []);
      assertSoundForBoth(s, other);
      alloc.freeUnlinkedLarge(writer._e, lu, claim);
      assertSoundForBoth(s, other);
    } finally {
      writer.close();
      s.close();
    }
  }

  it('a large block a live writer is filling after the last entry: freeHead is restored over it too, and no insert takes its units', () => {
    inFlightAfterTheLastEntry(0);
  });

  it('the same after a run of blocks whose writers were killed before their headers: the walk goes on past them to the block in flight', () => {
    inFlightAfterTheLastEntry(3);
  });

  it('a pass the writer\'s own handle runs inside its set of a large value: the writer allocates again and the value it acknowledged survives later inserts', async () => {
    const buffer = new SharedArrayBuffer(1 << 23);
    // One bucket: the set below waits for the lock left held, and runs the pass itself.
    const s = Store.create({ buffer, engine, buckets: 1, lockTimeoutMs: 600000 });
    for (let i = 0; i < 20; i++) s.set('n', `k${i}`, valueOf(i));
    const u32 = new Uint32Array(buffer);
    const top = u32[FREE_HEAD];
    // The bucket's lock held by a live process other than this one: the set waits until the
    // worker, having moved freeHead down under the set's large block, frees the holder's slot.
    ownAs(u32, HOLDER_SLOT, process.ppid);
    const lock = bucketWord(0, W.BUCKET.LOCK);
    u32[lock] = lockedBy(u32[lock], HOLDER_SLOT);
    const worker = new Worker(DAMAGE_AFTER_ALLOCATION, {
      eval: true,
      workerData: {
        buffer, freeHead: FREE_HEAD, top, to: readGeometry(buffer).geometry.firstUnit + 1,
        holderRecord: BASE.OWNER + HOLDER_SLOT * W.OWNER.WORDS, holderWords: W.OWNER.WORDS,
      },
    });
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await new Promise((resolve) => worker.once('message', resolve));
    const big = 'B'.repeat(100000);
    try {
      s.set('n', 'big', big); // allocates at `top`, copies, waits for the lock, repairs, links
      assert.strictEqual(await exited, 0);
      assert.ok(s.get('n', 'big') === big, 'the value set reads');
      // The entry refers to a block the pool walk meets below freeHead, not to unallocated space.
      assertSoundForBoth(s, other);
      const o = Store.attach(buffer, { engine: other });
      try {
        for (let i = 0; i < 60; i++) o.set('m', `x${i}`, valueOf(i));
      } finally {
        o.close();
      }
      assert.ok(s.get('n', 'big') === big, 'no insert took a unit of the acknowledged large value');
      assert.deepStrictEqual(missing(s, 20), []);
      for (let i = 0; i < 60; i++) assert.strictEqual(s.get('m', `x${i}`), valueOf(i), `x${i}`);
      assertSoundForBoth(s, other);
    } finally {
      await worker.terminate();
      s.close();
    }
  });

  // Another handle (of the JS engine, by hand as above) in the middle of a set of a large value,
  // its block allocated where the walk past the kept blocks of a restored freeHead does not reach:
  // `gap` writes, from `top` (the first unit after the blocks there), the headers that end the walk
  // and returns the first unit after them. The bump pointer then hands out blocks of class 15
  // over the block's units, whose entries leave its header as it was (it lies in the tail of one
  // of them, past its entry's bytes): its writer must not take it for its own, nor free it.
  function inFlightBeyondTheWalk(gap) {
    const buffer = new SharedArrayBuffer(1 << 23);
    const s = Store.create({ buffer, engine, buckets: 64 });
    for (let i = 0; i < 20; i++) s.set('n', `k${i}`, `v${i}`);
    s.repair(); // this handle's parked blocks freed: the blocks after the last entry are free
    const u32 = new Uint32Array(buffer);
    const blocks = keptBlocks(u32);
    const keptEnd = blocks[blocks.length - 1] + unitsOf(u32, blocks[blocks.length - 1]);
    const after = gap(u32, u32[FREE_HEAD]);
    // Blocks of class 15 (20 units) bumped from keptEnd, each holding an entry of 17 units: the
    // block in flight starts at unit 18 of one of them.
    const cover = SIZE_CLASSES[15];
    const lu = keptEnd + Math.ceil((after - keptEnd - 18) / cover) * cover + 18;
    u32[FREE_HEAD] = lu;
    const writer = Store.attach(buffer, { engine: 'js' });
    try {
      const size = Math.ceil((C.LARGE_HEADER_SIZE + 70000) / C.BLOCK_UNIT);
      const claim = { gc: 0, keyHash: 0, sum: 0 };
      assert.strictEqual(alloc.allocLarge(writer._e, size, claim), lu);
      const cuts0 = u32[CUTS];
      u32[FREE_HEAD] = readGeometry(buffer).geometry.firstUnit + 1;
      s.repair();
      assert.strictEqual(u32[FREE_HEAD], keptEnd, 'the walk past the kept blocks ends before the block in flight');
      assert.strictEqual(u32[CUTS], cuts0 + 1);
      const value = (i) => `c${i}`.padEnd(230, 'z'); // 28 + 4 + 230 bytes: 17 units, class 15
      let i = 0;
      while (u32[FREE_HEAD] < lu + size) s.set('m', `c${String(i).padStart(3, '0')}`, value(i++));
      assert.ok(!keptBlocks(u32).includes(lu), 'the block in flight is no block start any more');
      assert.strictEqual(u32[entryWord(lu, W.LARGE_BLOCK.WRITER)], writer._e.locks.slot, 'its header is as it was');
      assert.strictEqual(alloc.largeHeld(writer._e, lu, claim), false, 'a block no pass kept is not its writer\'s');
      // Its writer gives up: it frees nothing, and no unit of the entries over the block goes on a
      // free list.
      alloc.freeUnlinkedLarge(writer._e, lu, claim);
      for (let j = 0; j < i; j++) assert.strictEqual(s.get('m', `c${String(j).padStart(3, '0')}`), value(j));
      assertSoundForBoth(s, other);
      for (let j = 0; j < 200; j++) s.set('o', `x${j}`, valueOf(j));
      for (let j = 0; j < i; j++) assert.strictEqual(s.get('m', `c${String(j).padStart(3, '0')}`), value(j));
      for (let j = 0; j < 20; j++) assert.strictEqual(s.get('n', `k${j}`), `v${j}`);
      assertSoundForBoth(s, other);
    } finally {
      writer.close();
      s.close();
    }
  }

  it('a large block a live writer is filling beyond a size that does not tile: once bumps cover it, its writer does not take it for its own', () => {
    inFlightBeyondTheWalk((u32, top) => {
      u32[entryWord(top, W.ENTRY.FLAGS)] = (C.FLAG_CLASS_MASK << C.FLAG_CLASS_SHIFT) >>> 0;
      return top + 1;
    });
  });

  it('the same beyond more zero headers in a row than there are owner slots', () => {
    inFlightBeyondTheWalk((u32, top) => {
      const units = (C.OWNER_SLOTS + 1) * SIZE_CLASSES[0];
      u32.fill(0, entryWord(top, 0), entryWord(top + units, 0));
      return top + units;
    });
  });

  // The JS engine's pass, made to fail as an allocation that throws would (native's is the
  // GoogleTest StoreHandles.APassOutOfMemoryAfterItRestoredFreeHeadMovesGcCounter).
  if (engine === 'js') {
    it('a pass that runs out of memory after it restored freeHead moves gcCounter: the writer of a block beyond it does not take it for its own', () => {
      const buffer = new SharedArrayBuffer(1 << 23);
      const s = Store.create({ buffer, engine, buckets: 64 });
      for (let i = 0; i < 20; i++) s.set('n', `k${i}`, `v${i}`);
      s.repair(); // this handle's parked blocks freed: the blocks after the last entry are free
      const u32 = new Uint32Array(buffer);
      const top = u32[FREE_HEAD];
      u32[entryWord(top, W.ENTRY.FLAGS)] = (C.FLAG_CLASS_MASK << C.FLAG_CLASS_SHIFT) >>> 0; // ends the walk
      const lu = top + 3;
      u32[FREE_HEAD] = lu;
      const writer = Store.attach(buffer, { engine: 'js' });
      const hb = s._e.heartbeat;
      const work = hb.work;
      try {
        const size = Math.ceil((C.LARGE_HEADER_SIZE + 70000) / C.BLOCK_UNIT);
        const claim = { gc: 0, keyHash: 0, sum: 0 };
        assert.strictEqual(alloc.allocLarge(writer._e, size, claim), lu);
        const cuts0 = u32[CUTS];
        const gc0 = u32[GC_COUNTER];
        const damaged = readGeometry(buffer).geometry.firstUnit + 1;
        u32[FREE_HEAD] = damaged;
        // The pass's first unit of work once it cut and restored freeHead (the pool walk) throws.
        hb.work = function () {
          if (u32[CUTS] !== cuts0 && u32[FREE_HEAD] !== damaged) throw new RangeError('Array buffer allocation failed');
          return work.call(this);
        };
        assert.throws(() => s.repair(), { code: 'ERR_NO_MEMORY' });
        hb.work = work;
        assert.strictEqual(u32[FREE_HEAD], top, 'freeHead restored to the end of the kept blocks');
        assert.strictEqual(u32[CUTS], cuts0 + 1);
        assert.strictEqual(u32[GC_COUNTER], gc0 + 1);
        assert.strictEqual(alloc.largeHeld(writer._e, lu, claim), false, 'a block beyond the restored freeHead is not its writer\'s');
        // The store's sets bump over the block's units: they keep their values, and the block is
        // still not its writer's, nor freed when it gives it up.
        const value = (i) => `c${i}`.padEnd(230, 'z');
        let i = 0;
        while (u32[FREE_HEAD] < lu + size) s.set('m', `c${i}`, value(i++));
        assert.strictEqual(alloc.largeHeld(writer._e, lu, claim), false);
        alloc.freeUnlinkedLarge(writer._e, lu, claim);
        for (let j = 0; j < 200; j++) s.set('o', `x${j}`, valueOf(j));
        for (let j = 0; j < i; j++) assert.strictEqual(s.get('m', `c${j}`), value(j));
        for (let j = 0; j < 20; j++) assert.strictEqual(s.get('n', `k${j}`), `v${j}`);
        assertSoundForBoth(s, other);
      } finally {
        hb.work = work;
        writer.close();
        s.close();
      }
    });
  }

  it('a pass that restores freeHead in a large pool walks past the kept blocks only as far as blocks were written', () => {
    const buffer = new SharedArrayBuffer(1 << 26);
    const s = Store.create({ buffer, engine, buckets: 64 });
    for (let i = 0; i < 20; i++) s.set('n', `k${i}`, `v${i}`);
    const u32 = new Uint32Array(buffer);
    const top = u32[FREE_HEAD];
    const { firstUnit, totalUnits } = readGeometry(buffer).geometry;
    u32[FREE_HEAD] = firstUnit + 1;
    // The pass holds every lock throughout; its heartbeats (a version step of 2 each on the
    // repair lock, besides the 2 of its acquire and release) count its work: the units never
    // written after the last block are not walked to the end of the pool.
    const v0 = u32[REPAIR_LOCK] & C.LOCK_VERSION_MASK;
    s.repair();
    const beats = ((((u32[REPAIR_LOCK] & C.LOCK_VERSION_MASK) - v0) & C.LOCK_VERSION_MASK) - 2) / 2;
    const toTheEnd = (totalUnits - firstUnit) / SIZE_CLASSES[0] / UNITS_PER_BEAT; // a walk of every unit
    assert.ok(beats < toTheEnd / 10, `${beats} heartbeats, ${toTheEnd} for a walk to the end of the pool`);
    assert.ok(u32[FREE_HEAD] > firstUnit + 1 && u32[FREE_HEAD] <= top, `freeHead ${u32[FREE_HEAD]}`);
    for (let i = 0; i < 20; i++) assert.strictEqual(s.get('n', `k${i}`), `v${i}`);
    assertSoundForBoth(s, other);
    s.close();
  });
});
