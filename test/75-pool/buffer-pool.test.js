'use strict';
// BufferPool (docs/api.md "BufferPool"): acquire/release/take/view, exhaustion, the errors of bad
// handles and bad options (the pool unchanged after each), reclaim of a terminated worker's
// blocks and of a dead process's, creation and opening by name through the registry.
const assert = require('assert');
const { Worker } = require('worker_threads');
const path = require('path');
const { BufferPool, ObjectPool, MemoryPool, Registry } = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, until, exitedPid } = require('../helpers/process');
const { duringFirstVerdict, beforeFirstRead } = require('../helpers/verdicts');
const { watchLog } = require('../helpers/watches');
const { C, W } = require('../../lib/layout/layout');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'pool-child.js');
const withAddon = addon ? describe : describe.skip;

function sabPool(blockCount, blockSize) {
  const buffer = new SharedArrayBuffer(BufferPool.bytesFor(blockCount, blockSize));
  return { buffer, pool: BufferPool.create({ buffer, blockCount, blockSize }) };
}

const throwsCode = (fn, code) => assert.throws(fn, (e) => e.code === code && typeof e.status === 'number');

describe('BufferPool', () => {
  it('acquires every block once, with distinct non-zero handles and disjoint views of blockSize bytes', () => {
    const { pool } = sabPool(8, 100);
    const got = [];
    for (let i = 0; i < 8; i++) got.push(pool.acquire());
    assert.strictEqual(new Set(got.map((g) => g.handle)).size, 8);
    for (const g of got) {
      assert.ok(g.handle > 0 && g.handle <= 0xffffffff);
      assert.strictEqual(g.view.length, 100);
      g.view.fill(got.indexOf(g) + 1);
    }
    got.forEach((g, i) => assert.ok(g.view.every((b) => b === i + 1), `block ${i} overwritten`));
    assert.strictEqual(pool.tryAcquire(), null);
    throwsCode(() => pool.acquire(0), 'ERR_POOL_EXHAUSTED');
    assert.deepStrictEqual(pool.stats(), { blockCount: 8, free: 0, held: 8, mine: 8 });
    for (const g of got) pool.release(g.handle);
    assert.deepStrictEqual(pool.stats(), { blockCount: 8, free: 8, held: 0, mine: 0 });
    pool.close();
  });

  it('view(handle) is the block in place, seen by another handle on the same memory', () => {
    const { buffer, pool } = sabPool(2, 16);
    const other = BufferPool.open({ buffer });
    const { handle, view } = pool.acquire();
    view.set([1, 2, 3]);
    assert.deepStrictEqual([...other.view(handle).subarray(0, 3)], [1, 2, 3]);
    assert.strictEqual(pool.view(handle), view);
    other.release(handle);
    assert.strictEqual(pool.stats().free, 2);
    other.close();
    pool.close();
  });

  it('a double release, a stale handle, an out-of-range or made-up handle is ERR_BAD_HANDLE and changes nothing', () => {
    const { pool } = sabPool(4, 8);
    const a = pool.acquire();
    pool.release(a.handle);
    throwsCode(() => pool.release(a.handle), 'ERR_BAD_HANDLE');
    throwsCode(() => pool.view(a.handle), 'ERR_BAD_HANDLE');
    throwsCode(() => pool.take(a.handle), 'ERR_BAD_HANDLE');
    // The block reused since: the old handle names an older generation.
    const held = [];
    for (let i = 0; i < 4; i++) held.push(pool.acquire());
    throwsCode(() => pool.release(a.handle), 'ERR_BAD_HANDLE');
    throwsCode(() => pool.release((1 << C.POOL_GEN_SHIFT) | 4), 'ERR_BAD_HANDLE');
    for (const h of [0, -1, 2 ** 32, 1.5, NaN]) throwsCode(() => pool.release(h), 'ERR_BAD_HANDLE');
    assert.throws(() => pool.release('1'), TypeError);
    assert.throws(() => pool.release(), TypeError);
    assert.deepStrictEqual(pool.stats(), { blockCount: 4, free: 0, held: 4, mine: 4 });
    for (const g of held) pool.release(g.handle);
    assert.strictEqual(pool.stats().free, 4);
    pool.close();
  });

  it('a handle of another pool is refused unless it happens to name a held block of the same generation', () => {
    const { pool: p1 } = sabPool(4, 8);
    const { pool: p2 } = sabPool(2, 8);
    const held = [p1.acquire(), p1.acquire(), p1.acquire()];
    throwsCode(() => p2.release(held[2].handle), 'ERR_BAD_HANDLE'); // block 2 of a 2-block pool
    throwsCode(() => p2.release(held[0].handle), 'ERR_BAD_HANDLE'); // block 0 of p2 is free
    assert.strictEqual(p2.stats().free, 2);
    p1.close();
    p2.close();
  });

  it('bad options are TypeError/RangeError and nothing is created', () => {
    const buffer = new SharedArrayBuffer(BufferPool.bytesFor(4, 64));
    assert.throws(() => BufferPool.create({ buffer, blockCount: 4 }), TypeError);
    assert.throws(() => BufferPool.create({ buffer, blockSize: 64 }), TypeError);
    assert.throws(() => BufferPool.create({ buffer, blockCount: 0, blockSize: 64 }), RangeError);
    assert.throws(() => BufferPool.create({ buffer, blockCount: C.POOL_MAX_BLOCKS + 1, blockSize: 64 }), RangeError);
    assert.throws(() => BufferPool.create({ buffer, blockCount: 4, blockSize: 0 }), RangeError);
    assert.throws(() => BufferPool.create({ buffer, blockCount: 4, blockSize: 1.5 }), RangeError);
    assert.throws(() => BufferPool.create({ buffer, blockCount: 5, blockSize: 64 }), RangeError);
    assert.throws(() => BufferPool.create({ buffer, blockCount: 4, blockSize: 64, bogus: 1 }), TypeError);
    assert.throws(() => BufferPool.create(null), TypeError);
    throwsCode(() => BufferPool.open({ buffer }), 'ERR_BAD_MAGIC');
    assert.ok(new Uint8Array(buffer).every((b) => b === 0));
    assert.throws(() => new BufferPool(), TypeError);
  });

  it('bytesFor() names its positional arguments in its errors, create() its options', () => {
    const names = (name) => (e) => e instanceof RangeError && e.code === 'ERR_INVALID_ARG' && e.message.startsWith(`The "${name}" argument`);
    assert.throws(() => BufferPool.bytesFor(0, 64), names('blockCount'));
    assert.throws(() => BufferPool.bytesFor(4, 0), names('blockSize'));
    assert.throws(() => ObjectPool.bytesFor(0, 16), names('capacity'));
    assert.throws(() => ObjectPool.bytesFor(4, 0), names('recordSize'));
    assert.throws(() => MemoryPool.bytesFor([]), names('classes'));
    assert.throws(() => MemoryPool.bytesFor([{ size: 0, count: 1 }]), names('classes[0].size'));
    const buffer = new SharedArrayBuffer(BufferPool.bytesFor(4, 64));
    assert.throws(() => BufferPool.create({ buffer, blockCount: 0, blockSize: 64 }), names('options.blockCount'));
    assert.throws(() => MemoryPool.create({ buffer, classes: [] }), names('options.classes'));
  });

  it('close() frees the blocks the handle holds; a closed handle throws ERR_CLOSED', () => {
    const { buffer, pool } = sabPool(4, 8);
    const other = BufferPool.open({ buffer });
    pool.acquire();
    pool.acquire();
    other.acquire();
    pool.close();
    assert.deepStrictEqual(other.stats(), { blockCount: 4, free: 3, held: 1, mine: 1 });
    throwsCode(() => pool.acquire(), 'ERR_CLOSED');
    pool.close();
    other.close();
  });

  it('reclaims the blocks of an owner record whose process is gone, on exhaustion and by reclaim()', () => {
    const { buffer, pool } = sabPool(4, 8);
    const other = BufferPool.open({ buffer });
    for (let i = 0; i < 3; i++) other.acquire();
    // Make the other handle's record name a process that has exited (what a SIGKILL leaves).
    const u32 = new Uint32Array(buffer);
    const slotPid = C.POOL_OWNERS_OFFSET / Uint32Array.BYTES_PER_ELEMENT + 2 * W.OWNER.WORDS + W.OWNER.PID;
    assert.strictEqual(u32[slotPid], process.pid, 'the second handle holds owner slot 2');
    u32[slotPid] = exitedPid();
    assert.strictEqual(pool.reclaim(), 3);
    for (let i = 0; i < 3; i++) other.acquire(); // taken again by slot 2's new pid: not "mine" of pool
    u32[slotPid] = exitedPid();
    const got = [];
    for (let i = 0; i < 4; i++) got.push(pool.acquire()); // the last three reclaim on exhaustion
    assert.deepStrictEqual(pool.stats(), { blockCount: 4, free: 0, held: 4, mine: 4 });
    pool.close();
  });

  it('frees no block of a handle that the same thread opened while the reclaim pass judged a closing one', () => {
    // A holder frees its block and closes as the pass judges its record, and its thread opens a
    // new handle at once, which gets the same owner record (the very same fields) and takes two
    // blocks. Judged from the released record, the closed handle read as gone, and the pass
    // reused that verdict for the new handle's record and freed its block under it.
    const { buffer, pool } = sabPool(4, 8);
    const a = BufferPool.open({ buffer });
    const held = a.acquire();
    let b = null;
    let got = [];
    const { result, judged } = duringFirstVerdict(() => {
      a.release(held.handle);
      a.close();
    }, () => {
      b = BufferPool.open({ buffer });
      got = [b.acquire(), b.acquire()];
    }, () => pool.reclaim());
    assert.strictEqual(result, 0);
    assert.strictEqual(judged, 1);
    assert.deepStrictEqual(b.stats(), { blockCount: 4, free: 2, held: 2, mine: 2 });
    for (const g of got) b.release(g.handle);
    b.close();
    pool.close();
  });

  it('frees no block that a new owner of its holder\'s record took while the reclaim pass judged the record', () => {
    // The pass reads block 0's state, held by owner record 1. Before it reads the record, the
    // holder hands the block on and closes; judged, the released record reads as gone. A new
    // handle then gets record 1 and takes the block: take() keeps the generation, so the block's
    // state reads exactly as the pass read it, and the pass's CAS freed the block under its holder.
    const { buffer, pool: left } = sabPool(2, 64); // owner record 1
    const receiver = BufferPool.open({ buffer }); // 2
    const reclaimer = BufferPool.open({ buffer }); // 3
    const { handle } = left.acquire();
    let next = null;
    const freed = beforeFirstRead(() => {
      receiver.take(handle);
      left.close();
    }, () => duringFirstVerdict(() => {}, () => {
      next = BufferPool.open({ buffer });
      next.take(handle);
    }, () => reclaimer.reclaim()).result);
    assert.strictEqual(freed, 0);
    assert.strictEqual(next.view(handle).length, 64);
    assert.deepStrictEqual(next.stats(), { blockCount: 2, free: 1, held: 1, mine: 1 });
    assert.notStrictEqual(reclaimer.tryAcquire().handle & C.POOL_INDEX_MASK, handle & C.POOL_INDEX_MASK);
    for (const h of [next, receiver, reclaimer]) h.close();
  });

  it('a new handle leaves alone a free owner record whose actor word is held, unless its holder exited', () => {
    // A reclaim pass holds the actor word of the record whose owner's blocks it judges: a new
    // owner of that record could take one of them, making its state read as the pass read it.
    const { buffer, pool } = sabPool(2, 64); // owner record 1
    const u32 = new Uint32Array(buffer);
    const record = (o) => C.POOL_OWNERS_OFFSET / Uint32Array.BYTES_PER_ELEMENT + o * W.OWNER.WORDS;
    const pidOf = (o) => Atomics.load(u32, record(o) + W.OWNER.PID);
    Atomics.store(u32, record(2) + W.OWNER.ACTOR, process.pid); // a live process acts on record 2
    const a = BufferPool.open({ buffer });
    assert.deepStrictEqual([pidOf(2), pidOf(3)], [0, process.pid]);
    Atomics.store(u32, record(2) + W.OWNER.ACTOR, exitedPid()); // its process ended while it acted
    const b = BufferPool.open({ buffer });
    assert.deepStrictEqual([pidOf(2), Atomics.load(u32, record(2) + W.OWNER.ACTOR)], [process.pid, 0]);
    for (const h of [a, b, pool]) h.close();
  });

  it('a handle watches its owner record before it frees a previous owner\'s blocks, and releases it before unwatching it', () => {
    // A worker terminated in either window left a claimed record that nobody watches: it reads as
    // a live owner for as long as the process lives, and the blocks it comes to name are never
    // reclaimed.
    const { buffer, pool } = sabPool(2, 64); // owner record 1
    const b = BufferPool.open({ buffer }); // 2
    b.acquire();
    const u32 = new Uint32Array(buffer);
    const pidWord = C.POOL_OWNERS_OFFSET / Uint32Array.BYTES_PER_ELEMENT + 2 * W.OWNER.WORDS + W.OWNER.PID;
    Atomics.store(u32, pidWord, 0); // record 2 free, with a block still naming it
    const log = watchLog(() => BufferPool.open({ buffer }).close(), () => pool.stats().held);
    assert.deepStrictEqual(log, [
      { what: 'watch', slot: 2, pid: process.pid, probe: 1 }, // the previous owner's block not yet freed
      { what: 'unwatch', slot: 2, pid: 0, probe: 0 },
    ]);
    pool.close();
  });

  withAddon('with the addon', () => {
    it('the blocks of a terminated worker are reclaimed', async function () {
      this.timeout(60000);
      const { buffer, pool } = sabPool(6, 1024);
      const w = new Worker(CHILD, { workerData: { mode: 'hold', buffer, k: 4 } });
      await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
      assert.deepStrictEqual(pool.stats(), { blockCount: 6, free: 2, held: 4, mine: 0 });
      await w.terminate();
      // The addon marks the worker's owner record dead at its teardown.
      await until(() => pool.reclaim() === 4 || pool.stats().free === 6, 'the worker\'s blocks reclaimed', 20000);
      assert.deepStrictEqual(pool.stats(), { blockCount: 6, free: 6, held: 0, mine: 0 });
      pool.close();
    });

    it('the blocks of a gone owner are reclaimed after a worker terminated in a reclaim pass, holding the record\'s actor word', async function () {
      this.timeout(60000);
      // The pass holds the record's actor word, named by this live process: a worker terminated
      // there left it held, and the gone owner's blocks never reclaimed, for as long as the
      // process lived (format.md §6, "Acting on a verdict").
      const { buffer, pool } = sabPool(4, 8);
      const other = BufferPool.open({ buffer });
      for (let i = 0; i < 3; i++) other.acquire();
      const u32 = new Uint32Array(buffer);
      const record = C.POOL_OWNERS_OFFSET / Uint32Array.BYTES_PER_ELEMENT + 2 * W.OWNER.WORDS;
      assert.strictEqual(u32[record + W.OWNER.PID], process.pid, 'the second handle holds owner record 2');
      u32[record + W.OWNER.PID] = exitedPid(); // what a SIGKILL of its process leaves
      const root = path.join(__dirname, '..', '..');
      const w = new Worker(`
        const { workerData, parentPort } = require('worker_threads');
        const { OwnerTable } = require(workerData.root + '/lib/ownership/owners');
        const { BufferPool } = require(workerData.root + '/index');
        const { takeActor } = OwnerTable.prototype;
        OwnerTable.prototype.takeActor = function (o, self) {
          if (!takeActor.call(this, o, self)) return false;
          parentPort.postMessage(o);
          for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
        };
        BufferPool.open({ buffer: workerData.buffer }).reclaim();
      `, { eval: true, workerData: { root, buffer } });
      const held = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
      assert.deepStrictEqual([held, u32[record + W.OWNER.ACTOR]], [2, process.pid]);
      assert.strictEqual(pool.reclaim(), 0, 'a live thread acts on record 2');
      await w.terminate();
      assert.strictEqual(u32[record + W.OWNER.ACTOR], 0);
      assert.strictEqual(pool.reclaim(), 3);
      assert.deepStrictEqual(pool.stats(), { blockCount: 4, free: 4, held: 0, mine: 0 });
      pool.close();
    });

    it('is created and opened by name through the registry (kind "buffer-pool")', () => {
      const name = uniqueName('pool-reg');
      const reg = Registry.create({ name, size: 4 * 1024 * 1024 });
      try {
        const a = reg.create('buffer-pool', 'frames', { blockSize: 4096, blockCount: 16 });
        assert.ok(a instanceof BufferPool);
        const b = reg.open('buffer-pool', 'frames');
        assert.strictEqual(b.blockCount, 16);
        assert.strictEqual(b.blockSize, 4096);
        const { handle, view } = a.acquire();
        view[4095] = 7;
        assert.strictEqual(b.take(handle)[4095], 7);
        b.release(handle);
        assert.strictEqual(a.stats().free, 16);
        const listed = reg.list().find((e) => e.name === 'frames');
        assert.strictEqual(listed.kind, 'buffer-pool');
        assert.deepStrictEqual(listed.options, { blockSize: 4096, blockCount: 16 });
        assert.throws(() => reg.open('mpmc', 'frames'), { code: 'ERR_KIND_MISMATCH' });
        assert.throws(() => reg.delete('frames'), { code: 'ERR_IN_USE' });
        a.close();
        b.close();
        reg.delete('frames');
      } finally {
        reg.close();
        removeShm(name);
      }
    });
  });
});
