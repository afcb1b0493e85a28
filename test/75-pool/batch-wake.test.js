'use strict';
// Waking in batches (docs/format.md §17, "Waiting"): a blocked acquire() of a buffer or object
// pool asks to be woken once half the blocks (at most 8) were freed, so that a consumer releasing
// handed-off blocks one by one wakes the producer once per batch. What a user relies on: a single
// release still reaches a waiter (the batch wait is bounded), a waiter terminated while it waits
// for a batch leaves nothing that stops the next one, and a stream of hand-offs between threads
// delivers every payload exactly once, in order, with every block back in the pool at the end.
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { BufferPool, ObjectPool, MpmcQueue } = require('../../index');
const { C, W } = require('../../lib/layout/layout');
const { addon } = require('../../lib/base/native');
const { fullPool } = require('../helpers/pools');
const { until, uniqueName, removeShm, spawnChild } = require('../helpers/process');

const POOLS = path.join(__dirname, '..', 'helpers', 'children', 'pools-child.js');
const HANDOFF = path.join(__dirname, '..', 'helpers', 'children', 'handoff-worker.js');
const HDR = C.POOL_HEADER_OFFSET / Uint32Array.BYTES_PER_ELEMENT;

// A worker in acquire() on the full pool in `buffer`; resolves `got` with the handle it gets.
function waiter(buffer, kind) {
  const w = new Worker(POOLS, { workerData: { mode: 'wait', buffer, kind } });
  const got = new Promise((resolve, reject) => {
    w.on('message', (m) => { if (m.startsWith('got ')) resolve(Number(m.slice(4))); });
    w.once('error', reject);
  });
  return { w, got };
}

const withAddon = addon ? it : it.skip;

// Resolves once more than `before` waiters registered (`waiters` of the header). A waiter asks
// for its batch in `wanted` first and for one free after a batch wait of 1 ms ran out, so what
// `wanted` holds by then is not checked here (format-doc.test.js checks the words).
const registered = (header, before = 0) => until(() => Atomics.load(header, HDR + W.POOL_HEADER.WAITERS) > before,
  'a waiter registered', 30000);

