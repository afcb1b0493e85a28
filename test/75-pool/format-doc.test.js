'use strict';
// docs/format.md §17 claims to specify the buffer pool exactly enough for an independent reader.
// layout-ok-file: this file reads the bytes with the document's offsets on purpose, never
// lib/layout/layout.js (a layout that drifted from docs/format.md must fail here).
const assert = require('assert');
const { BufferPool, ObjectPool, MemoryPool } = require('../../index');
const { xxh32 } = require('../helpers/independent-xxh32');

// "The shape checksum": the seal at 44 is 'SEAL' and the checksum at 40 is XXH32 (seed 0) of
// header bytes 4-19 and 28-31, then in kind 3 the class table's 256 bytes at 8256.
function shapeChecked(buffer, byteOffset, kind) {
  const b = Buffer.from(buffer, byteOffset);
  const parts = [b.subarray(4, 20), b.subarray(28, 32)];
  if (kind === 3) parts.push(b.subarray(8256, 8512));
  return b.readUInt32LE(44) === 0x4c414553 && b.readUInt32LE(40) === xxh32(Buffer.concat(parts), 0);
}

// A pool read from its bytes as the document describes it.
function readPool(buffer, byteOffset = 0) {
  const dv = new DataView(buffer, byteOffset);
  const u32 = (at) => dv.getUint32(at, true);
  const pool = { magic: u32(0), kind: u32(4), version: u32(8), blockSize: u32(12), blockCount: u32(16) };
  pool.checked = shapeChecked(buffer, byteOffset, pool.kind);
  const stride = Math.ceil(pool.blockSize / 64) * 64;
  pool.data = 8256 + 64 * pool.blockCount;
  pool.bytes = pool.data + pool.blockCount * stride;
  pool.blocks = [];
  for (let i = 0; i < pool.blockCount; i++) {
    const state = u32(8256 + 64 * i);
    pool.blocks.push({ holder: state & 0xffff, generation: state >>> 16, at: pool.data + i * stride });
  }
  // Owner record o (§6): pid at +0 of its 32 bytes.
  pool.ownerPid = (o) => u32(64 + 32 * o);
  return pool;
}

describe('BufferPool: the bytes of docs/format.md §17', () => {
  it('has the documented header, size and all-free block records', () => {
    for (const [count, size] of [[1, 1], [3, 64], [5, 100], [2, 4096]]) {
      const bytes = BufferPool.bytesFor(count, size);
      const buffer = new SharedArrayBuffer(128 + bytes);
      const pool = BufferPool.create({ buffer, byteOffset: 128, blockCount: count, blockSize: size });
      const r = readPool(buffer, 128);
      assert.deepStrictEqual([r.magic, r.kind, r.version, r.blockSize, r.blockCount, r.checked], [0x4c4f4f50, 1, 1, size, count, true]);
      assert.strictEqual(Buffer.from(buffer, 128, 4).toString('latin1'), 'POOL');
      assert.strictEqual(r.bytes, bytes);
      assert.ok(r.blocks.every((b) => b.holder === 0 && b.generation === 0));
      pool.close();
    }
  });

  it('handles, holders, generations and block places are as documented', () => {
    const buffer = new SharedArrayBuffer(BufferPool.bytesFor(4, 100));
    const pool = BufferPool.create({ buffer, blockCount: 4, blockSize: 100 });
    const a = pool.acquire();
    const b = pool.acquire();
    a.view.fill(0xaa);
    b.view.fill(0xbb);
    let r = readPool(buffer);
    // The creating handle claimed owner record 1 (§6) with this process's pid.
    assert.strictEqual(r.ownerPid(1), process.pid);
    for (const [h, fillByte] of [[a.handle, 0xaa], [b.handle, 0xbb]]) {
      const i = h & 0xffff;
      assert.ok(i < 4 && h >>> 16 !== 0);
      assert.deepStrictEqual([r.blocks[i].holder, r.blocks[i].generation], [1, h >>> 16]);
      const bytes = new Uint8Array(buffer, r.blocks[i].at, 100);
      assert.ok(bytes.every((x) => x === fillByte));
    }
    pool.release(a.handle);
    r = readPool(buffer);
    const ia = a.handle & 0xffff;
    assert.deepStrictEqual([r.blocks[ia].holder, r.blocks[ia].generation], [0, a.handle >>> 16]);
    pool.close();
  });

  it('a block freed by the documented CAS is free for the library; a stale handle is refused', () => {
    const buffer = new SharedArrayBuffer(BufferPool.bytesFor(2, 8));
    const pool = BufferPool.create({ buffer, blockCount: 2, blockSize: 8 });
    const { handle } = pool.acquire();
    const i = handle & 0xffff;
    const words = new Uint32Array(buffer);
    const w = (8256 + 64 * i) / 4;
    const s = Atomics.load(words, w);
    assert.strictEqual(Atomics.compareExchange(words, w, s, (s & 0xffff0000) >>> 0), s);
    assert.throws(() => pool.release(handle), { code: 'ERR_BAD_HANDLE' });
    assert.strictEqual(pool.stats().free, 2);
    // The next acquire of that block has the next generation.
    const again = [pool.acquire(), pool.acquire()].find((g) => (g.handle & 0xffff) === i);
    assert.strictEqual(again.handle >>> 16, (handle >>> 16) + 1);
    pool.close();
  });
});

