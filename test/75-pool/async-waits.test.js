'use strict';
// The pending Promise-form waits of one pool handle (docs/api.md "Pools: async waits of a
// handle"): `acquireAsync()` and `allocateAsync()` calls that find no free block are served in
// call order by one waiting loop per handle, so that thousands of them cost one futex wait (no
// watcher thread each), with every guarantee of a single wait kept: each call gets its own block
// once, timeouts and aborts per call, close() rejecting them at once.
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { BufferPool, ObjectPool, MemoryPool, ShmError } = require('../../index');
const { addon } = require('../../lib/base/native');
const { C, W } = require('../../lib/layout/layout');
const { uniqueName, removeShm, spawnChild, until } = require('../helpers/process');

const withAddon = addon ? describe : describe.skip;
const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'pools-child.js');
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const WAITERS = C.POOL_HEADER_OFFSET / WORD + W.POOL_HEADER.WAITERS;
// How many more OS threads than before the waits began this process may have while thousands of
// calls are pending: the addon's few futex watchers and the runtime's own, never one per call.
const MORE_THREADS = 50;

const { threads, tick, sleep, mostThreads, settledNow, handled } = require('../helpers/async-calls');

const isCode = (code) => (e) => e instanceof ShmError && e.code === code;

// Each pool kind: its options for `count` blocks of 64 bytes (a memory pool: one class), its
// Promise-form wait and its giving back.
const KINDS = {
  BufferPool: {
    Class: BufferPool,
    shape: (count) => ({ blockSize: 64, blockCount: count }),
    bytes: (count) => BufferPool.bytesFor(count, 64),
    take: (p, o) => p.acquireAsync(o),
    takeNow: (p) => p.acquire(0),
    give: (p, h) => p.release(h),
  },
  ObjectPool: {
    Class: ObjectPool,
    shape: (count) => ({ recordSize: 64, capacity: count }),
    bytes: (count) => ObjectPool.bytesFor(count, 64),
    take: (p, o) => p.acquireAsync(o),
    takeNow: (p) => p.acquire(0),
    give: (p, h) => p.release(h),
  },
  MemoryPool: {
    Class: MemoryPool,
    shape: (count) => ({ classes: [{ size: 64, count }] }),
    bytes: (count) => MemoryPool.bytesFor([{ size: 64, count }]),
    take: (p, o) => p.allocateAsync(64, o),
    takeNow: (p) => p.allocate(64, 0),
    give: (p, h) => p.free(h),
  },
};

// A pool of `count` blocks of kind `k` in a new SharedArrayBuffer, every block held by a second
// handle (`gate`, which gives them back with `open()`), and the handle `pool` whose calls wait.
function gatedPool(k, count) {
  const buffer = new SharedArrayBuffer(k.bytes(count));
  const gate = k.Class.create({ buffer, ...k.shape(count) });
  const held = [];
  for (let i = 0; i < count; i++) held.push(k.takeNow(gate).handle);
  const pool = k.Class.open({ buffer });
  const open = () => { for (const h of held.splice(0)) k.give(gate, h); };
  return { buffer, gate, pool, open, u32: new Uint32Array(buffer) };
}

