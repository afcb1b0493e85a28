'use strict';
// MemoryPool (docs/api.md "MemoryPool"): allocate(size) takes the smallest class that fits, then
// a larger one when that is exhausted, and ERR_POOL_EXHAUSTED when every fitting class is; a
// handle reopens the same bytes in another handle or process (view) and any handle frees it;
// stats per class; the blocks of a process killed with SIGKILL are reclaimed; bad sizes, classes
// and handles are refused with the pool unchanged, and so is a damaged length word (ERR_CORRUPT);
// the registry hosts it (kind "memory-pool").
const assert = require('assert');
const path = require('path');
const { spawn } = require('child_process');
const { MemoryPool, BufferPool, Registry, layout: { C, W } } = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, until } = require('../helpers/process');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'pools-child.js');
const withAddon = addon ? describe : describe.skip;
const throwsCode = (fn, code) => assert.throws(fn, (e) => e.code === code && typeof e.status === 'number');
const held = (pool) => pool.stats().classes.map((k) => k.held);

function sabPool(classes) {
  const buffer = new SharedArrayBuffer(MemoryPool.bytesFor(classes));
  return { buffer, pool: MemoryPool.create({ buffer, classes }) };
}

describe('MemoryPool', () => {
  it('powersOfTwo() lists the classes; allocate() takes the smallest class that fits', () => {
    const classes = MemoryPool.powersOfTwo(64, 1024, 2);
    assert.deepStrictEqual(classes.map((k) => k.size), [64, 128, 256, 512, 1024]);
    const { pool } = sabPool(classes);
    assert.strictEqual(pool.maxSize, 1024);
    const cases = [[1, 0], [64, 0], [65, 1], [128, 1], [300, 3], [1024, 4]];
    const got = cases.map(([size]) => pool.allocate(size));
    assert.deepStrictEqual(held(pool), [2, 2, 0, 1, 1]);
    got.forEach((g, i) => assert.strictEqual(g.view.length, cases[i][0]));
    for (const g of got) pool.free(g.handle);
    assert.deepStrictEqual(held(pool), [0, 0, 0, 0, 0]);
    pool.close();
  });

  it('falls back to a larger class when one is exhausted, then ERR_POOL_EXHAUSTED; views are disjoint', () => {
    const { pool } = sabPool([{ size: 100, count: 2 }, { size: 1000, count: 1 }, { size: 5000, count: 1 }]);
    const got = [];
    for (let i = 0; i < 4; i++) got.push(pool.allocate(50));
    assert.deepStrictEqual(held(pool), [2, 1, 1]);
    got.forEach((g, i) => g.view.fill(i + 1));
    got.forEach((g, i) => assert.ok(g.view.every((b) => b === i + 1), `block ${i} overwritten`));
    assert.strictEqual(pool.tryAllocate(10), null);
    throwsCode(() => pool.allocate(10, 0), 'ERR_POOL_EXHAUSTED');
    pool.free(got[2].handle); // the 1000-byte block
    throwsCode(() => pool.allocate(1001, 0), 'ERR_POOL_EXHAUSTED'); // only a smaller class is free
    assert.strictEqual(pool.allocate(1000).view.length, 1000);
    const s = pool.stats();
    assert.deepStrictEqual([s.blockCount, s.free, s.held, s.mine], [4, 0, 4, 4]);
    assert.deepStrictEqual(s.classes[0], { size: 100, count: 2, free: 0, held: 2, mine: 2 });
    pool.close();
  });

  it('another handle reopens a block by its handle (the allocated length) and frees it', () => {
    const { buffer, pool } = sabPool(MemoryPool.powersOfTwo(64, 256, 2));
    const other = MemoryPool.open({ buffer });
    assert.deepStrictEqual(other.classes, pool.classes);
    const { handle, view } = pool.allocate(100);
    view.set([1, 2, 3], 97);
    const seen = other.view(handle);
    assert.strictEqual(seen.length, 100);
    assert.deepStrictEqual([...seen.subarray(97)], [1, 2, 3]);
    assert.strictEqual(other.take(handle), other.view(handle));
    assert.strictEqual(pool.stats().mine, 0);
    assert.strictEqual(other.stats().mine, 1);
    other.free(handle);
    throwsCode(() => pool.free(handle), 'ERR_BAD_HANDLE');
    throwsCode(() => pool.view(handle), 'ERR_BAD_HANDLE');
    assert.strictEqual(pool.stats().held, 0);
    other.close();
    pool.close();
  });

  it('bad sizes, classes and handles are refused and change nothing', () => {
    const classes = [{ size: 64, count: 2 }, { size: 256, count: 1 }];
    const { buffer, pool } = sabPool(classes);
    const a = pool.allocate(10);
    assert.throws(() => pool.allocate(0), RangeError);
    assert.throws(() => pool.allocate(257), RangeError);
    assert.throws(() => pool.allocate(1.5), RangeError);
    assert.throws(() => pool.allocate('8'), TypeError);
    assert.throws(() => pool.tryAllocate(undefined), TypeError);
    throwsCode(() => pool.free(a.handle + 1), 'ERR_BAD_HANDLE'); // block 1: free
    throwsCode(() => pool.free(99), 'ERR_BAD_HANDLE'); // block 99 of 3
    throwsCode(() => pool.free(-1), 'ERR_BAD_HANDLE');
    assert.deepStrictEqual(held(pool), [1, 0]);
    const sab = new SharedArrayBuffer(MemoryPool.bytesFor(classes));
    for (const bad of [[], [{ size: 64, count: 1 }, { size: 64, count: 1 }], [{ size: 0, count: 1 }],
      [{ size: 64, count: 0 }], [{ size: 64, count: 40000 }, { size: 128, count: 40000 }], [{ size: 64 }],
      [{ size: 64, count: 1, extra: 1 }], Array.from({ length: 33 }, (_, i) => ({ size: i + 1, count: 1 }))]) {
      assert.throws(() => MemoryPool.create({ buffer: sab, classes: bad }), (e) => e instanceof RangeError || e instanceof TypeError, JSON.stringify(bad));
    }
    assert.throws(() => MemoryPool.create({ buffer: sab }), TypeError);
    assert.throws(() => MemoryPool.create({ buffer: sab, classes: 'x' }), TypeError);
    assert.throws(() => MemoryPool.powersOfTwo(128, 64, 1), RangeError);
    assert.ok(new Uint8Array(sab).every((b) => b === 0));
    throwsCode(() => BufferPool.open({ buffer }), 'ERR_BAD_MAGIC');
    pool.close();
    throwsCode(() => pool.allocate(1), 'ERR_CLOSED');
  });

  it('a class list with a hole is a TypeError with code ERR_INVALID_ARG naming the hole; nothing is created', () => {
    const sab = new SharedArrayBuffer(1 << 16);
    // Arrays of `length` with classes at `at` (index: class) and holes elsewhere.
    const sparse = (length, at) => Object.assign(new Array(length), at);
    const holes = [[sparse(2, { 1: { size: 64, count: 1 } }), 0], [sparse(3, { 0: { size: 64, count: 1 }, 2: { size: 128, count: 1 } }), 1],
      [sparse(2, { 0: { size: 64, count: 1 } }), 1]];
    for (const [classes, hole] of holes) {
      assert.ok(!(hole in classes));
      const named = (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG' && e.message.includes(`classes[${hole}]`);
      assert.throws(() => MemoryPool.create({ buffer: sab, classes }), named);
      assert.throws(() => MemoryPool.bytesFor(classes), named);
    }
    assert.ok(new Uint8Array(sab).every((b) => b === 0));
  });

  // A block's length word holds what its allocate asked for, at most its class's size (format.md
  // §17): a larger one is damage. A view of it would cover the next block, or reach out of the
  // pool's region (a RangeError where the memory ends).
  it('view() and take() of a block whose length word exceeds its class are ERR_CORRUPT and change nothing', () => {
    const { buffer, pool } = sabPool([{ size: 64, count: 2 }, { size: 256, count: 1 }]);
    const other = MemoryPool.open({ buffer });
    const a = pool.allocate(64);
    const b = pool.allocate(64);
    b.view.fill(7);
    const u32 = new Uint32Array(buffer);
    const index = a.handle & C.POOL_INDEX_MASK;
    const length = C.POOL_MEMORY_BLOCKS_OFFSET / Uint32Array.BYTES_PER_ELEMENT + index * W.POOL_BLOCK.WORDS + W.POOL_BLOCK.LENGTH;
    for (const damaged of [65, 64 + C.POOL_BLOCK_ALIGN, 0x7fffffff]) {
      Atomics.store(u32, length, damaged);
      throwsCode(() => pool.view(a.handle), 'ERR_CORRUPT');
      throwsCode(() => other.take(a.handle), 'ERR_CORRUPT');
    }
    assert.deepStrictEqual([pool.stats().mine, other.stats().mine], [2, 0]); // no take happened
    Atomics.store(u32, length, 64);
    assert.strictEqual(other.take(a.handle).length, 64);
    assert.ok(b.view.every((x) => x === 7));
    other.close();
    pool.close();
  });

  withAddon('with the addon', () => {
    it('a process shares its blocks by handle; killed with SIGKILL, its blocks are reclaimed', async function () {
      this.timeout(60000);
      const name = uniqueName('mpool');
      const pool = MemoryPool.create({ name, classes: MemoryPool.powersOfTwo(64, 4096, 3) });
      try {
        const c = spawn(process.execPath, [CHILD, 'hold-memory', name, '1000', '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        c.stdout.on('data', (d) => { out += d; });
        const exited = new Promise((resolve) => c.once('exit', (code, signal) => resolve(signal)));
        await until(() => /holding [\d,]+\n/.test(out), 'the child holding', 30000);
        const handles = /holding ([\d,]+)/.exec(out)[1].split(',').map(Number);
        for (const h of handles) {
          const view = pool.view(h);
          assert.strictEqual(view.length, 1000);
          assert.ok(view.every((b) => b === 0xa5));
        }
        assert.deepStrictEqual(held(pool), [0, 0, 0, 0, 3, 0, 0]);
        c.kill('SIGKILL');
        assert.strictEqual(await exited, 'SIGKILL');
        await until(() => pool.reclaim() > 0 || pool.stats().held === 0, 'the blocks reclaimed', 20000);
        assert.deepStrictEqual(pool.stats().held, 0);
        for (const h of handles) throwsCode(() => pool.view(h), 'ERR_BAD_HANDLE');
        assert.strictEqual(pool.allocate(1000).view.length, 1000);
      } finally {
        pool.close();
        removeShm(name);
      }
    });

    it('is created and opened by name through the registry (kind "memory-pool"); list() shows its classes', () => {
      const name = uniqueName('mpool-reg');
      const reg = Registry.create({ name, size: 1024 * 1024 });
      try {
        const classes = MemoryPool.powersOfTwo(64, 1024, 4);
        const a = reg.create('memory-pool', 'scratch', { classes });
        assert.ok(a instanceof MemoryPool);
        const b = reg.open('memory-pool', 'scratch');
        const { handle, view } = a.allocate(200);
        view[199] = 9;
        assert.strictEqual(b.view(handle)[199], 9);
        b.free(handle);
        const entry = reg.list().find((e) => e.name === 'scratch');
        assert.deepStrictEqual([entry.kind, entry.options], ['memory-pool', { classes }]);
        assert.throws(() => reg.create('memory-pool', 'bad', { classes: [] }), RangeError);
        assert.throws(() => reg.create('memory-pool', 'bad', {}), TypeError);
        a.close();
        b.close();
        reg.delete('scratch');
      } finally {
        reg.close();
        removeShm(name);
      }
    });
  });
});
