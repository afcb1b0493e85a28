'use strict';
// The native mutex (src/sync/mutex.h through the addon's NativeMutex) and the JS Mutex
// (lib/sync/mutex.js) on the same bytes (docs/format.md §13): they exclude each other (an exact
// sum of plain increments across JS and native workers), and each recovers a lock the other left
// in a process killed with SIGKILL or a terminated worker.
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { Mutex, Segment, ShmError } = require('../../index');
const { addon } = require('../../lib/base/native');
const { STATUS, C, W } = require('../../lib/layout/layout');
const { acquiredWord } = require('../../lib/ownership/lockword');
const { uniqueName, removeShm, holderProcess } = require('../helpers/process');

const ROOT = path.join(__dirname, '..', '..');
const MUTEX_CHILD = path.join(ROOT, 'test', 'helpers', 'children', 'mutex-child.js');
// Far above the recheck period (50 ms) a waiter needs to notice a gone holder; generous for a
// loaded machine. Every wait below is bounded by it or by Mocha's timeout.
const BOUND_MS = 20000;
const withAddon = addon ? describe : describe.skip;

// Code run by native workers and processes: `m` is a NativeMutex over `buffer`.
const NATIVE_PRELUDE = `
  const { addon } = require(${JSON.stringify(path.join(ROOT, 'lib', 'base', 'native'))});
  const { Mutex, Segment } = require(${JSON.stringify(ROOT)});
  const { threadId } = require('worker_threads');
  const open = (buffer) => new addon.NativeMutex(buffer, 0, process.pid, threadId);
`;

// A worker thread running `body` with a NativeMutex `m` over workerData.buffer.
function nativeWorker(buffer, body, extra = {}) {
  const w = new Worker(`${NATIVE_PRELUDE}
    const { workerData, parentPort } = require('worker_threads');
    const m = open(workerData.buffer);
    ${body}`, { eval: true, workerData: { buffer, ...extra } });
  const exited = new Promise((resolve) => w.once('exit', resolve));
  const message = new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  return { w, message, exited };
}

function jsWorker(buffer, k) {
  const w = new Worker(MUTEX_CHILD, { workerData: { mode: 'count', buffer, k } });
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
}

// A child process that holds the mutex of segment `name`: natively (`native`) or with the JS
// Mutex (mutex-child.js hold). Resolves `held` once it holds it.
function holder(name, native) {
  return holderProcess(native
    ? ['-e', `${NATIVE_PRELUDE}
        const seg = Segment.open({ name: ${JSON.stringify(name)} });
        const m = open(seg.buffer);
        m.lock();
        process.stdout.write('held\\n');
        setInterval(() => {}, 1000);`]
    : [MUTEX_CHILD, 'hold', name]);
}

function sab(extra = 0) {
  return new SharedArrayBuffer(Mutex.BYTES + extra);
}

