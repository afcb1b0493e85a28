'use strict';
// Store.create(options), Store.open(options), Store.attach(buffer, options) (docs/api.md): bad
// options, files that are not valid stores, stores beyond 2 GiB and in segments beyond 4 GiB,
// and an attach that finds the owner table full.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Store } = require('../../lib/store/store');
const { Segment } = require('../../lib/segment/segment');
const { ShmError } = require('../../lib/base/errors');
const { addon } = require('../../lib/base/native');
const { C, S, W, AT, SIZE_CLASSES, entriesOffset } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { tempDir } = require('../helpers/process');
const { xxh32: independentXxh32 } = require('../helpers/independent-xxh32');
const { bucketWord, pidWord, tidWord, ownAs, freeOwner, entryWord, chain, lockedBy } = require('../helpers/store-bytes');

const FREE_HEAD = AT.HEADER.FREE_HEAD;
const ALLOC_LOCK = AT.ALLOC_STATE.LOCK;
const HEADS = AT.ALLOC_STATE.FREE_HEADS;
const LOCK0 = bucketWord(0, W.BUCKET.LOCK);
const NEXT = W.ENTRY.NEXT;
const FLAGS = W.ENTRY.FLAGS;

// Large buffers are address space, not memory (pages are touched sparsely), but a host that
// refuses to reserve them (strict overcommit) cannot run these tests at all: skip, saying why.
function bigOrSkip(ctx, alloc) {
  try {
    return alloc();
  } catch (err) {
    if (err instanceof RangeError && /allocat/i.test(err.message)) ctx.skip();
    throw err;
  }
}

forEachEngine('Store.create(), Store.open(), Store.attach()', ({ engine }) => {
  it('rejects bad options', () => {
    assert.throws(() => Store.create(), TypeError);
    assert.throws(() => Store.create(null), TypeError);
    assert.throws(() => Store.create({ buffer: new ArrayBuffer(1 << 20), engine }), TypeError);
    assert.throws(() => Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine: 'rust' }), RangeError);
    assert.throws(() => Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine, buckets: 3 }), RangeError);
    assert.throws(() => Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine, buckets: '8' }), TypeError);
    assert.throws(() => Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine, maxEntries: 0 }), RangeError);
    assert.throws(() => Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine, buckets: 1 << 20 }), RangeError);
    assert.throws(() => Store.create({ buffer: new SharedArrayBuffer(1024), engine }), RangeError);
    assert.throws(() => Store.create({ name: 'x', size: -1, engine }), RangeError);
    // A u32 unit index of 16-byte units addresses 64 GiB: a larger store is refused before any
    // segment is made.
    assert.throws(() => Store.create({ name: 'x', size: C.MAX_SEGMENT_UNITS * C.BLOCK_UNIT + C.BLOCK_UNIT, engine }),
      { name: 'RangeError', message: /options\.size.*68719476720/ });
    assert.throws(() => Store.create({ name: 'x', size: 'big', engine }), TypeError);
    assert.throws(() => Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine, lockTimeoutMs: 0 }), RangeError);
    assert.throws(() => Store.attach({}, { engine }), TypeError);
    assert.throws(() => Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine, size: 1 << 19 }), TypeError);
    assert.throws(() => Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine, mode: 0o644 }), TypeError);
    assert.throws(() => Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine, bucket: 64 }), TypeError);
    assert.throws(() => Store.open({ name: 'x', engine, mode: 0o600 }), TypeError);
    assert.throws(() => Store.attach(new SharedArrayBuffer(1 << 20), { engine, size: 1 }), TypeError);
    assert.throws(() => Store.attach(new SharedArrayBuffer(1 << 20), { engine }), { code: 'ERR_BAD_MAGIC' });
    assert.throws(() => Store.attach(new SharedArrayBuffer(16), { engine }), { code: 'ERR_BAD_SIZE' });
  });

  if (engine === 'native') {
    it('the binding refuses an out array that could be detached', () => {
      const { addon } = require('../../lib/base/native');
      const buf = new SharedArrayBuffer(1 << 20);
      assert.strictEqual(addon.NativeStore.create(buf, 64, 100), undefined);
      assert.throws(() => new addon.NativeStore(buf, process.pid, 0, 1000, new Int32Array(2)), TypeError);
      const h = new addon.NativeStore(buf, process.pid, 0, 1000, new Int32Array(new SharedArrayBuffer(S.GET_OUT.SIZE)));
      h.close();
    });

    it('a SegmentHandle method or accessor called on a native store is refused, not read as a handle', () => {
      const { addon } = require('../../lib/base/native');
      const proto = addon.SegmentHandle.prototype;
      const getter = (key) => Object.getOwnPropertyDescriptor(proto, key).get;
      const s = Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine });
      try {
        const native = s._e; // the addon's NativeStore object: wrapped too
        for (const call of [() => proto.buffer.call(native), () => proto.close.call(native),
          () => getter('size').call(native), () => getter('closed').call(native),
          () => getter('mode').call(native)]) {
          assert.throws(call, (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG');
        }
        s.set('a', 'k', 1);
        assert.strictEqual(s.get('a', 'k'), 1);
      } finally {
        s.close();
      }
    });
  }
});

