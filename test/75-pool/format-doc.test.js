'use strict';
// docs/format.md §17 claims to specify the buffer pool exactly enough for an independent reader.
// layout-ok-file: this file reads the bytes with the document's offsets on purpose, never
// lib/layout/layout.js (a layout that drifted from docs/format.md must fail here).
const assert = require('assert');
const { BufferPool } = require('../../index');

// A pool read from its bytes as the document describes it.
function readPool(buffer, byteOffset = 0) {
  const dv = new DataView(buffer, byteOffset);
  const u32 = (at) => dv.getUint32(at, true);
  const pool = { magic: u32(0), kind: u32(4), version: u32(8), blockSize: u32(12), blockCount: u32(16) };
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
      assert.deepStrictEqual([r.magic, r.kind, r.version, r.blockSize, r.blockCount], [0x4c4f4f50, 1, 1, size, count]);
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