withAddon('pools: the pending async waits of one handle', () => {
  for (const [what, k] of Object.entries(KINDS)) {
    it(`${what}: 2000 pending calls on one handle are served once each, in call order, without a thread per call`, async () => {
      const N = 2000;
      const { gate, pool, open, u32 } = gatedPool(k, 4);
      const before = threads();
      const order = [];
      const blocks = new Map(); // byte offset -> a DataView of the block (its first 4 bytes: a count)
      let holding = 0;
      const calls = [];
      for (let i = 0; i < N; i++) {
        calls.push(k.take(pool).then(async ({ handle, view }) => {
          order.push(i);
          holding++;
          assert.ok(holding <= 4, 'no more blocks held than the pool has');
          // A count in the block: each block's counts add up to the calls it served.
          if (!blocks.has(view.byteOffset)) blocks.set(view.byteOffset, new DataView(view.buffer, view.byteOffset, view.length));
          const block = blocks.get(view.byteOffset);
          block.setUint32(0, block.getUint32(0, true) + 1, true); // layout-ok: the test's own bytes in the block
          await tick();
          holding--;
          k.give(pool, handle);
          return handle;
        }));
      }
      const most = await mostThreads();
      assert.ok(most < before + MORE_THREADS, `${most} threads while ${N} calls wait (${before} before)`);
      open();
      const handles = await Promise.all(calls);
      assert.strictEqual(handles.length, N);
      assert.deepStrictEqual(order, [...Array(N).keys()], 'served in call order');
      let counted = 0;
      for (const block of blocks.values()) counted += block.getUint32(0, true); // layout-ok: the test's own bytes
      assert.strictEqual(counted, N, 'the counts in the blocks add up to the calls');
      assert.strictEqual(Atomics.load(u32, WAITERS), 0, 'no registration is left');
      assert.strictEqual(gate.stats().free, 4);
      pool.close();
      gate.close();
    });
  }

  it('calls of this process, another process and two workers contending for 3 records: exactly the sum, no record in two hands', async function () {
    this.timeout(120000);
    const N = 2000;
    const K = 400; // rounds of each worker (two in the child process, two here)
    const name = uniqueName('pool-async');
    const gate = ObjectPool.create({ name, recordSize: 64, capacity: 3 });
    const pool = ObjectPool.open({ name });
    const child = spawnChild(CHILD, ['stamp', name, K, 2]);
    const workers = [];
    try {
      const held = [0, 1, 2].map(() => gate.acquire(0).handle); // every party waits until all are started
      let ready = 0;
      const results = [1, 2].map((id) => new Promise((resolve, reject) => {
        const w = new Worker(CHILD, { workerData: { mode: 'stamp', name, id, rounds: K } });
        workers.push(w);
        w.on('message', (m) => { if (m !== 'ready') resolve(m); else ready++; });
        w.once('error', reject);
      }));
      await until(() => ready === 2 && child.output().includes('ready'), 'every party ready', 60000);
      const before = threads();
      let completed = 0;
      let violations = 0;
      const calls = [];
      for (let i = 0; i < N; i++) {
        calls.push(pool.acquireAsync().then(async ({ handle, view }) => {
          // The stamp of this thread (the other parties stamp their ids, all positive), set and
          // cleared by a CAS from 0 and back, an await apart: a failed CAS is a record in two hands.
          const word = new Int32Array(view.buffer, view.byteOffset, 1);
          if (Atomics.compareExchange(word, 0, 0, -1) !== 0) violations++;
          await tick();
          if (Atomics.compareExchange(word, 0, -1, 0) !== -1) violations++;
          completed++;
          pool.release(handle);
        }));
      }
      const most = await mostThreads();
      assert.ok(most < before + MORE_THREADS, `${most} threads while ${N} calls wait (${before} before)`);
      for (const h of held) gate.release(h);
      await Promise.all(calls);
      assert.deepStrictEqual([completed, violations], [N, 0]);
      assert.deepStrictEqual(await Promise.all(results), [1, 2].map(() => ({ acquired: K, violations: 0 })));
      const r = await child.exited;
      assert.strictEqual(r.code, 0, r.err);
      assert.deepStrictEqual(r.out.trim().split('\n'), ['ready', `acquired ${2 * K} violations 0`]);
      assert.deepStrictEqual(gate.stats(), { capacity: 3, free: 3, held: 0, mine: 0 });
    } finally {
      child.c.kill('SIGKILL');
      for (const w of workers) await w.terminate();
      pool.close();
      gate.close();
      removeShm(name);
    }
  });

  it('timed-out and aborted calls leave the queue from anywhere; the others are served in call order', async () => {
    const k = KINDS.BufferPool;
    const { gate, pool, open } = gatedPool(k, 1);
    const order = [];
    const aborts = new Map([[2, new AbortController()], [6, new AbortController()], [9, new AbortController()]]);
    const TIMED = new Set([4, 5, 11]);
    const calls = [];
    for (let i = 0; i < 12; i++) {
      const options = { timeoutMs: TIMED.has(i) ? 30 : undefined, signal: aborts.get(i)?.signal };
      calls.push(handled(k.take(pool, options).then(async ({ handle }) => {
        order.push(i);
        await tick();
        k.give(pool, handle);
        return 'got';
      })));
    }
    for (const c of aborts.values()) c.abort();
    for (const i of aborts.keys()) await assert.rejects(calls[i], { name: 'AbortError' });
    for (const i of TIMED) await assert.rejects(calls[i], isCode('ERR_POOL_EXHAUSTED'));
    assert.deepStrictEqual(order, [], 'nothing was served while every block was held');
    open();
    const rest = calls.filter((_, i) => !aborts.has(i) && !TIMED.has(i));
    assert.deepStrictEqual(await Promise.all(rest), rest.map(() => 'got'));
    assert.deepStrictEqual(order, [0, 1, 3, 7, 8, 10], 'the calls left were served in call order');
    assert.strictEqual(gate.stats().free, 1);
    pool.close();
    gate.close();
  });

  it('a memory pool call waits behind an earlier call of its handle; when that one leaves, it is served at once', async () => {
    const classes = [{ size: 8, count: 2 }, { size: 256, count: 1 }];
    const buffer = new SharedArrayBuffer(MemoryPool.bytesFor(classes));
    const other = MemoryPool.create({ buffer, classes });
    const big = other.allocate(256, 0); // the 256-byte class is exhausted; the 8-byte one is free
    const pool = MemoryPool.open({ buffer });
    for (const how of ['abort', 'timeout']) {
      const ac = new AbortController();
      const head = handled(pool.allocateAsync(200, how === 'abort' ? { signal: ac.signal } : { timeoutMs: 30 }));
      const small = pool.allocateAsync(8);
      assert.deepStrictEqual(await settledNow(small), [false], `${how}: behind the call before it`);
      ac.abort();
      await assert.rejects(head, how === 'abort' ? { name: 'AbortError' } : isCode('ERR_POOL_EXHAUSTED'));
      assert.deepStrictEqual(await settledNow(small), [true], `${how}: served when the head left, not at the next wake-up`);
      const { handle, view } = await small;
      assert.strictEqual(view.length, 8);
      pool.free(handle);
    }
    other.free(big.handle);
    pool.close();
    other.close();
  });

  it('when the last pending call times out or is aborted, the loop ends its sleep at once: no registration stays', async () => {
    for (const [what, k] of Object.entries(KINDS)) {
      const { gate, pool, u32 } = gatedPool(k, 1);
      for (const how of ['timeout', 'abort']) {
        const ac = new AbortController();
        const p = k.take(pool, how === 'timeout' ? { timeoutMs: 40 } : { signal: ac.signal });
        await sleep(10);
        assert.strictEqual(Atomics.load(u32, WAITERS), 1, `${what}: the loop sleeps, registered`);
        ac.abort();
        await assert.rejects(p, how === 'timeout' ? isCode('ERR_POOL_EXHAUSTED') : { name: 'AbortError' });
        // A few turns of the event loop, far less than the loop's recheck period (50 ms).
        for (let i = 0; i < 20 && Atomics.load(u32, WAITERS) !== 0; i++) await tick();
        assert.strictEqual(Atomics.load(u32, WAITERS), 0, `${what}, ${how}: the sleep ended and its registration went`);
      }
      pool.close();
      gate.close();
    }
  });

  it('close() rejects every pending call of the handle at once with ERR_CLOSED, and takes its registration off', async () => {
    for (const [what, k] of Object.entries(KINDS)) {
      const { gate, pool, open, u32 } = gatedPool(k, 2);
      const calls = [];
      for (let i = 0; i < 100; i++) calls.push(handled(k.take(pool, i % 2 ? { timeoutMs: 60000 } : undefined)));
      await sleep(20);
      pool.close();
      assert.ok((await settledNow(...calls)).every(Boolean), `${what}: settled without waiting for the wake-up`);
      for (const c of calls) await assert.rejects(c, isCode('ERR_CLOSED'), what);
      assert.strictEqual(Atomics.load(u32, WAITERS), 0, what);
      await assert.rejects(k.take(pool), isCode('ERR_CLOSED'));
      open();
      assert.strictEqual(gate.stats().free, 2, `${what}: nothing of the closed handle holds a block`);
      gate.close();
    }
  });

  it('close() of a handle that opened the segment rejects its pending calls at once, and leaves the pool to the others', async () => {
    const name = uniqueName('pool-async-close');
    const gate = BufferPool.create({ name, blockSize: 64, blockCount: 1 });
    try {
      const { handle } = gate.acquire(0);
      const pool = BufferPool.open({ name });
      const calls = [];
      for (let i = 0; i < 50; i++) calls.push(handled(pool.acquireAsync()));
      await sleep(20);
      pool.close();
      assert.ok((await settledNow(...calls)).every(Boolean), 'settled without waiting for the wake-up');
      for (const c of calls) await assert.rejects(c, isCode('ERR_CLOSED'));
      const u32 = new Uint32Array(gate.buffer);
      assert.strictEqual(Atomics.load(u32, WAITERS), 0);
      const waiting = gate.acquireAsync({ timeoutMs: 60000 });
      gate.release(handle);
      gate.release((await waiting).handle);
      assert.strictEqual(gate.stats().free, 1);
    } finally {
      gate.close();
      removeShm(name);
    }
  });
});