forEachEngine('Store.open()', ({ engine }) => {
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

  function patch(offset, bytes) {
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from(bytes), 0, bytes.length, offset);
    fs.closeSync(fd);
  }

  describe('corrupted and truncated files', () => {
    it('opens an intact file', () => {
      const s = Store.open({ path: file, engine });
      assert.strictEqual(s.get('n', 'k'), 'v');
      s.close();
    });

    const cases = [
      ['bad magic', 0, [0, 0, 0, 0], 'ERR_BAD_MAGIC'],
      ['bad version', 4, [C.FORMAT_VERSION + 1, 0, 0, 0], 'ERR_BAD_VERSION'],
      // Format version 1 had 8-byte owner records and its buckets where version 2 has owners.
      ['a store of format version 1', 4, [1, 0, 0, 0], 'ERR_BAD_VERSION'],
      // Version 2 had no expiry, marks or policy table; its buckets are where version 3 has policies.
      ['a store of format version 2', 4, [2, 0, 0, 0], 'ERR_BAD_VERSION'],
      // Version 3 had a fixed table of 256 namespaces before the owners, no maxNamespaces, no
      // large blocks (its class 40 and the INDIRECT flag meant nothing).
      ['a store of format version 3', 4, [3, 0, 0, 0], 'ERR_BAD_VERSION'],
      // Version 4 had no parked blocks, no prev links in free blocks (offset 4 was stale) and no
      // CompactState.
      ['a store of format version 4', 4, [4, 0, 0, 0], 'ERR_BAD_VERSION'],
      // Version 5 had 64-byte units, a 32-byte entry header (flags at 24) and 40 size classes.
      ['a store of format version 5', 4, [5, 0, 0, 0], 'ERR_BAD_VERSION'],
      // Version 6 kept its counts in the header and the namespace records.
      ['a store of format version 6', 4, [6, 0, 0, 0], 'ERR_BAD_VERSION'],
      // Version 7 seeded an indirect entry's checksum without INDIRECT.
      ['a store of format version 7', 4, [7, 0, 0, 0], 'ERR_BAD_VERSION'],
      // Version 8 had no count of the entries with an expiry (its cells' word 8 is reserved):
      // read as version 9, its zero would keep the hand from an entry that expired; nor had it
      // AllocState.listedUnits, which its writers do not keep.
      ['a store of format version 8', 4, [8, 0, 0, 0], 'ERR_BAD_VERSION'],
      ['bad maxNamespaces', 56, [0, 0, 1, 0], 'ERR_BAD_CHECKSUM'],
      ['bad bucket count', 16, [3, 0, 0, 0], 'ERR_BAD_CHECKSUM'],
      ['bad total size', 8, [0, 0, 0, 0x40], 'ERR_BAD_CHECKSUM'],
      ['bad header checksum', 36, [1, 2, 3, 4], 'ERR_BAD_CHECKSUM'],
    ];
    for (const [what, off, bytes, code] of cases) {
      it(`refuses ${what} with ${code}`, () => {
        patch(off, bytes);
        assert.throws(() => Store.open({ path: file, engine }), { code });
      });
    }

    for (const old of [2, 3, 4, 5, 6, 7, 8]) {
      it(`says, for a version ${old} store, which version it found and how to move its data (dump, then load)`, () => {
        patch(4, [old, 0, 0, 0]);
        assert.throws(() => Store.open({ path: file, engine }), (err) => {
          assert.strictEqual(err.code, 'ERR_BAD_VERSION');
          assert.match(err.message, new RegExp(`format version ${old}`));
          assert.match(err.message, new RegExp(`reads version ${C.FORMAT_VERSION}`));
          assert.match(err.message, /npx shmstore dump/);
          assert.match(err.message, /npx shmstore load/);
          return true;
        });
      });
    }

    it('refuses a totalSize too large for the segment with ERR_BAD_SIZE when the checksum was recomputed (also above 2^53)', () => {
      const header = fs.readFileSync(file).subarray(0, 64);
      for (const total of [2n ** 38n, 2n ** 53n + 64n, 2n ** 63n + 64n, 0xffffffffffffffc0n]) {
        // The checksum image of format.md §3 with the new totalSize.
        const img = Buffer.alloc(28);
        header.copy(img, 0, 0, 8); // magic, version
        img.writeBigUInt64LE(total, 8); // layout-ok: offsets in the checksum image of format.md §3
        header.copy(img, 16, 16, 20); // bucketCount
        header.copy(img, 20, 24, 28); // maxEntries
        header.copy(img, 24, 56, 60); // maxNamespaces
        const size = Buffer.alloc(8);
        size.writeBigUInt64LE(total);
        patch(8, size);
        const sum = Buffer.alloc(4);
        sum.writeUInt32LE(independentXxh32(img, 0));
        patch(36, sum);
        assert.throws(() => Store.open({ path: file, engine }), { code: 'ERR_BAD_SIZE' }, `totalSize ${total}`);
      }
    });

    it('refuses a truncated file with ERR_BAD_SIZE', () => {
      fs.truncateSync(file, 1 << 19);
      assert.throws(() => Store.open({ path: file, engine }), { code: 'ERR_BAD_SIZE' });
      fs.truncateSync(file, 10);
      assert.throws(() => Store.open({ path: file, engine }), { code: 'ERR_BAD_SIZE' });
    });

    it('refuses a file that is not a store', () => {
      fs.writeFileSync(file, Buffer.alloc(4096, 0x41));
      assert.throws(() => Store.open({ path: file, engine }), { code: 'ERR_BAD_MAGIC' });
    });
  });
});

