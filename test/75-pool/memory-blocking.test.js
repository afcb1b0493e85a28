'use strict';
// Waiting in MemoryPool.allocate (docs/api.md "MemoryPool": allocate(size, timeoutMs),
// allocateAsync): a worker blocked in allocate() and a Promise pending in allocateAsync() get the
// fitting block another thread or process frees, or that a holder killed with SIGKILL leaves; a
// free of a block too small for them does not serve them; a timeout or an AbortSignal ends the
// wait with the pool unchanged; a waiting worker can be terminated; a size no class holds is
// refused at once. Many parties in threads and processes: every allocation is served by one block
// that no other party holds at the same time (an owner stamp in the block), and the blocks'
// counters add up to the allocations made.
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { MemoryPool } = require('../../index');
const { C, W } = require('../../lib/layout/layout');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, until, runNode, runAndKill, spawnChild } = require('../helpers/process');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'pools-child.js');
const withAddon = addon ? describe : describe.skip;
const throwsCode = (fn, code) => assert.throws(fn, (e) => e.code === code && typeof e.status === 'number');
const INDEX = 0xffff;
// The words the stamping parties write in each block they hold (pools-child.js): the holder's
// stamp, and the number of allocations the block served. The test's own bytes, not the format.
const STAMPED = 0;
const COUNTER = 1;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Two blocks of 64 bytes and one of 256; every block held by the returned pool handle.
const SMALL = [{ size: 64, count: 2 }, { size: 256, count: 1 }];
// The pool of the stamping parties: 5 blocks in three classes for sizes of 8 to 4000 bytes
// (pools-child.js MEMORY_SIZES), so that parties wait, and fall back to larger classes.
const STAMP = [{ size: 16, count: 2 }, { size: 256, count: 2 }, { size: 4096, count: 1 }];

function fullPool(classes) {
  const buffer = new SharedArrayBuffer(MemoryPool.bytesFor(classes));
  const pool = MemoryPool.create({ buffer, classes });
  const held = [];
  for (const k of classes) for (let i = 0; i < k.count; i++) held.push(pool.allocate(k.size, 0).handle);
  return { buffer, pool, held };
}

// A worker in allocate(size) on the pool in `buffer`: `waiting` resolves once it says it waits,
// `got` with the handle it gets.
function waitingWorker(buffer, size) {
  const w = new Worker(CHILD, { workerData: { mode: 'wait', buffer, kind: 'memory', size } });
  const messages = [];
  const got = new Promise((resolve, reject) => {
    w.on('message', (m) => {
      messages.push(m);
      const match = /^got (\d+)$/.exec(m);
      if (match) resolve(Number(match[1]));
    });
    w.once('error', reject);
  });
  const waiting = until(() => messages.includes('waiting'), 'the worker waiting', 30000);
  return { w, got, waiting };
}

// Takes every block of the pool with allocate(8, 0) (the smallest size falls back through every
// class) and returns the sum of the blocks' allocation counters (their second word) and of their
// stamps (their first word, 0 unless a party died holding the block).
function countersOf(pool) {
  const got = [];
  for (let i = 0; i < pool.stats().blockCount; i++) got.push(pool.allocate(8, 0));
  let served = 0;
  let stamps = 0;
  for (const g of got) {
    const words = new Int32Array(g.view.buffer, g.view.byteOffset, 2);
    served += words[COUNTER];
    stamps += words[STAMPED] === 0 ? 0 : 1;
    pool.free(g.handle);
  }
  return { served, stamps };
}

