'use strict';
// Mutex (docs/api.md "Mutex"; bytes and protocol: docs/format.md §13).
const assert = require('assert');
const path = require('path');
const { Worker, threadId } = require('worker_threads');
const { Mutex, Segment, ShmError } = require('../../index');
const { addon } = require('../../lib/base/native');
const { C, W } = require('../../lib/layout/layout');
const { OwnerTable } = require('../../lib/ownership/owners');
const lw = require('../../lib/ownership/lockword');
const { readProcessStat, bootId } = require('../../lib/base/process');
const { uniqueName, tempDir, removeShm, runNode, exitedPid, until, noProcNodeArgs, holderProcess } = require('../helpers/process');
const { openWhileCreated } = require('../helpers/late-creation');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'mutex-child.js');
// A waiter notices a holder that died within the recheck period (50 ms) plus scheduling: this is
// far below any lock timeout a caller would choose, and generous for a loaded CI machine.
const RECOVERY_BOUND_MS = 2000;
const withAddon = addon ? describe : describe.skip;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
// The first size of a creator that sizes its segment in two steps.
const PAGE = 4096;
const LOCK = C.SYNC_MUTEX_OFFSET / WORD + W.MUTEX_STATE.LOCK;

// Claims every owner slot of the region in `buffer` for `pid` (thread 1, identity unknown).
function fillOwners(buffer, pid) {
  const u32 = new Uint32Array(buffer);
  const table = new OwnerTable(u32, C.SYNC_OWNERS_OFFSET / WORD, C.SYNC_OWNER_SLOTS);
  for (let o = 1; o < C.SYNC_OWNER_SLOTS; o++) table.claim({ pid, tid: 1, startTime: 0n, bootId: 0n });
  return u32;
}

function sab() {
  return new SharedArrayBuffer(Mutex.BYTES);
}

function worker(data) {
  const w = new Worker(CHILD, { workerData: data });
  const exited = new Promise((resolve) => w.once('exit', resolve));
  const message = new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  return { w, message, exited };
}

// A child process that locks the mutex of segment `name` and then waits to be killed.
function holder(name, nodeArgs = []) {
  return holderProcess([...nodeArgs, CHILD, 'hold', name]);
}