forEachEngine('Store.create(): stores larger than 2 GiB', ({ make, other }) => {
  it('writes and reads entries that lie beyond byte 2^31, and the other engine reads them', function () {
    this.timeout(120000);
    const size = 2 ** 31 + 2 ** 22;
    const s = bigOrSkip(this, () => make({ size, buckets: 16, maxEntries: 1000 }));
    const u32 = new Uint32Array(s.buffer);
    // Pad the pool up to beyond 2 GiB with free blocks of the largest class (a valid store: the
    // pool tiles and every padding block is on its free list, linked both ways, and counted in
    // AllocState.listedUnits), so new entries land past 2^31.
    const big = SIZE_CLASSES.length - 1;
    let u = entriesOffset(16) / C.BLOCK_UNIT;
    while (u * C.BLOCK_UNIT < 2 ** 31 + 2 ** 20) {
      u32[entryWord(u, FLAGS)] = (C.FLAG_FREE | (big << C.FLAG_CLASS_SHIFT)) >>> 0;
      u32[entryWord(u, NEXT)] = u32[HEADS + big];
      u32[entryWord(u, W.FREE_BLOCK.PREV)] = 0;
      if (u32[HEADS + big] !== 0) u32[entryWord(u32[HEADS + big], W.FREE_BLOCK.PREV)] = u;
      u32[HEADS + big] = u;
      u32[AT.ALLOC_STATE.LISTED_UNITS] += SIZE_CLASSES[big];
      u += SIZE_CLASSES[big];
    }
    u32[FREE_HEAD] = u;
    const bin = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 255));
    s.set('big', 'str', 'hello beyond 2 GiB '.repeat(10));
    s.set('big', 'bin', bin);
    s.set('big', 'json', { a: [1, 2, 3], b: 'x'.repeat(100) });
    const placed = [];
    for (let b = 0; b < 16; b++) placed.push(...chain(u32, b));
    assert.strictEqual(placed.length, 3);
    for (const p of placed) assert.ok(p * C.BLOCK_UNIT > 2 ** 31, `entry at byte ${p * C.BLOCK_UNIT}`);
    assert.strictEqual(s.get('big', 'str'), 'hello beyond 2 GiB '.repeat(10));
    assert.deepStrictEqual(s.get('big', 'bin'), bin);
    assert.deepStrictEqual(s.get('big', 'json'), { a: [1, 2, 3], b: 'x'.repeat(100) });
    assert.deepStrictEqual(s.keys('big').sort(), ['bin', 'json', 'str']);
    assert.strictEqual(s.entries('big').length, 3);
    const o = Store.attach(s.buffer, { engine: other });
    try {
      assert.strictEqual(o.get('big', 'str'), 'hello beyond 2 GiB '.repeat(10));
      assert.deepStrictEqual(o.get('big', 'bin'), bin);
      o.set('big', 'from-other', 'ok');
      assert.strictEqual(s.get('big', 'from-other'), 'ok');
    } finally {
      o.close();
    }
    assert.strictEqual(s.delete('big', 'str'), true);
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    assert.strictEqual(v.entries, 3);
  });
});