describe('MemoryPool: waiting for a free block', () => {
  it('a worker blocked in allocate(200) is not served by a free 64-byte block; it gets the 256-byte block freed', async function () {
    this.timeout(60000);
    const { buffer, pool, held } = fullPool(SMALL);
    const { w, got, waiting } = waitingWorker(buffer, 200);
    await waiting;
    pool.free(held[0]); // too small for the waiter: it wakes, finds no fitting block and sleeps again
    await sleep(100);
    pool.free(held[2]);
    const handle = await got;
    assert.strictEqual(handle & INDEX, held[2] & INDEX);
    assert.notStrictEqual(handle, held[2]); // the next generation
    assert.deepStrictEqual(pool.stats().classes.map((k) => [k.free, k.held]), [[1, 1], [0, 1]]);
    assert.strictEqual(pool.view(handle).length, 200);
    await w.terminate();
    pool.close();
  });

  it('one wake word for every class: a waiter registers; a free of any class clears waiters and bumps released', async function () {
    this.timeout(60000);
    const { buffer, pool, held } = fullPool(SMALL);
    const head = new Uint32Array(buffer, C.POOL_HEADER_OFFSET, W.POOL_HEADER.WORDS);
    const waiters = () => Atomics.load(head, W.POOL_HEADER.WAITERS);
    const released = () => Atomics.load(head, W.POOL_HEADER.RELEASED);
    const before = released();
    const p = pool.allocateAsync(200, { timeoutMs: 60000 });
    assert.ok(waiters() > 0);
    pool.free(held[0]); // a class too small for the waiter still wakes it
    assert.deepStrictEqual([waiters(), released()], [0, before + 1]);
    await until(() => waiters() > 0, 'the waiter registered again', 30000);
    pool.free(held[2]);
    assert.strictEqual(released(), before + 2);
    const r = await p;
    assert.strictEqual(r.handle & INDEX, held[2] & INDEX);
    pool.close();
  });

  it('allocateAsync() waits without blocking the event loop and resolves with the block another handle frees', async function () {
    this.timeout(60000);
    const { buffer, pool, held } = fullPool(SMALL);
    const other = MemoryPool.open({ buffer });
    let settled = false;
    const p = other.allocateAsync(60, { timeoutMs: 60000 }).then((r) => { settled = true; return r; });
    let ticks = 0;
    await new Promise((resolve) => { const t = setInterval(() => { if (++ticks === 3) { clearInterval(t); resolve(); } }, 5); });
    assert.strictEqual(settled, false);
    pool.free(held[1]);
    const r = await p;
    assert.strictEqual(r.handle & INDEX, held[1] & INDEX);
    assert.strictEqual(r.view.length, 60);
    assert.strictEqual(pool.view(r.handle), pool.view(r.handle));
    assert.deepStrictEqual([pool.stats().free, pool.stats().mine, other.stats().mine], [0, 2, 1]);
    other.close();
    pool.close();
  });

  it('an allocateAsync() that finds a fitting block registers no waiter: the frees after it wake nobody', async () => {
    const { buffer, pool, held } = fullPool(SMALL);
    const head = new Uint32Array(buffer, C.POOL_HEADER_OFFSET, W.POOL_HEADER.WORDS);
    const waiters = () => Atomics.load(head, W.POOL_HEADER.WAITERS);
    const released = () => Atomics.load(head, W.POOL_HEADER.RELEASED);
    pool.free(held[2]);
    const before = released();
    for (const size of [200, 100, 256]) {
      const { handle } = await pool.allocateAsync(size);
      assert.strictEqual(waiters(), 0);
      pool.free(handle);
    }
    pool.free(held[0]);
    pool.free(held[1]);
    assert.strictEqual(released(), before);
    pool.close();
  });

  it('an allocateAsync() woken to a freed block takes it without registering again', async () => {
    const { buffer, pool, held } = fullPool(SMALL);
    const head = new Uint32Array(buffer, C.POOL_HEADER_OFFSET, W.POOL_HEADER.WORDS);
    const waiters = () => Atomics.load(head, W.POOL_HEADER.WAITERS);
    const pending = pool.allocateAsync(200, { timeoutMs: 10000 });
    assert.strictEqual(waiters(), 1); // registered before it parked
    pool.free(held[2]); // takes the registration and wakes it
    const { handle } = await pending;
    assert.strictEqual(waiters(), 0);
    pool.free(handle);
    pool.free(held[0]);
    pool.free(held[1]);
    pool.close();
  });

  it('a timeout ends the wait with ERR_POOL_EXHAUSTED and the pool unchanged', async () => {
    const { pool, held } = fullPool(SMALL);
    pool.free(held[0]); // a small block is free: it serves no waiter for more than 64 bytes
    throwsCode(() => pool.allocate(100, 0), 'ERR_POOL_EXHAUSTED');
    throwsCode(() => pool.allocate(100, 20), 'ERR_POOL_EXHAUSTED');
    await assert.rejects(pool.allocateAsync(256, { timeoutMs: 20 }), { code: 'ERR_POOL_EXHAUSTED' });
    const s = pool.stats();
    assert.deepStrictEqual([s.free, s.held, s.mine], [1, 2, 2]);
    assert.strictEqual(pool.allocate(64, 0).view.length, 64);
    pool.close();
  });

  it('an AbortSignal ends allocateAsync() with its reason; the pool is unchanged and usable', async function () {
    this.timeout(60000);
    const { pool, held } = fullPool(SMALL);
    const ac = new AbortController();
    const p = pool.allocateAsync(10, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 10);
    await assert.rejects(p, { message: 'stop' });
    await assert.rejects(pool.allocateAsync(10, { signal: AbortSignal.abort() }), { name: 'AbortError' });
    assert.deepStrictEqual([pool.stats().free, pool.stats().held], [0, 3]);
    pool.free(held[2]);
    const r = await pool.allocateAsync(10, { signal: new AbortController().signal, timeoutMs: 1000 });
    assert.strictEqual(r.handle & INDEX, held[2] & INDEX);
    assert.deepStrictEqual([pool.stats().free, pool.stats().held], [0, 3]);
    pool.close();
  });

  it('a size no class holds is a RangeError at once, never a wait; bad timeouts and options are refused', async () => {
    const { pool } = fullPool(SMALL);
    assert.throws(() => pool.allocate(257), RangeError); // default timeout: forever
    assert.throws(() => pool.allocate(257, Infinity), RangeError);
    assert.throws(() => pool.allocate(0, 10), RangeError);
    assert.throws(() => pool.allocate('8', 10), TypeError);
    await assert.rejects(pool.allocateAsync(257), RangeError);
    await assert.rejects(pool.allocateAsync(), TypeError);
    assert.throws(() => pool.allocate(8, -1), RangeError);
    assert.throws(() => pool.allocate(8, NaN), RangeError);
    assert.throws(() => pool.allocate(8, '10'), TypeError);
    await assert.rejects(pool.allocateAsync(8, { timeoutMs: -5 }), RangeError);
    await assert.rejects(pool.allocateAsync(8, { signal: {} }), TypeError);
    await assert.rejects(pool.allocateAsync(8, { wait: 1 }), TypeError);
    await assert.rejects(pool.allocateAsync(8, 5), TypeError);
    assert.deepStrictEqual([pool.stats().free, pool.stats().held], [0, 3]);
    pool.close();
    throwsCode(() => pool.allocate(8, 0), 'ERR_CLOSED');
    await assert.rejects(pool.allocateAsync(8), { code: 'ERR_CLOSED' });
  });

  it('an allocateAsync() that took a block in the tick its handle closes rejects, and records no length', async () => {
    const buffer = new SharedArrayBuffer(MemoryPool.bytesFor([{ size: 256, count: 1 }]));
    const pool = MemoryPool.create({ buffer, classes: [{ size: 256, count: 1 }] });
    const closing = MemoryPool.open({ buffer });
    const p = closing.allocateAsync(200); // takes the only block at once, resolves a tick later
    closing.close(); // frees it
    const other = pool.tryAllocate(10);
    assert.notStrictEqual(other, null);
    await assert.rejects(p, { code: 'ERR_CLOSED' });
    // The block is the other party's, with the length its allocate asked for.
    assert.strictEqual(pool.view(other.handle).length, 10);
    pool.free(other.handle);
    pool.close();
  });

  it('closing the handle while allocateAsync() waits rejects it with ERR_CLOSED', async function () {
    this.timeout(60000);
    const { buffer, pool } = fullPool(SMALL);
    const other = MemoryPool.open({ buffer });
    const p = other.allocateAsync(8, { timeoutMs: 60000 });
    other.close();
    await assert.rejects(p, { code: 'ERR_CLOSED' });
    assert.deepStrictEqual([pool.stats().free, pool.stats().held], [0, 3]);
    pool.close();
  });

  it('4 worker threads × 3000 allocations of mixed sizes over 5 blocks: each served once, no block in two hands', async function () {
    this.timeout(120000);
    const buffer = new SharedArrayBuffer(MemoryPool.bytesFor(STAMP));
    const pool = MemoryPool.create({ buffer, classes: STAMP });
    const rounds = 3000;
    const rs = await Promise.all([1, 2, 3, 4].map((id) => new Promise((resolve, reject) => {
      const w = new Worker(CHILD, { workerData: { mode: 'stamp', kind: 'memory', buffer, id, rounds } });
      w.on('message', (m) => { if (m !== 'ready') resolve(m); });
      w.once('error', reject);
    })));
    assert.deepStrictEqual(rs, [1, 2, 3, 4].map(() => ({ acquired: rounds, violations: 0 })));
    assert.deepStrictEqual([pool.stats().free, pool.stats().held], [5, 0]);
    assert.deepStrictEqual(countersOf(pool), { served: 4 * rounds, stamps: 0 });
    pool.close();
  });

  withAddon('with the addon', () => {
    it('terminate() of a worker blocked in allocate() leaves the pool whole and usable', async function () {
      this.timeout(60000);
      const { buffer, pool, held } = fullPool(SMALL);
      const { w, waiting } = waitingWorker(buffer, 100);
      await waiting;
      await w.terminate();
      for (const h of held) pool.free(h);
      assert.deepStrictEqual([pool.stats().free, pool.stats().held], [3, 0]);
      const again = [pool.allocate(64, 0), pool.allocate(64, 0), pool.allocate(256, 0)];
      assert.strictEqual(new Set(again.map((g) => g.handle & INDEX)).size, 3);
      pool.close();
    });

    it('a process blocked in allocate() wakes when another process frees a fitting block', async function () {
      this.timeout(60000);
      const name = uniqueName('mpool-wait');
      const pool = MemoryPool.create({ name, classes: SMALL });
      try {
        const held = [pool.allocate(64, 0).handle, pool.allocate(64, 0).handle, pool.allocate(256, 0).handle];
        const { exited, output } = spawnChild(CHILD, ['wait-memory', name, 64]);
        await until(() => output().includes('waiting'), 'the child waiting', 30000);
        pool.free(held[1]);
        const { code, out, err } = await exited;
        assert.strictEqual(code, 0, err);
        const m = /got (\d+)/.exec(out);
        assert.ok(m, out);
        assert.strictEqual(Number(m[1]) & INDEX, held[1] & INDEX);
        // The child closed its handle, which freed the block it got.
        assert.deepStrictEqual([pool.stats().free, pool.stats().held, pool.stats().mine], [1, 2, 2]);
      } finally {
        pool.close();
        removeShm(name);
      }
    });

    it('2 processes × 2 worker threads × 5000 allocations: each served once, no block in two hands', async function () {
      this.timeout(300000);
      const name = uniqueName('mpool-stamp');
      const pool = MemoryPool.create({ name, classes: STAMP });
      try {
        const runs = await Promise.all([0, 1].map(() => runNode(CHILD, ['stamp-memory', name, '5000', '2'], { timeoutMs: 240000 })));
        for (const r of runs) {
          assert.strictEqual(r.code, 0, r.stderr);
          assert.deepStrictEqual(r.stdout.trim().split('\n'), ['ready', 'acquired 10000 violations 0']);
        }
        assert.deepStrictEqual([pool.stats().free, pool.stats().held], [5, 0]);
        assert.deepStrictEqual(countersOf(pool), { served: 20000, stamps: 0 });
      } finally {
        pool.close();
        removeShm(name);
      }
    });

    it('a holder killed with SIGKILL wakes a worker blocked in allocate() and a pending allocateAsync()', async function () {
      this.timeout(60000);
      const name = uniqueName('mpool-kill-wait');
      const classes = [{ size: 64, count: 1 }, { size: 1024, count: 2 }];
      const pool = MemoryPool.create({ name, classes });
      try {
        const small = pool.allocate(64, 0).handle; // this handle keeps the small block
        const holder = spawnChild(CHILD, ['hold-memory', name, 500, 2]);
        await until(() => holder.output().includes('holding'), 'the child holding', 30000);
        const w = new Worker(CHILD, { workerData: { mode: 'wait', name, kind: 'memory', size: 1000 } });
        const messages = [];
        const workerGot = new Promise((resolve, reject) => {
          w.on('message', (m) => { messages.push(m); const g = /^got (\d+)$/.exec(m); if (g) resolve(Number(g[1])); });
          w.once('error', reject);
        });
        await until(() => messages.includes('waiting'), 'the worker waiting', 30000);
        const p = pool.allocateAsync(600, { timeoutMs: 60000 });
        holder.c.kill('SIGKILL');
        assert.strictEqual((await holder.exited).signal, 'SIGKILL');
        const [h1, r2] = await Promise.all([workerGot, p]);
        assert.deepStrictEqual(new Set([h1 & INDEX, r2.handle & INDEX]), new Set([1, 2]));
        assert.strictEqual(r2.view.length, 600);
        const s = pool.stats();
        assert.deepStrictEqual([s.free, s.held], [0, 3]);
        assert.strictEqual(pool.view(small).length, 64);
        await w.terminate();
      } finally {
        pool.close();
        removeShm(name);
      }
    });

    it('stampers killed with SIGKILL at random moments while others wait: every block is free after reclaim', async function () {
      this.timeout(120000);
      const name = uniqueName('mpool-kill');
      const pool = MemoryPool.create({ name, classes: STAMP });
      try {
        const runs = await Promise.all([0, 1].map(() => runAndKill(CHILD, ['stamp-memory', name, '1000000000', '2'], { ready: /ready/, maxDelayMs: 1000 })));
        for (const r of runs) assert.strictEqual(r.signal, 'SIGKILL', r.stderr);
        pool.reclaim();
        assert.deepStrictEqual([pool.stats().free, pool.stats().held], [5, 0]);
        // Every block can be taken again (a stamp a killed party left stays in its free block).
        const { served } = countersOf(pool);
        assert.ok(served > 0);
      } finally {
        pool.close();
        removeShm(name);
      }
    });
  });
});
