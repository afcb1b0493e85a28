'use strict';
// Waiting for a free block (docs/api.md "BufferPool": acquire(timeoutMs), acquireAsync): a
// worker blocked in acquire() and a Promise pending in acquireAsync() get the block another
// thread or process releases, or that a killed holder leaves; a timeout or an AbortSignal ends
// the wait with the pool unchanged; a waiting worker can be terminated; bad arguments are refused.
const assert = require('assert');
const path = require('path');
const { spawn } = require('child_process');
const { Worker } = require('worker_threads');
const { BufferPool, ObjectPool } = require('../../index');
const { W } = require('../../lib/layout/layout');
const { addon } = require('../../lib/base/native');
const { fullPool } = require('../helpers/pools');
const { uniqueName, removeShm, until } = require('../helpers/process');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'pools-child.js');
const withAddon = addon ? describe : describe.skip;
const throwsCode = (fn, code) => assert.throws(fn, (e) => e.code === code && typeof e.status === 'number');

// A worker in acquire() on the pool in `buffer`: resolves once it says it waits; `got` when it has a block.
function waitingWorker(buffer, kind) {
  const w = new Worker(CHILD, { workerData: { mode: 'wait', buffer, kind } });
  const messages = [];
  const got = new Promise((resolve, reject) => {
    w.on('message', (m) => { messages.push(m); if (m === 'got') resolve(); });
    w.once('error', reject);
  });
  const waiting = until(() => messages.includes('waiting'), 'the worker waiting', 30000);
  return { w, got, waiting, messages };
}

