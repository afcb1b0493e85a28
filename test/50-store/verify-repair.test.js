'use strict';
// store.verify() and store.repair() (docs/api.md, format.md §9): a healthy store is unchanged,
// each kind of damage ends in a repair or a clear ERR_CORRUPT (never a hang, a leaked lock or a
// write outside the pool), verify() repairs a dead writer's lock first, reads bound their walks
// and repair after CORRUPT_READ_RETRIES, and an exhausted heap is ERR_NO_MEMORY.
const assert = require('assert');
const path = require('path');
const { Store } = require('../../lib/store/store');
const { C, S, W, AT, SIZE_CLASSES, entriesOffset } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { inWorkerWithin } = require('../helpers/actors');
const { exitedPid, tempDir } = require('../helpers/process');
const { bucketWord, pidWord, tidWord, entryWord, cellWord, chain, lockedBy } = require('../helpers/store-bytes');
const { headerChecksum } = require('../../lib/store/js/format');
const read = require('../../lib/store/js/read');
const chainModule = require('../../lib/store/js/chain');
const repairs = require('../../lib/store/js/repair');

const FREE_HEAD = AT.HEADER.FREE_HEAD;
const ALLOC_LOCK = AT.ALLOC_STATE.LOCK;
const NEXT = W.ENTRY.NEXT;

// A store whose one chain holds four valid entries k4 -> k3 -> k2 -> k1 (namespace 'a') while its
// header allows two: a walk may meet at most maxEntries + 1 = 3 of them, so reading k1 fails on
// every attempt with the bucket's version unchanged, and a repair pass cannot mend it.
function overlongChain(engine) {
  const buffer = new SharedArrayBuffer(1 << 20);
  const w = Store.create({ buffer, engine, buckets: 1, maxEntries: 4 });
  for (const k of ['k1', 'k2', 'k3', 'k4']) w.set('a', k, k);
  w.close();
  const u32 = new Uint32Array(buffer);
  u32[AT.HEADER.MAX_ENTRIES] = 2;
  u32[AT.HEADER.HEADER_CHECKSUM] = headerChecksum(C.MAGIC, C.FORMAT_VERSION, buffer.byteLength, 1, 2,
    C.DEFAULT_MAX_NAMESPACES);
  return buffer;
}