// A memory pool (kind 3) read from its bytes as the document describes it.
function readMemoryPool(buffer, byteOffset = 0) {
  const dv = new DataView(buffer, byteOffset);
  const u32 = (at) => dv.getUint32(at, true);
  const pool = { magic: u32(0), kind: u32(4), version: u32(8), blockSize: u32(12), blockCount: u32(16), classCount: u32(28) };
  pool.checked = shapeChecked(buffer, byteOffset, pool.kind);
  pool.classes = [];
  for (let c = 0; c < pool.classCount; c++) pool.classes.push({ size: u32(8256 + 8 * c), count: u32(8256 + 8 * c + 4) });
  const data = 8512 + 64 * pool.blockCount;
  pool.blocks = [];
  let at = data;
  for (const k of pool.classes) {
    const stride = Math.ceil(k.size / 64) * 64;
    for (let i = 0; i < k.count; i++, at += stride) {
      const r = 8512 + 64 * pool.blocks.length;
      pool.blocks.push({ holder: u32(r) & 0xffff, generation: u32(r) >>> 16, length: u32(r + 4), at, size: k.size });
    }
  }
  pool.bytes = at;
  return pool;
}

describe('ObjectPool and MemoryPool: the bytes of docs/format.md §17', () => {
  it('an object pool is a buffer pool of kind 2', () => {
    const buffer = new SharedArrayBuffer(ObjectPool.bytesFor(3, 40));
    const pool = ObjectPool.create({ buffer, recordSize: 40, capacity: 3 });
    const r = readPool(buffer);
    assert.deepStrictEqual([r.magic, r.kind, r.version, r.blockSize, r.blockCount, r.checked], [0x4c4f4f50, 2, 1, 40, 3, true]);
    assert.strictEqual(r.bytes, ObjectPool.bytesFor(3, 40));
    const { handle, view } = pool.acquire(0);
    view.fill(0x5a);
    const b = readPool(buffer).blocks[handle & 0xffff];
    assert.deepStrictEqual([b.holder, b.generation], [1, handle >>> 16]);
    assert.ok(new Uint8Array(buffer, b.at, 40).every((x) => x === 0x5a));
    pool.close();
  });

  it('a memory pool has the documented header, class table, block records and block places', () => {
    const classes = [{ size: 10, count: 2 }, { size: 100, count: 3 }, { size: 1000, count: 1 }];
    const bytes = MemoryPool.bytesFor(classes);
    const buffer = new SharedArrayBuffer(64 + bytes);
    const pool = MemoryPool.create({ buffer, byteOffset: 64, classes });
    let r = readMemoryPool(buffer, 64);
    assert.deepStrictEqual([r.magic, r.kind, r.version, r.blockSize, r.blockCount, r.classCount, r.checked], [0x4c4f4f50, 3, 1, 1000, 6, 3, true]);
    assert.deepStrictEqual(r.classes, classes);
    assert.strictEqual(r.bytes, bytes);
    const got = [pool.allocate(5), pool.allocate(50), pool.allocate(999), pool.allocate(100)];
    got.forEach((g, i) => g.view.fill(i + 1));
    r = readMemoryPool(buffer, 64);
    const expect = [[5, 10], [50, 100], [999, 1000], [100, 100]];
    got.forEach((g, i) => {
      const b = r.blocks[g.handle & 0xffff];
      assert.deepStrictEqual([b.holder, b.generation, b.length, b.size], [1, g.handle >>> 16, ...expect[i]]);
      assert.ok(new Uint8Array(buffer, 64 + b.at, b.length).every((x) => x === i + 1));
    });
    pool.free(got[1].handle);
    const freed = readMemoryPool(buffer, 64).blocks[got[1].handle & 0xffff];
    assert.deepStrictEqual([freed.holder, freed.generation], [0, got[1].handle >>> 16]);
    pool.close();
  });

  it('a waiter bumps nothing; a release with a registered waiter bumps released and clears waiters', () => {
    const buffer = new SharedArrayBuffer(BufferPool.bytesFor(1, 8));
    const pool = BufferPool.create({ buffer, blockSize: 8, blockCount: 1 });
    const words = new Uint32Array(buffer);
    const { handle } = pool.acquire(0);
    assert.throws(() => pool.acquire(5), { code: 'ERR_POOL_EXHAUSTED' });
    assert.ok(Atomics.load(words, 20 / 4) > 0); // registered in waiters
    assert.strictEqual(Atomics.load(words, 24 / 4), 0);
    pool.release(handle);
    assert.deepStrictEqual([Atomics.load(words, 20 / 4), Atomics.load(words, 24 / 4)], [0, 1]);
    pool.close();
  });

  it('a waiter that asks for a batch of k frees is woken by the k-th; wanted is the smallest batch asked', () => {
    // A waiter written from "Waiting": read released, add 1 to waiters, lower wanted to k by CAS.
    const buffer = new SharedArrayBuffer(BufferPool.bytesFor(6, 8));
    const pool = BufferPool.create({ buffer, blockSize: 8, blockCount: 6 });
    const words = new Uint32Array(buffer);
    const [WAITERS, RELEASED, WANTED, FREED] = [20 / 4, 24 / 4, 32 / 4, 36 / 4];
    const register = (k) => {
      Atomics.add(words, WAITERS, 1);
      for (;;) {
        const w = Atomics.load(words, WANTED);
        if ((w !== 0 && w <= k) || Atomics.compareExchange(words, WANTED, w, k) === w) return;
      }
    };
    const held = Array.from({ length: 6 }, () => pool.acquire(0).handle);
    // With nobody registered a release writes only the block's state word.
    pool.release(held[0]);
    assert.deepStrictEqual([WAITERS, RELEASED, WANTED, FREED].map((i) => Atomics.load(words, i)), [0, 0, 0, 0]);
    held[0] = pool.acquire(0).handle;
    register(4);
    register(3); // another waiter asks for fewer: wanted is lowered
    register(5); // and one that asks for more leaves it
    assert.strictEqual(Atomics.load(words, WANTED), 3);
    pool.release(held[1]);
    pool.release(held[2]);
    assert.deepStrictEqual([WAITERS, RELEASED, WANTED, FREED].map((i) => Atomics.load(words, i)), [3, 0, 3, 2]);
    pool.release(held[3]); // the third free: one wake-up for every sleeper, and the words start over
    assert.deepStrictEqual([WAITERS, RELEASED, WANTED, FREED].map((i) => Atomics.load(words, i)), [0, 1, 0, 0]);
    // Closing (like the reclaim pass) frees n blocks at once and counts n: the handle's 3 blocks
    // wake a waiter that asked for 2.
    register(2);
    const holders = Array.from({ length: 6 }, (_, i) => Atomics.load(words, (8256 + 64 * i) / 4) & 0xffff);
    assert.deepStrictEqual(holders.filter((o) => o === 1).length, 3); // the creating handle's record
    pool.close(); // closing frees its 3 blocks at once: 3 >= 2
    assert.deepStrictEqual([WAITERS, RELEASED, WANTED, FREED].map((i) => Atomics.load(words, i)), [0, 2, 0, 0]);
  });
});