describe('Pools: waiting for a free block', () => {
  for (const Class of [BufferPool, ObjectPool]) {
    describe(Class.name, () => {
      it('a worker blocked in acquire() gets the block the main thread releases', async function () {
        this.timeout(60000);
        const { buffer, pool, held } = fullPool(Class, 3);
        const { w, got, waiting } = waitingWorker(buffer, Class === BufferPool ? 'buffer' : 'object');
        await waiting;
        pool.release(held[1]);
        await got;
        const s = pool.stats();
        assert.deepStrictEqual([s.free, s.held, s.mine], [0, 3, 2]);
        await w.terminate();
        pool.close();
      });

      it('acquireAsync() waits without blocking the event loop and resolves with the released block', async function () {
        this.timeout(60000);
        const { pool, held } = fullPool(Class, 2);
        let settled = false;
        const p = pool.acquireAsync({ timeoutMs: 60000 }).then((r) => { settled = true; return r; });
        // The event loop runs timers while the Promise is pending.
        let ticks = 0;
        await new Promise((resolve) => { const t = setInterval(() => { if (++ticks === 3) { clearInterval(t); resolve(); } }, 5); });
        assert.strictEqual(settled, false);
        pool.release(held[0]);
        const r = await p;
        assert.strictEqual(r.handle & 0xffff, held[0] & 0xffff);
        assert.notStrictEqual(r.handle, held[0]); // the next generation
        assert.strictEqual(pool.stats().free, 0);
        pool.close();
      });

      it('a timeout ends the wait with ERR_POOL_EXHAUSTED and the pool unchanged', async () => {
        const { pool } = fullPool(Class, 2);
        throwsCode(() => pool.acquire(0), 'ERR_POOL_EXHAUSTED');
        throwsCode(() => pool.acquire(20), 'ERR_POOL_EXHAUSTED');
        await assert.rejects(pool.acquireAsync({ timeoutMs: 20 }), { code: 'ERR_POOL_EXHAUSTED' });
        const s = pool.stats();
        assert.deepStrictEqual([s.free, s.held, s.mine], [0, 2, 2]);
        pool.close();
      });

      it('an AbortSignal ends acquireAsync() with its reason; the pool is unchanged and usable', async function () {
        this.timeout(60000);
        const { pool, held } = fullPool(Class, 2);
        const ac = new AbortController();
        const p = pool.acquireAsync({ signal: ac.signal });
        setTimeout(() => ac.abort(new Error('stop')), 10);
        await assert.rejects(p, { message: 'stop' });
        await assert.rejects(pool.acquireAsync({ signal: AbortSignal.abort() }), { name: 'AbortError' });
        let s = pool.stats();
        assert.deepStrictEqual([s.free, s.held], [0, 2]);
        pool.release(held[0]);
        const r = await pool.acquireAsync({ signal: new AbortController().signal, timeoutMs: 1000 });
        assert.ok(r.handle > 0);
        s = pool.stats();
        assert.deepStrictEqual([s.free, s.held], [0, 2]);
        pool.close();
      });

      it('bad arguments are TypeError/RangeError and change nothing', async () => {
        const { pool } = fullPool(Class, 1);
        assert.throws(() => pool.acquire(-1), RangeError);
        assert.throws(() => pool.acquire(NaN), RangeError);
        assert.throws(() => pool.acquire('10'), TypeError);
        await assert.rejects(pool.acquireAsync({ timeoutMs: -5 }), RangeError);
        await assert.rejects(pool.acquireAsync({ signal: {} }), TypeError);
        await assert.rejects(pool.acquireAsync({ wait: 1 }), TypeError);
        await assert.rejects(pool.acquireAsync(5), TypeError);
        assert.strictEqual(pool.stats().held, 1);
        pool.close();
        throwsCode(() => pool.acquire(0), 'ERR_CLOSED');
        await assert.rejects(pool.acquireAsync(), { code: 'ERR_CLOSED' });
      });

      it('an acquireAsync() that finds a free block registers no waiter: the releases after it wake nobody', async () => {
        // A registration that nobody sleeps on would make the next release pay a futex wake
        // (format.md §17, "Waiting"), once per hand-off for a producer on the event loop.
        const { pool, held, header } = fullPool(Class, 2);
        pool.release(held[0]);
        const waiters = () => Atomics.load(header, W.POOL_HEADER.WAITERS);
        const released = () => Atomics.load(header, W.POOL_HEADER.RELEASED);
        const before = released();
        for (let i = 0; i < 3; i++) {
          const { handle } = await pool.acquireAsync();
          assert.strictEqual(waiters(), 0);
          pool.release(handle);
        }
        const r = await pool.acquireAsync({ timeoutMs: 0 });
        assert.strictEqual(waiters(), 0);
        pool.release(r.handle);
        assert.strictEqual(released(), before);
        pool.release(held[1]);
        pool.close();
      });

      it('an acquireAsync() woken to a freed block takes it without registering again', async () => {
        const { pool, held, header } = fullPool(Class, 1);
        const waiters = () => Atomics.load(header, W.POOL_HEADER.WAITERS);
        const pending = pool.acquireAsync({ timeoutMs: 10000 });
        assert.strictEqual(waiters(), 1); // registered before it parked
        pool.release(held[0]); // takes the registration and wakes it
        const { handle } = await pending;
        assert.strictEqual(waiters(), 0);
        pool.release(handle);
        pool.close();
      });

      it('an acquireAsync() that took a block in the tick its handle closes rejects with ERR_CLOSED', async () => {
        const { buffer, pool, held } = fullPool(Class, 1);
        pool.release(held[0]);
        const closing = Class.open({ buffer });
        const p = closing.acquireAsync(); // takes the only block at once, resolves a tick later
        closing.close(); // frees it
        const other = pool.tryAcquire();
        assert.notStrictEqual(other, null);
        await assert.rejects(p, { code: 'ERR_CLOSED' }); // not the block another party holds now
        assert.deepStrictEqual([pool.stats().held, pool.stats().mine], [1, 1]);
        pool.release(other.handle);
        pool.close();
      });
    });
  }

  withAddon('with the addon', () => {
    it('terminate() of a worker blocked in acquire() leaves the pool whole and usable', async function () {
      this.timeout(60000);
      const { buffer, pool, held } = fullPool(BufferPool, 2);
      const { w, waiting } = waitingWorker(buffer, 'buffer');
      await waiting;
      await w.terminate();
      for (const h of held) pool.release(h);
      assert.deepStrictEqual(pool.stats(), { blockCount: 2, free: 2, held: 0, mine: 0 });
      const again = [pool.acquire(0), pool.acquire(0)];
      assert.strictEqual(new Set(again.map((g) => g.handle & 0xffff)).size, 2);
      pool.close();
    });

    it('a process blocked in acquire() wakes when another process releases', async function () {
      this.timeout(60000);
      const name = uniqueName('pool-wait');
      const pool = BufferPool.create({ name, blockCount: 2, blockSize: 128 });
      try {
        const held = [pool.acquire(0).handle, pool.acquire(0).handle];
        const c = spawn(process.execPath, [CHILD, 'wait', name], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        c.stdout.on('data', (d) => { out += d; });
        c.stderr.on('data', (d) => { err += d; });
        const exited = new Promise((resolve) => c.once('exit', (code) => resolve(code)));
        await until(() => out.includes('waiting'), 'the child waiting', 30000);
        pool.release(held[0]);
        assert.strictEqual(await exited, 0, err);
        const m = /got (\d+)/.exec(out);
        assert.ok(m, out);
        assert.strictEqual(Number(m[1]) & 0xffff, held[0] & 0xffff);
        // The child closed its handle, which freed the block it got.
        assert.deepStrictEqual(pool.stats(), { blockCount: 2, free: 1, held: 1, mine: 1 });
      } finally {
        pool.close();
        removeShm(name);
      }
    });

    it('acquireAsync() gets the records of a holder killed with SIGKILL', async function () {
      this.timeout(60000);
      const name = uniqueName('opool-kill');
      const pool = ObjectPool.create({ name, recordSize: 32, capacity: 4 });
      try {
        const c = spawn(process.execPath, [CHILD, 'hold-object', name, '4'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        c.stdout.on('data', (d) => { out += d; });
        const exited = new Promise((resolve) => c.once('exit', (code, signal) => resolve(signal)));
        await until(() => out.includes('holding'), 'the child holding', 30000);
        assert.strictEqual(pool.tryAcquire(), null);
        const p = pool.acquireAsync({ timeoutMs: 60000 });
        c.kill('SIGKILL');
        assert.strictEqual(await exited, 'SIGKILL');
        const r = await p;
        assert.ok(r.handle > 0);
        assert.deepStrictEqual(pool.stats(), { capacity: 4, free: 3, held: 1, mine: 1 });
      } finally {
        pool.close();
        removeShm(name);
      }
    });
  });
});