forEachEngine('store.verify() / store.repair()', ({ engine, make }) => {
  it('verify() and a repair pass on a healthy store change nothing', () => {
    const s = make();
    for (let i = 0; i < 300; i++) s.set(`n${i % 3}`, `k${i}`, i);
    const before = s.verify();
    assert.ok(before.ok, before.errors.join('\n'));
    assert.strictEqual(before.entries, 300);
    // The blocks this handle parked (the rest of its inserts' last batch, format.md §8) are the
    // one thing its own repair pass changes: they become free.
    const parked = s.stats().bytesParked / C.BLOCK_UNIT;
    assert.strictEqual(before.parkedUnits, parked);
    s.repair();
    const after = s.verify();
    assert.deepStrictEqual(after, { ...before, freeUnits: before.freeUnits + parked, parkedUnits: 0 });
    assert.strictEqual(s.stats().repairs, 1);
  });

  it('a bucket lock left by a dead process in the middle of an insert: verify() repairs, then reports ok', () => {
    const s = make({ buckets: 4 });
    for (let i = 0; i < 10; i++) s.set('a', `k${i}`, i);
    const u32 = new Uint32Array(s.buffer);
    const deadPid = exitedPid();
    const slot = 4000;
    u32[pidWord(slot)] = deadPid;
    u32[tidWord(slot)] = 1;
    // The dead writer held bucket 2, had taken its entry (counted in its count cell) and allocated a block
    // (class 0, at the bump pointer) that it never published: a leaked block. Every entry here
    // (a 2- or 3-byte key, a 1-byte value) fits class 0 too.
    const per = SIZE_CLASSES[0];
    const lock = bucketWord(2, W.BUCKET.LOCK);
    u32[lock] = lockedBy(u32[lock], slot);
    u32[cellWord(u32, slot % C.COUNT_CELLS, W.COUNT_CELL.ENTRIES)]++;
    const unit = u32[FREE_HEAD];
    u32[entryWord(unit, W.ENTRY.FLAGS)] = 0;
    u32[entryWord(unit, W.ENTRY.KEY_HASH)] = 0x1234;
    u32[FREE_HEAD] = unit + per;
    const gc = s.stats().repairs;
    // The repair pass verify() runs also frees the blocks this handle parked (format.md §8).
    const parked = s.stats().bytesParked / C.BLOCK_UNIT;
    assert.deepStrictEqual(s.verify(),
      { ok: true, errors: [], entries: 10, liveUnits: 10 * per, freeUnits: per + parked, leakedUnits: 0, parkedUnits: 0 });
    assert.strictEqual(s.stats().repairs, gc + 1, 'verify() ran one repair pass');
    assert.strictEqual(u32[lock] & 1, 0, 'the dead writer\'s lock is free');
    assert.strictEqual(u32[pidWord(slot)], 0, 'the dead writer\'s owner slot is free');
    assert.strictEqual(s.count(), 10);
    s.set('a', 'new', 'v');
    assert.strictEqual(s.get('a', 'new'), 'v');
    assert.strictEqual(s.get('a', 'k3'), 3);
    // The new entry's batch takes the free blocks before the tail: the reclaimed one among them.
    assert.strictEqual(u32[entryWord(unit, W.ENTRY.FLAGS)] & C.FLAG_FREE, 0, 'the reclaimed block was handed out again');
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    assert.deepStrictEqual([v.entries, v.liveUnits, v.leakedUnits, v.parkedUnits],
      [11, 11 * per, 0, s.stats().bytesParked / C.BLOCK_UNIT]);
  });

  it('repairs a chain that loops through corrupt entries', () => {
    const s = make({ buckets: 1 });
    s.set('n', 'k1', 'one');
    s.set('n', 'k2', 'two');
    const dv = new DataView(s.buffer);
    const head = dv.getUint32(C.BUCKETS_OFFSET + S.BUCKET.HEAD, true); // k2, which links to k1
    const tail = dv.getUint32(head * C.BLOCK_UNIT + S.ENTRY.NEXT, true);
    dv.setUint32(tail * C.BLOCK_UNIT + S.ENTRY.NEXT, head, true); // k1 -> k2: a cycle
    // Break both checksums: the first value byte follows the entry header and the 2-byte key.
    for (const u of [head, tail]) dv.setUint8(u * C.BLOCK_UNIT + S.ENTRY.SIZE + 'k1'.length, 0x7a);
    assert.strictEqual(s.verify().ok, false);
    s.repair();
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    assert.strictEqual(s.count('n'), 0);
    s.set('n', 'k3', 'three');
    assert.strictEqual(s.get('n', 'k3'), 'three');
  });

  it('repair() mends a freeHead beyond the pool instead of throwing', () => {
    const s = make({ buckets: 16 });
    s.set('a', 'k', 'v');
    const u32 = new Uint32Array(s.buffer);
    const totalUnits = s.buffer.byteLength / C.BLOCK_UNIT;
    u32[FREE_HEAD] = totalUnits + 5;
    s.repair();
    assert.ok(u32[FREE_HEAD] <= totalUnits);
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    assert.strictEqual(s.get('a', 'k'), 'v');
    s.set('a', 'k2', 'v2');
    assert.strictEqual(s.get('a', 'k2'), 'v2');
  });

  it('a freeHead below the pool never places a block over the bucket table', () => {
    const s = make({ buckets: 2 });
    const u32 = new Uint32Array(s.buffer);
    const first = entriesOffset(2) / C.BLOCK_UNIT;
    u32[FREE_HEAD] = first - 1; // the unit that holds the buckets
    s.set('a', 'k', 'v');
    assert.strictEqual(s.get('a', 'k'), 'v');
    assert.ok(u32[FREE_HEAD] > first);
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
  });

  describe('a store in a file', () => {
    let cleanup;
    let file;
    beforeEach(() => {
      let dir;
      ({ dir, cleanup } = tempDir());
      file = path.join(dir, 'store.shm');
      const s = Store.create({ path: file, size: 1 << 20, engine });
      s.set('n', 'k', 'v');
      s.close();
    });
    afterEach(() => cleanup());

    it('survives a corrupted chain: reads miss or fail cleanly, repair restores consistency', () => {
      const s = Store.open({ path: file, engine });
      for (let i = 0; i < 50; i++) s.set('n', `k${i}`, i);
      const dv = new DataView(s.buffer);
      const bc = dv.getUint32(S.HEADER.BUCKET_COUNT, true);
      // Point every bucket head far outside the store.
      for (let b = 0; b < bc; b++) {
        const head = C.BUCKETS_OFFSET + b * S.BUCKET.SIZE + S.BUCKET.HEAD;
        if (dv.getUint32(head, true)) dv.setUint32(head, 0x7fffffff, true);
      }
      const v = s.verify();
      assert.strictEqual(v.ok, false);
      assert.ok(v.errors.some((e) => /out of range/.test(e)), v.errors.join('\n'));
      s.repair();
      assert.ok(s.verify().ok);
      s.set('n', 'fresh', 1);
      assert.strictEqual(s.get('n', 'fresh'), 1);
      s.close();
    });
  });
});

