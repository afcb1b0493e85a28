'use strict';
// Bad input: wrong types and values for every method, corrupted and truncated stores. Each must
// give a clear error and leave the store exactly as it was.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Store } = require('../../lib/store/store');
const { C, S } = require('../../lib/layout/layout');
const { forEachEngine } = require('../helpers/engines');
const { exitedPid } = require('../helpers/process');
const { pidWord, tidWord } = require('../helpers/store-bytes');
const { xxh32: independentXxh32 } = require('../helpers/independent-xxh32');

const NOT_STRINGS = [undefined, null, 1, {}, [], Symbol('s'), () => {}, 1n];

function snapshot(store) {
  return Buffer.from(new Uint8Array(store.buffer)).toString('base64');
}

forEachEngine('bad input', ({ engine, make }) => {
  it('rejects bad namespaces, keys and values without changing the store', () => {
    const s = make();
    s.set('ok', 'k', 'v');
    const before = snapshot(s);
    for (const bad of NOT_STRINGS) {
      assert.throws(() => s.set(bad, 'k', 'v'), TypeError);
      assert.throws(() => s.set('ok', bad, 'v'), TypeError);
      assert.throws(() => s.get(bad, 'k'), TypeError);
      assert.throws(() => s.get('ok', bad), TypeError);
      assert.throws(() => s.has('ok', bad), TypeError);
      assert.throws(() => s.delete('ok', bad), TypeError);
      assert.throws(() => s.clear(bad), TypeError);
      assert.throws(() => s.keys(bad), TypeError);
      assert.throws(() => s.entries(bad), TypeError);
      assert.throws(() => s.namespace(bad), TypeError);
      if (bad !== undefined) assert.throws(() => s.count(bad), TypeError);
    }
    assert.throws(() => s.set('', 'k', 'v'), RangeError);
    assert.throws(() => s.set('n'.repeat(49), 'k', 'v'), RangeError);
    assert.throws(() => s.set('é'.repeat(25), 'k', 'v'), RangeError);
    assert.throws(() => s.set('ok', 'k'.repeat(1025), 'v'), { name: 'RangeError', code: 'ERR_KEY_TOO_LONG' });
    assert.throws(() => s.set('ok', '€'.repeat(342), 'v'), { name: 'RangeError', code: 'ERR_KEY_TOO_LONG' });
    assert.throws(() => s.get('ok', 'k'.repeat(1025)), RangeError);
    assert.throws(() => s.set('ok', 'k', 'v'.repeat(65536)), { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.throws(() => s.set('ok', 'k', '€'.repeat(30000)), { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.throws(() => s.set('ok', 'k', Buffer.alloc(65536)), { name: 'RangeError', code: 'ERR_VALUE_TOO_LONG' });
    assert.throws(() => s.set('ok', 'k', { big: 'x'.repeat(70000) }), RangeError);
    for (const v of [undefined, () => {}, Symbol('v'), 1n]) assert.throws(() => s.set('ok', 'k', v), TypeError);
    for (const v of [NaN, Infinity, -Infinity]) assert.throws(() => s.set('ok', 'k', v), RangeError);
    const cyclic = {};
    cyclic.self = cyclic;
    assert.throws(() => s.set('ok', 'k', cyclic), TypeError);
    assert.throws(() => s.getMany('ok', 'k'), TypeError);
    assert.throws(() => s.getMany('ok', ['a', 2]), TypeError);
    assert.throws(() => s.setMany('ok', 5), TypeError);
    assert.throws(() => s.setMany('ok', [['a']]), TypeError);
    assert.throws(() => s.setMany('ok', [['a', 1], ['b', undefined]]), TypeError);
    assert.throws(() => s.setMany('ok', [['a', 1], [2, 1]]), TypeError);
    assert.throws(() => s.namespace('ok').forEach(5), TypeError);
    assert.strictEqual(snapshot(s), before, 'rejected calls changed the store');
    assert.strictEqual(s.get('ok', 'k'), 'v');
    assert.strictEqual(s.get('ok', 'a'), undefined);
  });

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

  it('repairs a chain that loops through corrupt entries', () => {
    const s = make({ buckets: 1 });
    s.set('n', 'k1', 'one');
    s.set('n', 'k2', 'two');
    const dv = new DataView(s.buffer);
    const head = dv.getUint32(C.BUCKETS_OFFSET + S.BUCKET.HEAD, true); // k2, which links to k1
    const tail = dv.getUint32(head * C.UNIT + S.ENTRY.NEXT, true);
    dv.setUint32(tail * C.UNIT + S.ENTRY.NEXT, head, true); // k1 -> k2: a cycle
    // Break both checksums: the first value byte follows the entry header and the 2-byte key.
    for (const u of [head, tail]) dv.setUint8(u * C.UNIT + S.ENTRY.SIZE + 'k1'.length, 0x7a);
    assert.strictEqual(s.verify().ok, false);
    s.repair();
    const v = s.verify();
    assert.ok(v.ok, v.errors.join('\n'));
    assert.strictEqual(s.count('n'), 0);
    s.set('n', 'k3', 'three');
    assert.strictEqual(s.get('n', 'k3'), 'three');
  });

  it('owner slots: a full table of live handles refuses, slots of dead processes are reused', () => {
    const s = make();
    s.set('n', 'k', 'v');
    const u32 = new Uint32Array(s.buffer);
    const deadPid = exitedPid();
    const fill = (pid) => {
      for (let o = 1; o < C.OWNER_SLOTS; o++) {
        if (u32[pidWord(o)] === 0) {
          u32[pidWord(o)] = pid;
          u32[tidWord(o)] = 999;
        }
      }
    };
    fill(process.pid);
    assert.throws(() => Store.attach(s.buffer, { engine }), { code: 'ERR_TOO_MANY_HANDLES' });
    // Make the filler slots look like a dead process's: the next attach adopts one.
    for (let o = 1; o < C.OWNER_SLOTS; o++) {
      if (u32[tidWord(o)] === 999) u32[pidWord(o)] = deadPid;
    }
    const t = Store.attach(s.buffer, { engine });
    assert.strictEqual(t.get('n', 'k'), 'v');
    t.set('n', 'k2', 'v2');
    assert.ok(t.stats().repairs >= 1);
    let stillDead = 0;
    for (let o = 1; o < C.OWNER_SLOTS; o++) if (u32[pidWord(o)] === deadPid) stillDead++;
    assert.strictEqual(stillDead, 0, 'the repair pass released the dead slots');
    t.close();
  });

  it('survives close() from user code that runs inside a call (an Array.prototype setter)', () => {
    const s = make();
    for (let i = 0; i < 50; i++) s.set('re', `k${i}`, i);
    Object.defineProperty(Array.prototype, '3', {
      configurable: true,
      set(v) {
        s.close();
        Object.defineProperty(this, '3', { value: v, writable: true, enumerable: true, configurable: true });
      },
    });
    try {
      try {
        s.keys('re');
      } catch (err) {
        assert.strictEqual(err.code, 'ERR_CLOSED');
      }
    } finally {
      delete Array.prototype[3];
    }
    assert.strictEqual(s.closed, true);
    assert.throws(() => s.get('re', 'k1'), { code: 'ERR_CLOSED' });
  });

  if (engine === 'native') {
    it('the binding refuses an out array that could be detached', () => {
      const { addon } = require('../../lib/base/native');
      const buf = new SharedArrayBuffer(1 << 20);
      assert.strictEqual(addon.NativeStore.create(buf, 64, 100), undefined);
      assert.throws(() => new addon.NativeStore(buf, process.pid, 0, 1000, new Int32Array(2)), TypeError);
      const h = new addon.NativeStore(buf, process.pid, 0, 1000, new Int32Array(new SharedArrayBuffer(8)));
      h.close();
    });
  }

  describe('corrupted and truncated files', () => {
    let dir;
    let file;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-'));
      file = path.join(dir, 'store.shm');
      const s = Store.create({ path: file, size: 1 << 20, engine });
      s.set('n', 'k', 'v');
      s.close();
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function patch(offset, bytes) {
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, Buffer.from(bytes), 0, bytes.length, offset);
      fs.closeSync(fd);
    }

    it('opens an intact file', () => {
      const s = Store.open({ path: file, engine });
      assert.strictEqual(s.get('n', 'k'), 'v');
      s.close();
    });

    const cases = [
      ['bad magic', 0, [0, 0, 0, 0], 'ERR_BAD_MAGIC'],
      ['bad version', 4, [9, 0, 0, 0], 'ERR_BAD_VERSION'],
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

    it('refuses a totalSize too large for the segment with ERR_BAD_SIZE when the checksum was recomputed (also above 2^53)', () => {
      const header = fs.readFileSync(file).subarray(0, 64);
      for (const total of [2n ** 38n, 2n ** 53n + 64n, 2n ** 63n + 64n, 0xffffffffffffffc0n]) {
        // The checksum image of format.md §3 with the new totalSize.
        const img = Buffer.alloc(24);
        header.copy(img, 0, 0, 8); // magic, version
        img.writeBigUInt64LE(total, 8); // layout-ok: offsets in the checksum image of format.md §3
        header.copy(img, 16, 16, 20); // bucketCount
        header.copy(img, 20, 24, 28); // maxEntries
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