forEachEngine('Store.create(): a buffer longer than the largest store', ({ engine }) => {
  it('is refused with ERR_SHM_TOO_LARGE and left untouched, never formatted in part', function () {
    this.timeout(60000);
    if (!addon) this.skip(); // the segment needs the addon
    // A sparse file mapping: 64 GiB of address space, no memory and no disk until touched.
    // Longer by less than a unit too: its length rounded down to whole units is the largest
    // store, but the buffer is still not taken in part.
    for (const extra of [C.BLOCK_UNIT, 1, C.BLOCK_UNIT - 1]) {
      const { dir, cleanup } = tempDir();
      let seg = null;
      try {
        const size = C.MAX_SEGMENT_UNITS * C.BLOCK_UNIT + extra;
        seg = bigOrSkip(this, () => Segment.create({ path: path.join(dir, 'big'), size, reserve: false }));
        const buffer = seg.buffer;
        assert.strictEqual(buffer.byteLength, size);
        assert.throws(() => Store.create({ buffer, engine }), (e) => e instanceof ShmError && e.code === 'ERR_SHM_TOO_LARGE',
          `${extra} bytes longer`);
        const header = new Uint32Array(buffer, 0, C.HEADER_SIZE / 4);
        assert.strictEqual(header[AT.HEADER.MAGIC], 0);
        assert.strictEqual(header[AT.HEADER.TOTAL_SIZE], 0);
      } finally {
        if (seg) seg.close();
        cleanup();
      }
    }
  });
});

forEachEngine('Store.attach()', ({ engine, make }) => {
  it('attaches a second handle to the same buffer', () => {
    const s = make();
    s.set('shared', 'k', 'from first');
    const t = Store.attach(s.buffer, { engine });
    try {
      assert.strictEqual(t.get('shared', 'k'), 'from first');
      t.set('shared', 'k2', 'from second');
      assert.strictEqual(s.get('shared', 'k2'), 'from second');
    } finally {
      t.close();
    }
  });

  it('opens a store that is smaller than a segment of more than 4 GiB', function () {
    this.timeout(60000);
    const s = make({ size: 1 << 20 });
    s.set('a', 'k', 'v');
    const big = bigOrSkip(this, () => new SharedArrayBuffer(2 ** 32 + 2 ** 16));
    new Uint8Array(big, 0, 1 << 20).set(new Uint8Array(s.buffer));
    const o = Store.attach(big, { engine });
    try {
      assert.strictEqual(o.get('a', 'k'), 'v');
      o.set('a', 'k2', 'v2');
      assert.strictEqual(o.get('a', 'k2'), 'v2');
    } finally {
      o.close();
    }
  });

  it('a lock timeout in the repair pass of an attach that adopted a dead slot is ERR_LOCK_TIMEOUT, and frees the slot', () => {
    const s = make({ buckets: 1 });
    const u32 = new Uint32Array(s.buffer);
    const mine = () => {
      let n = 0;
      for (let o = 1; o < C.OWNER_SLOTS; o++) if (u32[pidWord(o)] === process.pid) n++;
      return n;
    };
    const before = mine();
    // Every slot taken, all by a process that does not exist but one (a live process other than
    // this one) that holds the allocator lock: the attacher adopts a dead slot, and its repair
    // pass times out on the allocator lock.
    const free = [];
    for (let o = 1; o < C.OWNER_SLOTS; o++) {
      if (u32[pidWord(o)] !== 0) continue;
      free.push(o);
      u32[pidWord(o)] = 0x7ffffff0;
      u32[tidWord(o)] = 1;
    }
    const slot = free[free.length - 1];
    ownAs(u32, slot, process.ppid);
    const saved = u32[ALLOC_LOCK];
    u32[ALLOC_LOCK] = lockedBy(saved, slot);
    try {
      assert.throws(() => Store.attach(s.buffer, { engine, lockTimeoutMs: 2 }), { code: 'ERR_LOCK_TIMEOUT' });
      assert.strictEqual(mine(), before, 'the failed attach kept an owner slot');
      assert.strictEqual(u32[LOCK0] & 1, 0);
    } finally {
      u32[ALLOC_LOCK] = (saved + 2) & C.LOCK_VERSION_MASK;
      for (const o of free) freeOwner(u32, o);
    }
    s.set('a', 'k', 'v');
    assert.strictEqual(s.get('a', 'k'), 'v');
  });
});