describe('Pools: waking in batches', () => {
  it('closing a handle counts the blocks it frees toward the batch a sleeper asked for, and wakes only at the batch', () => {
    // A sleeper registered for a batch of 3 (the header words as a sleeping acquire leaves them).
    const { buffer, pool, held, header } = fullPool(BufferPool, 8);
    const word = (f) => HDR + W.POOL_HEADER[f];
    for (const h of held.slice(0, 4)) pool.release(h);
    const other = BufferPool.open({ buffer });
    const mine = [other.acquire(0).handle, other.acquire(0).handle];
    for (const h of held.slice(4, 6)) pool.release(h);
    const more = [other.acquire(0).handle, other.acquire(0).handle, other.acquire(0).handle, other.acquire(0).handle];
    assert.strictEqual(pool.stats().free, 0);
    Atomics.store(header, word('WAITERS'), 1);
    Atomics.store(header, word('WANTED'), 3);
    const released = Atomics.load(header, word('RELEASED'));
    // Two blocks of the four `other` holds go back by release, one at a time: 2 of 3 counted.
    other.release(mine[0]);
    other.release(mine[1]);
    assert.deepStrictEqual([Atomics.load(header, word('FREED')), Atomics.load(header, word('RELEASED'))], [2, released]);
    // Closing frees the other four at once: the sum passes 3, the sleeper is woken once.
    other.close();
    assert.strictEqual(more.length, 4);
    assert.deepStrictEqual(
      ['WAITERS', 'WANTED', 'FREED', 'RELEASED'].map((f) => Atomics.load(header, word(f))),
      [0, 0, 0, released + 1]);
    assert.strictEqual(pool.stats().free, 6);
    pool.close();
  });

  it('a close that frees fewer blocks than the batch asked for counts them and does not wake', () => {
    const { buffer, pool, held, header } = fullPool(BufferPool, 8);
    const word = (f) => HDR + W.POOL_HEADER[f];
    pool.release(held[0]);
    const other = BufferPool.open({ buffer });
    other.acquire(0);
    Atomics.store(header, word('WAITERS'), 1);
    Atomics.store(header, word('WANTED'), 4);
    const released = Atomics.load(header, word('RELEASED'));
    other.close();
    assert.deepStrictEqual(
      ['WAITERS', 'WANTED', 'FREED', 'RELEASED'].map((f) => Atomics.load(header, word(f))),
      [1, 4, 1, released]);
    pool.close();
  });

  for (const Class of [BufferPool, ObjectPool]) {
    it(`${Class.name}: a waiter on 16 blocks (a batch of 8) gets the one block released`, async function () {
      this.timeout(60000);
      const { buffer, pool, held, header } = fullPool(Class, 16);
      const { w, got } = waiter(buffer, Class === BufferPool ? 'buffer' : 'object');
      await registered(header);
      pool.release(held[5]);
      const handle = await got;
      assert.strictEqual(handle & 0xffff, held[5] & 0xffff);
      assert.strictEqual(handle >>> 16, (held[5] >>> 16) + 1);
      const s = pool.stats();
      assert.deepStrictEqual([s.free, s.held, s.mine], [0, 16, 15]);
      await w.terminate();
      pool.close();
    });
  }

  it('pools of 6 blocks (a batch of 3) and of 1 block (no batch): the waiter gets the block released', async function () {
    this.timeout(60000);
    for (const count of [6, 1]) {
      const { buffer, pool, held, header } = fullPool(BufferPool, count);
      const { w, got } = waiter(buffer, 'buffer');
      await registered(header);
      pool.release(held[0]);
      assert.strictEqual((await got) & 0xffff, held[0] & 0xffff);
      await w.terminate();
      pool.close();
    }
  });

  it('terminate() of a worker waiting for a batch: the next waiter still gets a single released block', async function () {
    this.timeout(60000);
    const { buffer, pool, held, header } = fullPool(BufferPool, 16);
    const first = waiter(buffer, 'buffer');
    await registered(header);
    await first.w.terminate();
    // Its registrations stay (waiters, wanted): the next waiter's own wait is what must work.
    const second = waiter(buffer, 'buffer');
    await registered(header, Atomics.load(header, HDR + W.POOL_HEADER.WAITERS));
    pool.release(held[9]);
    assert.strictEqual((await second.got) & 0xffff, held[9] & 0xffff);
    const s = pool.stats();
    assert.deepStrictEqual([s.free, s.held], [0, 16]);
    await second.w.terminate();
    // The terminated waiter held nothing; the pool is whole once the main handle lets go.
    pool.close();
    const again = BufferPool.open({ buffer });
    assert.strictEqual(again.reclaim(), 1); // the second waiter's block (its worker is gone)
    assert.deepStrictEqual(again.stats(), { blockCount: 16, free: 16, held: 0, mine: 0 });
    again.close();
  });

  withAddon('a process waiting for a batch of 8 gets each of 16 blocks released one at a time by another process', async function () {
    this.timeout(120000);
    const name = uniqueName('pool-batch');
    const pool = BufferPool.create({ name, blockCount: 16, blockSize: 64 });
    const header = new Uint32Array(pool.buffer, C.POOL_HEADER_OFFSET, W.POOL_HEADER.WORDS);
    try {
      const held = [];
      for (let i = 0; i < 16; i++) held.push(pool.acquire(0).handle);
      const child = spawnChild(POOLS, ['wait-many', name, '16']);
      for (let i = 0; i < 16; i++) {
        // The child polls before it sleeps: each release here waits until it sleeps, so that every
        // one of them has to reach a sleeper through the wake-up (a single free of a batch of 8).
        await registered(header);
        pool.release(held[i]);
        await until(() => child.output().includes(`got ${i + 1} `), `the child's block ${i + 1}`, 30000);
        const m = new RegExp(`got ${i + 1} (\\d+)`).exec(child.output());
        assert.strictEqual(Number(m[1]) & 0xffff, held[i] & 0xffff);
      }
      const r = await child.exited;
      assert.strictEqual(r.code, 0, r.err);
      // The child closed its handle, which freed the 16 blocks it got.
      assert.deepStrictEqual(pool.stats(), { blockCount: 16, free: 16, held: 0, mine: 0 });
    } finally {
      pool.close();
      removeShm(name);
    }
  });

  it('a blocked acquire() whose timeout is shorter than its polling budget ends with ERR_POOL_EXHAUSTED, pool unchanged', () => {
    const { pool, held } = fullPool(BufferPool, 16);
    for (const ms of [0.001, 0.01, 0.05, 1]) {
      assert.throws(() => pool.acquire(ms), (e) => e.code === 'ERR_POOL_EXHAUSTED' && typeof e.status === 'number');
    }
    assert.deepStrictEqual(pool.stats(), { blockCount: 16, free: 0, held: 16, mine: 16 });
    pool.release(held[3]);
    assert.strictEqual(pool.acquire(1).handle & 0xffff, held[3] & 0xffff);
    pool.close();
  });

  it('20000 hand-offs between two worker threads through 16 blocks: each once, in order, every block back', async function () {
    this.timeout(120000);
    const n = 20000;
    const poolBuffer = new SharedArrayBuffer(BufferPool.bytesFor(16, 4096));
    const queueBuffer = new SharedArrayBuffer(MpmcQueue.bytesFor(16, { messageBytes: 16 }));
    const pool = BufferPool.create({ buffer: poolBuffer, blockCount: 16, blockSize: 4096 });
    const q = MpmcQueue.create({ buffer: queueBuffer, capacity: 16, messageBytes: 16 });
    const run = (role) => new Promise((resolve, reject) => {
      const w = new Worker(HANDOFF, { workerData: { role, pool: poolBuffer, queue: queueBuffer, n } });
      w.once('message', resolve);
      w.once('error', reject);
    });
    const [produced, consumed] = await Promise.all([run('produce'), run('consume')]);
    assert.strictEqual(produced, 'done');
    assert.deepStrictEqual(consumed, { count: n, sum: (n * (n - 1)) / 2, bad: 0 });
    assert.deepStrictEqual(pool.stats(), { blockCount: 16, free: 16, held: 0, mine: 0 });
    assert.strictEqual(q.size, 0);
    q.close();
    pool.close();
  });
});