forEachEngine('store.repair() from a read: walk bound and corrupt-read threshold', ({ engine }) => {
  it('a reader meeting a cycle with maxEntries 2^32 - 1 repairs in reasonable time', async function () {
    this.timeout(30000);
    const s = Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine, buckets: 1, maxEntries: 0xffffffff });
    try {
      for (const k of ['k1', 'k2', 'k3']) s.set('a', k, k);
      const u32 = new Uint32Array(s.buffer);
      const units = chain(u32);
      u32[entryWord(units[2], NEXT)] = units[0]; // k1.next = k3
      const r = await inWorkerWithin(15000, engine, s.buffer, 'get', ['a', 'missing']);
      assert.ok(!r.error || r.error.code === 'ERR_CORRUPT', JSON.stringify(r));
      assert.ok(s.verify().ok);
    } finally {
      s.close();
    }
  });

  it('a chain longer than maxEntries + 1 is corrupt on every engine (the bound of format.md §9)', () => {
    const s = Store.attach(overlongChain(engine), { engine });
    try {
      assert.strictEqual(s.get('a', 'k4'), 'k4'); // the head
      assert.throws(() => s.get('a', 'k1'), { code: 'ERR_CORRUPT' }); // the fourth entry
    } finally {
      s.close();
    }
  });

  // Counts the JS engine's chain walks (get) and entry copies (keys, entries) and its repair
  // passes; the native engine exposes no such hook, only the outcome.
  function spy() {
    const counts = { walks: 0, copies: 0, repairs: 0, walksBeforeRepair: -1, copiesBeforeRepair: -1 };
    if (engine !== 'js') return { counts, restore() {} };
    const { walk } = read;
    const { copyOut } = chainModule;
    const { repair } = repairs;
    read.walk = function (...args) {
      counts.walks++;
      return walk.apply(this, args);
    };
    chainModule.copyOut = function (...args) {
      counts.copies++;
      return copyOut.apply(this, args);
    };
    repairs.repair = function (...args) {
      if (counts.repairs++ === 0) {
        counts.walksBeforeRepair = counts.walks;
        counts.copiesBeforeRepair = counts.copies;
      }
      return repair.apply(this, args);
    };
    return {
      counts,
      restore() {
        read.walk = walk;
        chainModule.copyOut = copyOut;
        repairs.repair = repair;
      },
    };
  }

  it(`a read failing under an unchanged version repairs after ${C.CORRUPT_READ_RETRIES} attempts, then is ERR_CORRUPT after as many again`, () => {
    const s = Store.attach(overlongChain(engine), { engine });
    const { counts, restore } = spy(s);
    try {
      const before = s.stats().repairs;
      assert.throws(() => s.get('a', 'k1'), { code: 'ERR_CORRUPT' });
      assert.strictEqual(s.stats().repairs, before + 1);
      if (engine === 'js') {
        assert.deepStrictEqual([counts.walksBeforeRepair, counts.walks, counts.repairs],
          [C.CORRUPT_READ_RETRIES, 2 * C.CORRUPT_READ_RETRIES, 1]);
      }
      // keys() copies the three entries it may walk, then fails at the fourth, on each attempt.
      counts.repairs = 0;
      counts.copies = 0;
      assert.throws(() => s.keys('a'), { code: 'ERR_CORRUPT' });
      assert.strictEqual(s.stats().repairs, before + 2);
      if (engine === 'js') {
        assert.deepStrictEqual([counts.copiesBeforeRepair, counts.copies, counts.repairs],
          [3 * C.CORRUPT_READ_RETRIES, 6 * C.CORRUPT_READ_RETRIES, 1]);
      }
    } finally {
      restore();
      s.close();
    }
  });
});

