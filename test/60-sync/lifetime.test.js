'use strict';
// What every sync kind promises about the life of its waiters (docs/api.md "Sync objects"):
// worker.terminate() and process.exit() never hang on a pending wait, and without the addon the
// kinds work between the threads of one process and refuse a segment with a clear error.
const assert = require('assert');
const path = require('path');
const { Mutex, RwLock, Condition, Semaphore, Barrier, WaitGroup, Segment } = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, tempDir, runNode, exitedPid, until } = require('../helpers/process');
const { actor } = require('../helpers/sync-actors');
const { watchLog } = require('../helpers/watches');
const { Region, claimOrAbort } = require('../../lib/sync/region');
const { C, W } = require('../../lib/layout/layout');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'sync-child.js');
const KINDS = { mutex: Mutex, rwlock: RwLock, semaphore: Semaphore, barrier: Barrier, waitgroup: WaitGroup, condition: Condition, condMutex: Mutex };

// Every kind side by side in one buffer: their offsets and the total size.
function layout() {
  const offsets = {};
  let at = 0;
  for (const [k, K] of Object.entries(KINDS)) {
    offsets[k] = at;
    at += K.BYTES;
  }
  return { offsets, bytes: at };
}

// The test's side of the "pending-all" mode: every wait the actor starts stays pending.
function blockEverything(target, offsets) {
  const at = (k) => ({ ...target, byteOffset: offsets[k] });
  const m = Mutex.open(at('mutex'));
  m.lock();
  const rw = RwLock.open(at('rwlock'));
  rw.writeLock();
  const objects = [m, rw, Semaphore.open(at('semaphore')), Barrier.create({ ...at('barrier'), parties: 3 }),
    WaitGroup.open(at('waitgroup')), Condition.open(at('condition'))];
  objects[4].add(1);
  return objects;
}