describe('Mutex', () => {
  describe('a zero-filled SharedArrayBuffer', () => {
    it('is a free mutex: lock, tryLock and unlock work at once', () => {
      const buffer = sab();
      const a = Mutex.create({ buffer });
      const b = Mutex.open({ buffer });
      assert.deepStrictEqual(a.lock(), { recovered: false });
      assert.strictEqual(a.held, true);
      assert.strictEqual(b.tryLock(), false);
      a.unlock();
      assert.deepStrictEqual(b.tryLock(), { recovered: false });
      b.unlock();
      assert.strictEqual(a.recoveries, 0);
      a.close();
      b.close();
    });

    it('can live at a byteOffset inside a larger buffer, next to another one', () => {
      const buffer = new SharedArrayBuffer(2 * Mutex.BYTES);
      const a = Mutex.open({ buffer });
      const b = Mutex.open({ buffer, byteOffset: Mutex.BYTES });
      a.lock();
      assert.deepStrictEqual(b.tryLock(), { recovered: false }); // another mutex
      a.unlock();
      b.unlock();
      a.close();
      b.close();
    });
  });

  describe('tryLock', () => {
    it('returns false while another handle holds the mutex, and on a handle that holds it', () => {
      const buffer = sab();
      const a = Mutex.open({ buffer });
      const b = Mutex.open({ buffer });
      assert.ok(a.tryLock());
      assert.strictEqual(a.tryLock(), false);
      assert.strictEqual(b.tryLock(), false);
      a.unlock();
      assert.ok(b.tryLock());
      b.unlock();
      a.close();
      b.close();
    });
  });

  describe('lock timeout', () => {
    it('throws ShmError ERR_LOCK_TIMEOUT after timeoutMs while a live holder keeps the mutex', () => {
      const buffer = sab();
      const a = Mutex.open({ buffer });
      const b = Mutex.open({ buffer });
      a.lock();
      const t0 = performance.now();
      assert.throws(() => b.lock(120), (e) => e instanceof ShmError && e.code === 'ERR_LOCK_TIMEOUT');
      assert.ok(performance.now() - t0 >= 100);
      assert.throws(() => a.lock(), { code: 'ERR_LOCK_TIMEOUT' }); // not recursive
      a.unlock();
      a.close();
      b.close();
    });

    it('lockAsync rejects with ERR_LOCK_TIMEOUT', async () => {
      const buffer = sab();
      const a = Mutex.open({ buffer });
      const b = Mutex.open({ buffer });
      a.lock();
      await assert.rejects(b.lockAsync(80), { code: 'ERR_LOCK_TIMEOUT' });
      a.unlock();
      a.close();
      b.close();
    });
  });

  describe('unlock', () => {
    it('by a handle that does not hold the mutex throws ShmError ERR_NOT_OWNER', () => {
      const buffer = sab();
      const a = Mutex.open({ buffer });
      const b = Mutex.open({ buffer });
      assert.throws(() => a.unlock(), (e) => e instanceof ShmError && e.code === 'ERR_NOT_OWNER');
      a.lock();
      assert.throws(() => b.unlock(), { code: 'ERR_NOT_OWNER' });
      a.unlock();
      assert.throws(() => a.unlock(), { code: 'ERR_NOT_OWNER' });
      a.close();
      b.close();
    });

    it('by a holder whose lock was taken over (it was presumed gone) throws ERR_NOT_OWNER and leaves the taker its lock and recovery', () => {
      const buffer = sab();
      const a = Mutex.open({ buffer });
      const b = Mutex.open({ buffer });
      const u32 = new Uint32Array(buffer);
      const RECOVERING = C.SYNC_MUTEX_OFFSET / WORD + W.MUTEX_STATE.RECOVERING;
      assert.deepStrictEqual(a.lock(), { recovered: false });
      // What a taker that judged `a` gone leaves (format.md §13, "Take over"): the same odd
      // version with its own slot (b's, the next one), and `recovering` set.
      const held = Atomics.load(u32, LOCK);
      const taken = lw.takeoverWord(held, lw.ownerOf(held) + 1);
      Atomics.store(u32, LOCK, taken);
      Atomics.store(u32, RECOVERING, 1);
      assert.throws(() => a.unlock(), { code: 'ERR_NOT_OWNER' });
      assert.strictEqual(a.held, false);
      assert.strictEqual(Atomics.load(u32, LOCK), taken);
      assert.strictEqual(Atomics.load(u32, RECOVERING), 1);
      // The taker's release (b's slot) ends the recovery; then a takes the mutex as before.
      Atomics.store(u32, LOCK, lw.releasedWord(taken));
      Atomics.store(u32, RECOVERING, 0);
      assert.deepStrictEqual(a.lock(), { recovered: false });
      assert.strictEqual(b.tryLock(), false);
      a.unlock();
      assert.deepStrictEqual(b.lock(), { recovered: false });
      b.unlock();
      a.close();
      b.close();
    });
  });

  describe('lockAsync', () => {
    it('does not block the event loop while it waits', async () => {
      const buffer = sab();
      const a = Mutex.open({ buffer });
      const b = Mutex.open({ buffer });
      a.lock();
      let ticks = 0;
      let acquired = false;
      // Timers fire while the wait is pending: the loop runs. A wait that blocked it would hold it
      // until its own timeout (the holder is this thread) and then reject.
      const timer = setInterval(() => { ticks++; }, 5);
      try {
        const p = b.lockAsync(10000).then((r) => {
          acquired = true;
          return r;
        });
        await until(() => ticks >= 5, 'timer ticks while lockAsync waits');
        assert.strictEqual(acquired, false);
        a.unlock();
        assert.deepStrictEqual(await p, { recovered: false });
      } finally {
        clearInterval(timer);
      }
      b.unlock();
      a.close();
      b.close();
    });

    it('an AbortSignal ends the wait with its reason, and a later lock works', async () => {
      const buffer = sab();
      const a = Mutex.open({ buffer });
      const b = Mutex.open({ buffer });
      a.lock();
      const ac = new AbortController();
      const p = b.lockAsync(10000, { signal: ac.signal });
      setTimeout(() => ac.abort(), 20);
      await assert.rejects(p, { name: 'AbortError' });
      assert.strictEqual(b.held, false);
      assert.throws(() => b.lockAsync(1, { signal: 'no' }), { code: 'ERR_INVALID_ARG' });
      a.unlock();
      assert.deepStrictEqual(await b.lockAsync(1000), { recovered: false });
      b.unlock();
      a.close();
      b.close();
    });

    it('an AbortSignal given as the options (not as { signal }) is a TypeError saying so, and takes nothing', () => {
      const buffer = sab();
      const a = Mutex.open({ buffer });
      const b = Mutex.open({ buffer });
      a.lock();
      const ac = new AbortController();
      for (const call of [() => b.lockAsync(50, ac.signal), () => b.lockAsync(undefined, AbortSignal.abort())]) {
        assert.throws(call, (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG' && /AbortSignal.*\{ signal \}/.test(e.message));
      }
      assert.strictEqual(b.held, false);
      a.unlock();
      a.close();
      b.close();
    });

    it('lets tasks of one thread sharing a handle wait for each other', async () => {
      const m = Mutex.open({ buffer: sab() });
      const order = [];
      const task = async (n) => {
        await m.lockAsync();
        order.push(`in${n}`);
        await new Promise((r) => setTimeout(r, 20));
        order.push(`out${n}`);
        m.unlock();
      };
      await Promise.all([task(1), task(2)]);
      assert.deepStrictEqual(order, ['in1', 'out1', 'in2', 'out2']);
      m.close();
    });
  });

  describe('mutual exclusion among threads', () => {
    it('4 workers doing plain increments in a SharedArrayBuffer leave exactly the sum', async () => {
      const K = 20000;
      const buffer = new SharedArrayBuffer(Mutex.BYTES + 64);
      const counter = new Uint32Array(buffer, Mutex.BYTES, 1);
      const workers = [1, 2, 3, 4].map(() => worker({ mode: 'count', buffer, k: K }));
      for (const w of workers) assert.strictEqual(await w.message, 'done');
      assert.strictEqual(counter[0], 4 * K);
    });
  });

  describe('withLock', () => {
    it('runs a sync function under the lock and returns its value', () => {
      const m = Mutex.open({ buffer: sab() });
      assert.strictEqual(m.withLock((info) => {
        assert.strictEqual(m.held, true);
        assert.deepStrictEqual(info, { recovered: false });
        return 42;
      }), 42);
      assert.strictEqual(m.held, false);
      assert.throws(() => m.withLock(() => { throw new Error('boom'); }), /boom/);
      assert.strictEqual(m.held, false);
      m.close();
    });

    it('runs an async function under the lock and releases it when it settles', async () => {
      const m = Mutex.open({ buffer: sab() });
      const v = await m.withLock(async () => {
        await new Promise((r) => setTimeout(r, 10));
        assert.strictEqual(m.held, true);
        return 'x';
      });
      assert.strictEqual(v, 'x');
      assert.strictEqual(m.held, false);
      await assert.rejects(m.withLock(async () => { throw new Error('async boom'); }), /async boom/);
      assert.strictEqual(m.held, false);
      m.close();
    });
  });

  describe('recovery', () => {
    it('close() while holding abandons the mutex: the next acquirer is told recovered until an unlock', () => {
      const buffer = sab();
      const a = Mutex.open({ buffer });
      const b = Mutex.open({ buffer });
      a.lock();
      a.close();
      assert.deepStrictEqual(b.lock(1000), { recovered: true });
      // It does not repair and closes too: the recovery is still pending for the next one.
      b.close();
      const c = Mutex.open({ buffer });
      assert.deepStrictEqual(c.lock(1000), { recovered: true });
      c.unlock();
      assert.deepStrictEqual(c.lock(1000), { recovered: false });
      c.unlock();
      c.close();
    });

    (addon ? it : it.skip)('a worker terminated while holding: the main thread acquires and sees recovered: true', async () => {
      const buffer = sab();
      const m = Mutex.open({ buffer });
      const { w, message, exited } = worker({ mode: 'hold', buffer });
      assert.strictEqual(await message, 'held');
      assert.strictEqual(m.tryLock(), false);
      await w.terminate();
      await exited;
      const t0 = performance.now();
      assert.deepStrictEqual(m.lock(RECOVERY_BOUND_MS), { recovered: true });
      assert.ok(performance.now() - t0 < RECOVERY_BOUND_MS);
      assert.strictEqual(m.recoveries, 1);
      m.unlock();
      assert.deepStrictEqual(m.lock(), { recovered: false });
      m.unlock();
      m.close();
    });
  });

  describe('a full owner table', () => {
    it('adopts the slot of a gone owner, and abandons the lock that slot held', () => {
      const buffer = sab();
      const u32 = fillOwners(buffer, exitedPid());
      // The dead owner of slot 1 (the one an opener adopts first) held the lock.
      Atomics.store(u32, LOCK, lw.acquiredWord(0, 1));
      const a = Mutex.open({ buffer });
      const b = Mutex.open({ buffer });
      assert.deepStrictEqual(a.lock(1000), { recovered: true });
      a.unlock();
      assert.deepStrictEqual(b.lock(1000), { recovered: false });
      b.unlock();
      a.close();
      b.close();
    });

    it('takes over a lock held by another gone owner of a full table', () => {
      const buffer = sab();
      const u32 = fillOwners(buffer, exitedPid());
      Atomics.store(u32, LOCK, lw.acquiredWord(0, C.SYNC_OWNER_SLOTS - 1));
      const m = Mutex.open({ buffer });
      assert.deepStrictEqual(m.lock(1000), { recovered: true });
      assert.strictEqual(m.recoveries, 1);
      m.unlock();
      m.close();
    });

    // Workers of this process that ended without closing their handles (terminated, or just
    // returned) leave records the addon marks dead: they are reused like those of a gone process,
    // so a process that runs many short-lived workers can still open the mutex.
    (addon ? it : it.skip)('adopts the slot of a worker of this process that ended without closing, and abandons its lock', async () => {
      const buffer = sab();
      const u32 = fillOwners(buffer, process.pid);
      const table = new OwnerTable(u32, C.SYNC_OWNERS_OFFSET / WORD, C.SYNC_OWNER_SLOTS);
      const last = C.SYNC_OWNER_SLOTS - 1;
      table.release(last);
      const { w, message, exited } = worker({ mode: 'hold', buffer });
      assert.strictEqual(await message, 'held');
      await w.terminate();
      await exited;
      const m = Mutex.open({ buffer });
      assert.deepStrictEqual(m.lock(1000), { recovered: true });
      m.unlock();
      m.close();
      // A worker that returns without closing its handle leaves the slot just the same.
      const leaver = worker({ mode: 'leave', buffer });
      assert.strictEqual(await leaver.message, 'opened');
      await leaver.exited;
      const again = Mutex.open({ buffer });
      assert.deepStrictEqual(again.lock(1000), { recovered: false });
      again.unlock();
      again.close();
    });

    it('throws ERR_TOO_MANY_HANDLES when every owner is live', () => {
      const buffer = sab();
      fillOwners(buffer, process.pid);
      assert.throws(() => Mutex.open({ buffer }), (e) => e instanceof ShmError && e.code === 'ERR_TOO_MANY_HANDLES');
    });
  });

  withAddon('across processes (segments)', () => {
    let name;
    beforeEach(() => { name = uniqueName('mutex'); });
    afterEach(() => removeShm(name));

    // A creator makes its segment with 0 bytes and sizes it next: an opener in between maps
    // nothing yet. It waits for the size (as Store.open does), instead of failing with
    // ERR_BAD_SIZE as if the segment were too small for a mutex.
    it('open waits for a segment that its creator has made but not sized yet', async () => {
      const { dir, cleanup } = tempDir();
      try {
        const file = path.join(dir, 'lock');
        require('fs').writeFileSync(file, '');
        const go = new Int32Array(new SharedArrayBuffer(4));
        const sizer = new Worker(`
          const fs = require('fs');
          const { workerData: { file, go, bytes } } = require('worker_threads');
          Atomics.store(go, 0, 1);
          Atomics.notify(go, 0);
          Atomics.wait(go, 0, 1, 50); // the opener is on its way meanwhile
          fs.truncateSync(file, bytes);`, { eval: true, workerData: { file, go, bytes: Mutex.BYTES } });
        const done = new Promise((resolve, reject) => { sizer.once('exit', resolve); sizer.once('error', reject); });
        Atomics.wait(go, 0, 0);
        const m = Mutex.open({ path: file });
        assert.deepStrictEqual(m.lock(1000), { recovered: false });
        m.unlock();
        m.close();
        await done;
      } finally {
        cleanup();
      }
    });

    // A creator that sizes its segment in steps (posix_fallocate on ext4 for a large size, glibc's
    // fallback on a file system without fallocate: an older version of this package, another
    // tool) is found with part of its size, here a page, less than the region. The opener waits
    // for the size the region needs, instead of refusing the segment as too small (ERR_BAD_SIZE).
    it('open of a file its creator sizes in two steps (first only a page, less than the region) waits, and opens the creator\'s mutex', async () => {
      const { dir, cleanup } = tempDir();
      try {
        const target = { path: path.join(dir, 'lock') };
        require('fs').writeFileSync(target.path, '');
        assert.ok(Mutex.BYTES > PAGE, 'the region is larger than the first step');
        const got = await openWhileCreated('Mutex', target, { firstBytes: PAGE });
        assert.ifError(got.error);
        assert.strictEqual(got.seen, true);
      } finally {
        cleanup();
      }
    });

    it('a holder killed with SIGKILL: a waiting process acquires within a bounded time, recovered: true', async () => {
      const m = Mutex.create({ name });
      const h = holder(name);
      await h.held;
      const waiting = m.lockAsync(30000);
      await new Promise((r) => setTimeout(r, 100));
      const t0 = performance.now();
      h.child.kill('SIGKILL');
      assert.strictEqual(await h.exited, 'SIGKILL');
      assert.deepStrictEqual(await waiting, { recovered: true });
      const took = performance.now() - t0;
      assert.ok(took < RECOVERY_BOUND_MS, `recovered after ${took} ms`);
      m.unlock();
      assert.deepStrictEqual(m.tryLock(), { recovered: false });
      m.unlock();
      m.close();
    });

    // A process whose JS code Node's permission model denies /proc. Its JS handles take its
    // identity from the addon, whose code reads /proc (format.md §6, "Identity unknown"), and
    // record the start time and boot id its native handles record; before, they recorded the
    // start time as unknown, and were judged by their pid alone. (A process that cannot read its
    // identity at all writes the unknown marker, never 0: as 0, its record read as one without
    // identity, rule 6, and any process that knows its own took its mutex while it held it.)
    it('a holder whose JS code cannot read /proc records its identity, keeps the mutex while it lives; recovered once it is killed', async function () {
      const flags = noProcNodeArgs();
      if (flags === null) this.skip();
      const m = Mutex.create({ name });
      const h = holder(name, flags);
      try {
        await h.held;
        const slot = lw.ownerOf(Atomics.load(new Uint32Array(m.buffer), LOCK));
        const table = new OwnerTable(new Uint32Array(m.buffer), C.SYNC_OWNERS_OFFSET / WORD, C.SYNC_OWNER_SLOTS);
        const record = table.read(slot);
        assert.strictEqual(record.pid, h.child.pid);
        assert.strictEqual(record.startTime, readProcessStat(h.child.pid).startTime, 'its start time, read by the addon');
        assert.strictEqual(record.bootId, bootId(), 'and the boot id');
        assert.strictEqual(m.tryLock(), false, 'held by a live process');
        assert.throws(() => m.lock(300), (e) => e instanceof ShmError && e.code === 'ERR_LOCK_TIMEOUT');
        // The native waiter judges the record by the same rule.
        const n = new addon.NativeMutex(m.buffer, 0, process.pid, threadId);
        try {
          assert.strictEqual(n.tryLock(), 0, 'held by a live process (native)');
          assert.throws(() => n.lock(300), (e) => e instanceof ShmError && e.code === 'ERR_LOCK_TIMEOUT');
        } finally {
          n.close();
        }
      } finally {
        h.child.kill('SIGKILL');
      }
      assert.strictEqual(await h.exited, 'SIGKILL');
      assert.deepStrictEqual(m.tryLock(), { recovered: true });
      m.unlock();
      m.close();
    });

    it('a holder killed with SIGKILL: a later lock() recovers it at once', async () => {
      const m = Mutex.create({ name });
      const h = holder(name);
      await h.held;
      h.child.kill('SIGKILL');
      await h.exited;
      const t0 = performance.now();
      assert.deepStrictEqual(m.lock(RECOVERY_BOUND_MS), { recovered: true });
      assert.ok(performance.now() - t0 < RECOVERY_BOUND_MS);
      m.unlock();
      m.close();
    });

    it('mutual exclusion: 4 workers and 2 processes doing plain increments leave exactly the sum', async () => {
      const K = 20000;
      const m = Mutex.create({ name, size: Mutex.BYTES + 64 });
      const counter = new Uint32Array(m.buffer, Mutex.BYTES, 1);
      const workers = [1, 2, 3, 4].map(() => worker({ mode: 'count', buffer: m.buffer, k: K }));
      const children = [1, 2].map(() => runNode(CHILD, ['count', name, String(K)]));
      for (const w of workers) assert.strictEqual(await w.message, 'done');
      for (const r of await Promise.all(children)) {
        assert.strictEqual(r.code, 0, r.stderr);
        assert.strictEqual(r.stdout.trim(), 'done');
      }
      assert.strictEqual(counter[0], 6 * K);
      assert.strictEqual(m.recoveries, 0);
      m.close();
    });

    it('mutual exclusion: 2 processes x 2 workers, 1,000,000 plain increments in all: exactly the sum', async function () {
      this.timeout(300000);
      const K = 250000;
      const m = Mutex.create({ name, size: Mutex.BYTES + 64 });
      const counter = new Uint32Array(m.buffer, Mutex.BYTES, 1);
      const workers = [1, 2].map(() => worker({ mode: 'count', buffer: m.buffer, k: K }));
      const children = [1, 2].map(() => runNode(CHILD, ['count', name, String(K)], { timeoutMs: 240000 }));
      for (const w of workers) assert.strictEqual(await w.message, 'done');
      for (const r of await Promise.all(children)) assert.strictEqual(r.code, 0, r.stderr);
      assert.strictEqual(counter[0], 4 * K);
      m.close();
    });

    it('a file segment (path) and open() of an existing mutex', () => {
      const { dir, cleanup } = tempDir();
      try {
        const file = path.join(dir, 'mutex');
        const a = Mutex.create({ path: file });
        const b = Mutex.open({ path: file });
        a.lock();
        assert.strictEqual(b.tryLock(), false);
        a.unlock();
        assert.ok(b.tryLock());
        b.unlock();
        a.close();
        b.close();
      } finally {
        cleanup();
      }
    });

    it('open() refuses a segment too small for the region and one that is not a mutex', () => {
      const seg = Segment.create({ name, size: 64 });
      assert.throws(() => Mutex.open({ name }), { code: 'ERR_BAD_SIZE' });
      seg.close();
      const buffer = sab();
      new Uint8Array(buffer).fill(7);
      assert.throws(() => Mutex.open({ buffer }), { code: 'ERR_BAD_MAGIC' });
    });
  });

  describe('bad arguments', () => {
    const invalid = (name) => (e) => e instanceof name && e.code === 'ERR_INVALID_ARG';

    it('are refused with TypeError or RangeError, code ERR_INVALID_ARG', () => {
      assert.throws(() => Mutex.create(), invalid(TypeError));
      assert.throws(() => Mutex.open(null), invalid(TypeError));
      assert.throws(() => Mutex.open({}), invalid(TypeError));
      assert.throws(() => Mutex.open({ buffer: sab(), name: 'x' }), invalid(TypeError));
      assert.throws(() => Mutex.open({ buffer: new ArrayBuffer(Mutex.BYTES) }), invalid(TypeError));
      assert.throws(() => Mutex.open({ buffer: new SharedArrayBuffer(64) }), invalid(RangeError));
      assert.throws(() => Mutex.open({ buffer: sab(), byteOffset: 3 }), invalid(RangeError));
      assert.throws(() => Mutex.open({ buffer: sab(), byteOffset: -64 }), invalid(RangeError));
      assert.throws(() => Mutex.open({ buffer: sab(), byteOffset: Mutex.BYTES }), invalid(RangeError));
      assert.throws(() => Mutex.open({ buffer: sab(), size: 1 << 20 }), invalid(TypeError));
      assert.throws(() => Mutex.open({ buffer: sab(), bogus: 1 }), invalid(TypeError));
      assert.throws(() => Mutex.create({ buffer: sab(), size: 1 << 20 }), invalid(TypeError));
      assert.throws(() => Mutex.create({ name: 'bad/name' }), invalid(RangeError));
      assert.throws(() => new Mutex(), TypeError);
      const m = Mutex.open({ buffer: sab() });
      assert.throws(() => m.lock('1'), invalid(TypeError));
      assert.throws(() => m.lock(-1), invalid(RangeError));
      assert.throws(() => m.lock(NaN), invalid(RangeError));
      assert.throws(() => m.lockAsync({}), invalid(TypeError));
      assert.throws(() => m.withLock('fn'), invalid(TypeError));
      m.close();
      assert.throws(() => m.lock(), { code: 'ERR_CLOSED' });
      m.close(); // idempotent
    });
  });
});