withAddon('NativeMutex and Mutex on the same bytes', () => {
  const { NativeMutex } = addon || {};

  // Format.md §6, rule 6: a record that names a live pid and no identity (a claim not finished,
  // a freeing stopped between its stores, or damage) holds nothing, in both implementations.
  // Judged by its pid alone, it held the mutex for as long as that unrelated process lived.
  // A record of this process's own pid is judged by the same-process rules instead: a sibling
  // thread's record may read so while it claims, and a holder of this process is gone only once
  // its record is marked dead or released.
  it('a lock held by a record that names a live pid and no identity is taken over by either, recovered; one of this pid is not', () => {
    const WORD = Uint32Array.BYTES_PER_ELEMENT;
    const slot = C.SYNC_OWNER_SLOTS - 1;
    for (const [pid, native] of [[process.ppid, false], [process.ppid, true], [process.pid, null]]) {
      const buffer = sab();
      const u32 = new Uint32Array(buffer);
      const j = Mutex.open({ buffer });
      const n = new NativeMutex(buffer, 0, process.pid, 0);
      Atomics.store(u32, C.SYNC_OWNERS_OFFSET / WORD + slot * W.OWNER.WORDS + W.OWNER.PID, pid);
      Atomics.store(u32, C.SYNC_MUTEX_OFFSET / WORD + W.MUTEX_STATE.LOCK, acquiredWord(0, slot));
      if (native === null) {
        assert.strictEqual(j.tryLock(), false, 'JS, this pid');
        assert.strictEqual(n.tryLock(), 0, 'native, this pid');
      } else if (native) {
        assert.strictEqual(n.lock(200), true, `native, pid ${pid}`);
        n.unlock();
      } else {
        assert.deepStrictEqual(j.lock(200), { recovered: true }, `JS, pid ${pid}`);
        j.unlock();
      }
      j.close();
      n.close();
    }
  });

  it('exclude each other in one thread, in both directions', () => {
    const buffer = sab();
    const n = new NativeMutex(buffer, 0, process.pid, 0);
    const j = Mutex.open({ buffer });
    assert.notStrictEqual(n.slot(), 0);
    assert.strictEqual(n.lock(), false); // not recovered
    assert.strictEqual(n.held(), true);
    assert.strictEqual(j.tryLock(), false);
    assert.throws(() => j.lock(20), (e) => e instanceof ShmError && e.code === 'ERR_LOCK_TIMEOUT');
    n.unlock();
    assert.deepStrictEqual(j.lock(), { recovered: false });
    assert.strictEqual(n.tryLock(), 0);
    assert.throws(() => n.lock(20), (e) => e instanceof ShmError && e.code === 'ERR_LOCK_TIMEOUT' &&
      e.message === 'Mutex not acquired within 20 ms' && e.status === STATUS.ERR_LOCK_TIMEOUT);
    j.unlock();
    assert.strictEqual(n.tryLock(), 1);
    n.unlock();
    n.close();
    j.close();
  });

  it('JS and native workers adding to one plain counter: the sum is exact', async function () {
    this.timeout(120000);
    const buffer = sab(Uint32Array.BYTES_PER_ELEMENT);
    const k = 3000;
    const native = () => nativeWorker(buffer, `
      const counter = new Uint32Array(workerData.buffer, Mutex.BYTES, 1);
      for (let i = 0; i < workerData.k; i++) {
        m.lock(${BOUND_MS});
        const seen = counter[0]; // plain: only the mutex keeps increments apart
        for (let j = 0; j < 20; j++) Math.sqrt(j);
        counter[0] = seen + 1;
        m.unlock();
      }
      m.close();
      parentPort.postMessage('done');`, { k }).message;
    const results = await Promise.all([native(), jsWorker(buffer, k), native(), jsWorker(buffer, k)]);
    assert.deepStrictEqual(results, ['done', 'done', 'done', 'done']);
    assert.strictEqual(new Uint32Array(buffer, Mutex.BYTES, 1)[0], 4 * k);
  });

  for (const [leftBy, native] of [['a native holder', true], ['a JS holder', false]]) {
    it(`a lock left by ${native ? 'a native' : 'a JS'} holder killed with SIGKILL: the ${native ? 'JS' : 'native'} acquirer recovers it and is told`, async function () {
      this.timeout(60000);
      const name = uniqueName('nmx');
      const m = Mutex.create({ name });
      try {
        const h = holder(name, native);
        await h.held;
        const seg = Segment.open({ name });
        const n = new NativeMutex(seg.buffer, 0, process.pid, 0);
        try {
          assert.strictEqual(m.tryLock(), false, `${leftBy} is alive`);
          assert.strictEqual(n.tryLock(), 0, `${leftBy} is alive`);
          h.child.kill('SIGKILL');
          assert.strictEqual(await h.exited, 'SIGKILL');
          if (native) {
            assert.deepStrictEqual(m.lock(BOUND_MS), { recovered: true });
            assert.strictEqual(n.recoveries(), 1);
            m.unlock(); // declares the state consistent
            assert.strictEqual(n.lock(BOUND_MS), false);
            n.unlock();
          } else {
            assert.strictEqual(n.lock(BOUND_MS), true);
            assert.strictEqual(m.recoveries, 1);
            n.unlock();
            assert.deepStrictEqual(m.lock(BOUND_MS), { recovered: false });
            m.unlock();
          }
        } finally {
          n.close();
          seg.close();
        }
      } finally {
        m.close();
        removeShm(name);
      }
    });
  }

  it('a native holder in a worker that is terminated abandons the lock: a JS acquirer is told', async () => {
    const buffer = sab();
    const j = Mutex.open({ buffer });
    const h = nativeWorker(buffer, `
      m.lock();
      parentPort.postMessage('held');
      for (;;) {} // held until terminated`);
    assert.strictEqual(await h.message, 'held');
    assert.strictEqual(j.tryLock(), false);
    await h.w.terminate();
    assert.deepStrictEqual(j.lock(BOUND_MS), { recovered: true });
    assert.strictEqual(j.recoveries, 0, 'abandoned, not taken over');
    j.unlock();
    j.close();
  });

  it('a worker blocked in a native lock() without a timeout is terminated (no hang)', async () => {
    const buffer = sab();
    const j = Mutex.open({ buffer });
    j.lock();
    const h = nativeWorker(buffer, `
      parentPort.postMessage('waiting');
      m.lock();
      parentPort.postMessage('acquired?');`);
    assert.strictEqual(await h.message, 'waiting');
    await new Promise((resolve) => setTimeout(resolve, 100)); // let it reach the futex
    const exited = await Promise.race([h.w.terminate().then(() => 'terminated'),
      new Promise((resolve) => setTimeout(resolve, BOUND_MS, 'hung').unref())]);
    assert.strictEqual(exited, 'terminated');
    j.unlock();
    assert.deepStrictEqual(j.lock(), { recovered: false }, 'the terminated waiter took nothing');
    j.unlock();
    j.close();
  });

  it('refuses bad arguments and misuse with TypeError, RangeError or a coded ShmError', () => {
    const buffer = sab();
    const code = (c) => (e) => e instanceof ShmError && e.code === c;
    assert.throws(() => NativeMutex(buffer, 0, process.pid, 0), TypeError);
    assert.throws(() => new NativeMutex(new ArrayBuffer(Mutex.BYTES), 0, process.pid, 0), TypeError);
    assert.throws(() => new NativeMutex(buffer, '0', process.pid, 0), TypeError);
    assert.throws(() => new NativeMutex(buffer, 8, process.pid, 0), RangeError);
    assert.throws(() => new NativeMutex(buffer, 64, process.pid, 0), RangeError);
    assert.throws(() => new NativeMutex(buffer, 0, 0, 0), RangeError);
    const other = new SharedArrayBuffer(Mutex.BYTES);
    new Uint32Array(other)[0] = 0x12345678;
    assert.throws(() => new NativeMutex(other, 0, process.pid, 0), code('ERR_BAD_MAGIC'));
    const n = new NativeMutex(buffer, 0, process.pid, 0);
    assert.throws(() => n.lock('1'), TypeError);
    assert.throws(() => n.lock(-1), RangeError);
    assert.throws(() => n.unlock(), code('ERR_NOT_OWNER'));
    assert.strictEqual(n.lock(Infinity), false);
    assert.throws(() => n.lock(), code('ERR_LOCK_TIMEOUT'), 'not recursive');
    n.close();
    assert.strictEqual(n.held(), false);
    assert.throws(() => n.lock(), code('ERR_CLOSED'));
    assert.throws(() => n.tryLock(), code('ERR_CLOSED'));
    n.close(); // idempotent
    const j = Mutex.open({ buffer });
    assert.deepStrictEqual(j.lock(BOUND_MS), { recovered: true }, 'closing while holding abandons');
    j.unlock();
    j.close();
  });
});