describe('sync objects: the life of a waiter', () => {
  it('worker.terminate() ends a worker with pending async waits of every kind and a blocking wait', async () => {
    const { offsets, bytes } = layout();
    const buffer = new SharedArrayBuffer(bytes);
    const held = blockEverything({ buffer }, offsets);
    const a = actor('pending-all', { buffer }, { offsets });
    assert.strictEqual(await a.next(), 'waiting');
    await new Promise((r) => setTimeout(r, 50));
    await a.kill();
    assert.strictEqual(await a.exited, 1);
    for (const o of held) o.close();
  });

  (addon ? it : it.skip)('a handle opened on another handle\'s buffer keeps the shared mutex after that handle closes', () => {
    const name = uniqueName('life-held');
    try {
      const first = Mutex.create({ name });
      const second = Mutex.open({ buffer: first.buffer });
      first.close();
      second.lock();
      // A handle mapping the segment on its own sees the lock held: it is still the shared one.
      const third = Mutex.open({ name });
      try {
        assert.strictEqual(third.tryLock(), false);
        second.unlock();
        assert.deepStrictEqual(third.tryLock(), { recovered: false });
        third.unlock();
      } finally {
        third.close();
        second.close();
      }
    } finally {
      removeShm(name);
    }
  });

  (addon ? it : it.skip)('process.exit() with pending async waits of every kind exits at once', async () => {
    const name = uniqueName('life');
    try {
      const { offsets, bytes } = layout();
      const seg = Segment.create({ name, size: bytes });
      const held = blockEverything({ buffer: seg.buffer }, offsets);
      const r = await runNode(CHILD, ['pending-all', name, JSON.stringify({ offsets })], { timeoutMs: 30000 });
      assert.strictEqual(r.signal, null, 'killed by the time limit: the exit hung');
      assert.strictEqual(r.code, 0, r.stderr);
      assert.strictEqual(r.stdout, 'waiting\n');
      for (const o of held) o.close();
      seg.close();
    } finally {
      removeShm(name);
    }
  });

  (addon ? it : it.skip)('every kind on a file segment (path), at a byteOffset: create, then open from another handle', () => {
    const dir = tempDir();
    try {
      for (const [k, K] of Object.entries(KINDS)) {
        const file = path.join(dir.dir, k);
        const extra = K === Barrier ? { parties: 1 } : K === Semaphore ? { permits: 2 } : {};
        const a = K.create({ path: file, byteOffset: 128, ...extra });
        const b = K.open({ path: file, byteOffset: 128 });
        assert.strictEqual(b.buffer.byteLength, 128 + K.BYTES);
        b.close();
        a.close();
      }
    } finally {
      dir.cleanup();
    }
  });

  // An async acquire takes what it gets at once (synchronously) and resolves a tick later: a close
  // in between gives it back, and the promise rejects instead of telling a hold that is gone.
  it('an async acquire that took its hold in the tick its handle closes rejects with ERR_CLOSED', async () => {
    const cases = [
      [Mutex, (h) => h.lockAsync(), (h) => h.tryLock()],
      [RwLock, (h) => h.writeLockAsync(), (h) => h.tryWriteLock()],
      [RwLock, (h) => h.readLockAsync(), (h) => h.tryWriteLock()],
      [Semaphore, (h) => h.acquireAsync(), (h) => h.tryAcquire()],
    ];
    for (const [K, acquireAsync, tryAcquire] of cases) {
      const buffer = new SharedArrayBuffer(K.BYTES);
      const closing = K === Semaphore ? Semaphore.create({ buffer, permits: 1 }) : K.open({ buffer });
      const other = K.open({ buffer });
      const p = acquireAsync(closing);
      closing.close(); // gives the hold back, as for a holder that died
      assert.deepStrictEqual(tryAcquire(other), { recovered: true }, K.name);
      await assert.rejects(p, { code: 'ERR_CLOSED' }, K.name);
      other.close();
    }
  });

  // A sleeper stays counted in its record's sleepers word (format.md §13, "Waiting") until its
  // sleep ends; a handle that closes with waits pending releases its segment's pages at once, so
  // that the count must come off the shared word at the close, not after it: a count left behind
  // makes every later release of the object a wake call, for as long as the segment lives.
  (addon ? it : it.skip)('a handle that opened its own segment and closes with async waits pending leaves no sleeper counted', async () => {
    const { offsets, bytes } = layout();
    const name = uniqueName('life-sleepers');
    const seg = Segment.create({ name, size: bytes });
    try {
      const held = blockEverything({ buffer: seg.buffer }, offsets);
      const WORD = Uint32Array.BYTES_PER_ELEMENT;
      const SLEEPERS = {
        mutex: C.SYNC_MUTEX_OFFSET / WORD + W.MUTEX_STATE.WAITERS,
        rwlock: Region.field(W.RW_LOCK_STATE.SLEEPERS),
        semaphore: Region.field(W.SEMAPHORE_STATE.SLEEPERS),
        barrier: Region.field(W.BARRIER_STATE.SLEEPERS),
        waitgroup: Region.field(W.WAIT_GROUP_STATE.SLEEPERS),
        condition: Region.field(W.CONDITION_STATE.SLEEPERS),
      };
      const u32 = new Uint32Array(seg.buffer);
      const sleepers = (k) => Atomics.load(u32, offsets[k] / WORD + SLEEPERS[k]);
      const waits = {
        mutex: (h) => h.lockAsync(),
        rwlock: (h) => h.readLockAsync(),
        semaphore: (h) => h.acquireAsync(),
        barrier: (h) => h.waitAsync(),
        waitgroup: (h) => h.waitAsync(),
      };
      for (const [k, wait] of Object.entries(waits)) {
        const own = KINDS[k].open({ name, byteOffset: offsets[k] });
        const p = wait(own);
        await until(() => sleepers(k) === 1, `the ${k} wait to sleep`);
        own.close();
        await assert.rejects(p, { code: 'ERR_CLOSED' }, k);
        assert.strictEqual(sleepers(k), 0, k);
      }
      const m = held[0];
      const own = Condition.open({ name, byteOffset: offsets.condition });
      const p = own.waitAsync(m);
      await until(() => sleepers('condition') === 1, 'the condition wait to sleep');
      own.close();
      await assert.rejects(p, { code: 'ERR_CLOSED' });
      assert.strictEqual(sleepers('condition'), 0);
      for (const o of held) o.close();
    } finally {
      seg.close();
      removeShm(name);
    }
  });

  // A worker terminated while it opens or closes a handle must leave its owner record watched (the
  // addon marks it dead) or free: a claimed record nobody watches reads as a live owner for as long
  // as its process lives, and what it holds is never given back. The watch is the addon's (without
  // it no thread's end is seen, and leave() ends no native watch): both tests need it.
  (addon ? it : it.skip)('an owner record is watched from its claim on and released before it is unwatched', () => {
    const buffer = new SharedArrayBuffer(Mutex.BYTES);
    const log = watchLog(() => Mutex.open({ buffer }).close());
    assert.deepStrictEqual(log, [
      { what: 'watch', slot: 1, pid: process.pid },
      { what: 'unwatch', slot: 1, pid: 0 },
    ]);
  });

  (addon ? it : it.skip)('an adopted owner record is watched before its holds are given back, and given up if that fails', () => {
    const buffer = new SharedArrayBuffer(Mutex.BYTES);
    const u32 = new Uint32Array(buffer);
    const pidWord = (o) => C.SYNC_OWNERS_OFFSET / Uint32Array.BYTES_PER_ELEMENT + o * W.OWNER.WORDS + W.OWNER.PID;
    const gone = exitedPid();
    for (let o = 1; o < C.SYNC_OWNER_SLOTS; o++) Atomics.store(u32, pidWord(o), gone); // a full table of gone owners
    const r = new Region({ buffer, byteOffset: 0, segment: null }, Mutex.BYTES, 'mutex');
    const log = watchLog((events) => assert.throws(() => claimOrAbort(r, (slot) => {
      events.push({ what: 'give back the holds of', slot });
      throw new Error('the holds could not be given back');
    }), /could not be given back/));
    assert.deepStrictEqual(log, [
      { what: 'watch', slot: 1, pid: process.pid },
      { what: 'give back the holds of', slot: 1 },
      { what: 'unwatch', slot: 1, pid: 0 },
    ]);
    assert.strictEqual(Atomics.load(u32, pidWord(1)), 0);
  });

  // Workers that open and close a mutex in a loop, terminated at random: whatever point of open()
  // or close() each was stopped at, every record left once all have ended is gone for this
  // process (marked dead by the addon, or free), so later handles get the slots back. A worker
  // stopped inside a release once left this process's pid with no identity, which no party of
  // this process frees or adopts while it lives. (Where a worker stops is left to chance here;
  // test/40-ownership/owners.test.js stops one at each point of a release.)
  it('workers terminated at random while they open and close leave no record this process cannot take back', async function () {
    if (!addon) this.skip(); // the addon marks a terminated worker's record dead
    const { Worker } = require('worker_threads');
    const { OwnerTable, identityOf } = require('../../lib/ownership/owners');
    const buffer = new SharedArrayBuffer(Mutex.BYTES);
    Mutex.create({ buffer }).close();
    const run = () => new Promise((resolve, reject) => {
      const w = new Worker(`
        const { workerData, parentPort } = require('worker_threads');
        const { Mutex } = require(workerData.index);
        parentPort.postMessage('go');
        for (;;) Mutex.open({ buffer: workerData.buffer }).close();
      `, { eval: true, workerData: { buffer, index: path.join(__dirname, '..', '..', 'index') } });
      w.once('message', () => setTimeout(() => w.terminate(), Math.random() * 5));
      w.once('error', reject);
      w.once('exit', resolve);
    });
    for (let n = 0; n < 96; n += 8) await Promise.all(Array.from({ length: 8 }, run));
    const t = new OwnerTable(new Uint32Array(buffer), C.SYNC_OWNERS_OFFSET / Uint32Array.BYTES_PER_ELEMENT, C.SYNC_OWNER_SLOTS);
    const me = identityOf(process.pid, 0);
    const kept = [];
    for (let o = 1; o < C.SYNC_OWNER_SLOTS; o++) {
      if (t.read(o).pid !== 0 && t.goneRecord(o, me) === null) kept.push({ o, ...t.read(o), startTime: String(t.read(o).startTime) });
    }
    assert.deepStrictEqual(kept.map((r) => `slot ${r.o}: pid ${r.pid} tid ${r.tid} start ${r.startTime} state ${r.state}`), []);
  });

  it('without the addon: a segment is ERR_ADDON_MISSING for every kind, threads still coordinate', async () => {
    const empty = tempDir();
    try {
      const env = { SHMSTORE_ADDON_DIR: empty.dir };
      const r = await runNode(CHILD, ['no-addon', 'x', JSON.stringify({ name: uniqueName('noaddon') })], { env });
      assert.strictEqual(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.strictEqual(report.addon, false);
      for (const K of ['Mutex', 'RwLock', 'Condition', 'Semaphore', 'Barrier', 'WaitGroup']) {
        assert.strictEqual(report.segment[K], 'ERR_ADDON_MISSING', K);
      }
      // Threads: the waitgroup rounds of waitgroup.test.js in a process without the addon.
      const t = await runNode(path.join(__dirname, '..', 'helpers', 'children', 'sync-threads.js'), ['60'], { env });
      assert.strictEqual(t.code, 0, t.stderr);
      assert.strictEqual(t.stdout.trim(), 'rounds 60');
    } finally {
      empty.cleanup();
    }
  });
});