describe('store.verify() / store.repair(): an exhausted heap [js engine]', () => {
  // The native engine's side of this is test/cpp/store/attach_test.cc
  // (StoreHandles.HeapExhaustionIsErrNoMemory).
  it('verify() and repair() that cannot allocate their per-unit state are ERR_NO_MEMORY, with every lock freed', () => {
    const s = Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine: 'js', buckets: 4 });
    const RealUint8Array = globalThis.Uint8Array;
    try {
      s.set('a', 'k', 'v');
      const u32 = new Uint32Array(s.buffer);
      const units = (1 << 20) / C.BLOCK_UNIT;
      globalThis.Uint8Array = new Proxy(RealUint8Array, {
        construct(target, args, newTarget) {
          if (args[0] >= units / 2) throw new RangeError('Array buffer allocation failed');
          return Reflect.construct(target, args, newTarget);
        },
      });
      assert.throws(() => s.verify(), { name: 'ShmError', code: 'ERR_NO_MEMORY' });
      assert.throws(() => s.repair(), { name: 'ShmError', code: 'ERR_NO_MEMORY' });
      globalThis.Uint8Array = RealUint8Array;
      const locks = [AT.REPAIR_STATE.LOCK, ALLOC_LOCK, AT.NS_STATE.LOCK];
      for (let b = 0; b < 4; b++) locks.push(bucketWord(b, W.BUCKET.LOCK));
      for (const w of locks) assert.strictEqual(u32[w] & 1, 0, `lock word ${w} left held`);
      s.set('a', 'k2', 'v2');
      assert.strictEqual(s.get('a', 'k'), 'v');
      const v = s.verify();
      assert.ok(v.ok, v.errors.join('\n'));
    } finally {
      globalThis.Uint8Array = RealUint8Array;
      s.close();
    }
  });
});

// What `shmstore verify` draws its bar and ETA from: options.progress, two words the check keeps at
// [work done, work in all], read by another thread while verify() runs in this one.
// The two progress words (docs/api.md, store.verify()).
const PROGRESS_DONE = 0;
const PROGRESS_TOTAL = 1;

forEachEngine('store.verify({ progress })', ({ engine, make }) => {
  it('keeps [done, total]: done never goes back, and ends at the total; the report is the same', () => {
    const s = make({ size: 1 << 22 });
    for (let i = 0; i < 2000; i++) s.set('p', `k${i}`, 'v'.repeat(i % 300));
    for (let i = 0; i < 2000; i += 3) s.delete('p', `k${i}`);
    const words = new Int32Array(new SharedArrayBuffer(8));
    const report = s.verify({ progress: words });
    assert.deepStrictEqual(report, s.verify());
    assert.ok(report.ok);
    // The pool walked twice and the buckets once.
    const st = s.stats();
    const poolUnits = (st.bytesTotal - st.bytesTail) / C.BLOCK_UNIT - entriesOffset(st.buckets, st.maxNamespaces) / C.BLOCK_UNIT;
    const [done, total] = words;
    assert.strictEqual(total, 2 * poolUnits + st.buckets);
    assert.strictEqual(done, total);
  });

  it('another thread sees it advance while a worker verifies a large store', async function () {
    this.timeout(120000);
    const s = make({ size: 64 << 20, maxEntries: 1 << 20 });
    for (let i = 0; i < 300000; i++) s.set('p', `k${i}`, 'v'.repeat(64));
    const words = new Int32Array(new SharedArrayBuffer(8));
    const seen = [];
    const running = inWorkerWithin(100000, engine, s.buffer, 'verify', [{ progress: words }]);
    // Samples while the worker runs (each a pair read as done, then total).
    let finished = false;
    running.finally(() => { finished = true; });
    while (!finished) {
      seen.push([Atomics.load(words, PROGRESS_DONE), Atomics.load(words, PROGRESS_TOTAL)]);
      await new Promise((r) => setTimeout(r, 1));
    }
    const r = await running;
    assert.strictEqual(r.value && r.value.ok, true, JSON.stringify(r.error));
    for (let i = 1; i < seen.length; i++) {
      if (seen[i][1] === seen[i - 1][1]) assert.ok(seen[i][0] >= seen[i - 1][0], `went back: ${seen[i - 1]} -> ${seen[i]}`);
    }
    const [done, total] = words;
    assert.ok(total > 0 && done === total, `${done} / ${total}`);
    // Seen part way: the check of 300,000 entries takes far longer than the 1 ms between samples.
    assert.ok(seen.some(([d, t]) => t > 0 && d > 0 && d < t), `samples: ${JSON.stringify(seen.slice(0, 20))}`);
  });

  it('a bad progress argument is refused with a TypeError, nothing checked', () => {
    const s = make();
    for (const bad of [[0, 0], new Int32Array(1), new Uint32Array(2), 'x', 1]) {
      assert.throws(() => s.verify({ progress: bad }), TypeError);
    }
    assert.throws(() => s.verify({ progres: new Int32Array(2) }), TypeError);
  });
});
