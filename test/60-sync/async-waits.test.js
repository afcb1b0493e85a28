'use strict';
// The pending async waits of one sync handle (docs/api.md "Sync objects", "Async waits of a
// handle"): served in call order by one waiting loop per handle, so that thousands of them cost
// one futex wait (no watcher thread each), with every guarantee of a single wait kept: mutual
// exclusion, timeouts and aborts per call, close() rejecting them at once, recovery from a holder
// killed with SIGKILL.
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { Mutex, RwLock, Condition, Semaphore, Barrier, WaitGroup, ShmError } = require('../../index');
const { addon } = require('../../lib/base/native');
const { C, W } = require('../../lib/layout/layout');
const G = require('../../lib/sync/condition-groups');
const { uniqueName, removeShm, holderProcess, tempDir, runNode } = require('../helpers/process');
const { actor } = require('../helpers/sync-actors');

const withAddon = addon ? describe : describe.skip;
const MUTEX_CHILD = path.join(__dirname, '..', 'helpers', 'children', 'mutex-child.js');
const PINGPONG_CHILD = path.join(__dirname, '..', 'helpers', 'children', 'cond-pingpong.js');
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const WAITERS = C.SYNC_MUTEX_OFFSET / WORD + W.MUTEX_STATE.WAITERS;
const LOCK = C.SYNC_MUTEX_OFFSET / WORD + W.MUTEX_STATE.LOCK;
const COND_SEQ = C.SYNC_STATE_OFFSET / WORD + W.CONDITION_STATE.SEQ;
const COND_SLEEPERS = C.SYNC_STATE_OFFSET / WORD + W.CONDITION_STATE.SLEEPERS;
const COND_GROUPS = (C.SYNC_STATE_OFFSET / WORD + W.CONDITION_STATE.GROUPS) / 2; // a u64 index
// How long a waiter that should be woken at once is given: far beyond any scheduling delay. A
// waiter without a recheck that is still asleep then was not woken at all.
const WOKEN_WITHIN_MS = 3000;
// How many more OS threads than before the waits began this process may have while thousands of
// waits are pending: the addon's few futex watchers and the runtime's own, never one per wait.
const MORE_THREADS = 50;

const { threads, tick, sleep, mostThreads, settledNow, handled } = require('../helpers/async-calls');

// A waiter of another party (a worker here) as the shared words see it, without the recheck of
// the package's own waiters, so that only a wake-up ends its sleep: sleep() registers it on the
// sleepers word `sleepers` of `i32` and puts it asleep on word `index` with its present value,
// behind the waits asleep before it in the kernel's queue of the word (a wake-up of one waiter
// reaches them first). `result` is 'ok' when a wake-up reached it, 'timed-out' when none did
// within WOKEN_WITHIN_MS. A condition waiter (`epoch`: the epoch it registered under) takes a
// token of its closed group as soon as it is woken, as the package's waiters do: 'ok took'
// then, 'ok let go' when its group was let go without one.
async function otherSleeper(i32, index, sleepers, epoch) {
  const go = new Int32Array(new SharedArrayBuffer(WORD));
  const worker = new Worker(SLEEPER, {
    eval: true,
    workerData: {
      futex: require.resolve('../../lib/segment/futex'),
      groups: require.resolve('../../lib/sync/condition-groups'),
      buffer: i32.buffer,
      byteOffset: i32.byteOffset,
      length: i32.length,
      index,
      sleepers,
      at: COND_GROUPS,
      epoch,
      go,
      ms: WOKEN_WITHIN_MS,
    },
  });
  const result = new Promise((resolve, reject) => {
    worker.on('message', (m) => { if (m !== 'ready') resolve(m); });
    worker.once('error', reject);
  });
  await new Promise((resolve) => worker.once('message', resolve)); // 'ready'
  return {
    result,
    async sleep() {
      Atomics.store(go, 0, 1);
      Atomics.notify(go, 0);
      await sleep(5); // in the kernel by then
    },
  };
}
const SLEEPER = `
const { workerData: d, parentPort } = require('worker_threads');
const futex = require(d.futex);
const G = require(d.groups);
const i32 = new Int32Array(d.buffer, d.byteOffset, d.length);
parentPort.postMessage('ready');
Atomics.wait(d.go, 0, 0);
Atomics.add(i32, d.sleepers, 1);
let r = futex.wait(i32, d.index, Atomics.load(i32, d.index), d.ms);
Atomics.sub(i32, d.sleepers, 1);
if (d.epoch !== undefined && r === 'ok') {
  const u64 = new BigUint64Array(d.buffer, d.byteOffset, d.length / 2);
  const [, n] = G.update(u64, d.at, (g) => (G.age(g, d.epoch) === 1 && g.tokens > 0 ? G.take(g) : null));
  r += n === null ? ' let go' : ' took';
}
parentPort.postMessage(r);
`;

const isCode = (code) => (e) => e instanceof ShmError && e.code === code;

// A child process that locks the mutex of segment `name` and then waits to be killed.
function holder(name) {
  return holderProcess([MUTEX_CHILD, 'hold', name]);
}

withAddon('sync objects: the pending async waits of one handle', function () {
  let name;
  beforeEach(() => { name = uniqueName('asyncwaits'); });
  afterEach(() => removeShm(name));

  it('2000 pending withLock(async) calls on one handle complete once each, exclusively, without a thread per wait', async () => {
    const N = 2000;
    const m = Mutex.create({ name, size: Mutex.BYTES + 64 });
    const other = Mutex.open({ name });
    const counter = new Int32Array(m.buffer, Mutex.BYTES, 1);
    const ran = new Uint8Array(N);
    let inside = 0;
    const before = threads();
    other.lock(); // every call waits
    const calls = [];
    for (let i = 0; i < N; i++) {
      calls.push(m.withLock(async () => {
        inside++;
        assert.strictEqual(inside, 1, 'one call at a time holds the mutex');
        ran[i]++;
        const seen = counter[0]; // a plain read and write, an await apart
        await tick();
        counter[0] = seen + 1;
        inside--;
        return i;
      }));
    }
    const most = await mostThreads();
    assert.ok(most < before + MORE_THREADS, `${most} threads while ${N} calls wait (${before} before)`);
    other.unlock();
    assert.deepStrictEqual(await Promise.all(calls), [...Array(N).keys()], 'each call resolved with its own value');
    assert.strictEqual(counter[0], N);
    assert.ok(ran.every((n) => n === 1), 'each function ran exactly once');
    assert.strictEqual(Atomics.load(new Uint32Array(m.buffer), WAITERS), 0, 'no registration is left');
    other.close();
    m.close();
  });

  it('pending waits of every kind: a few hundred on one handle use no thread each, and all complete', async () => {
    const N = 500;
    const buffer = new SharedArrayBuffer(Semaphore.BYTES + RwLock.BYTES + Condition.BYTES + Mutex.BYTES + WaitGroup.BYTES + Barrier.BYTES);
    let at = 0;
    const place = (K) => { const o = at; at += K.BYTES; return { buffer, byteOffset: o }; };
    const sem = Semaphore.create(place(Semaphore));
    const rw = RwLock.create(place(RwLock));
    const cond = Condition.create(place(Condition));
    const m = Mutex.create(place(Mutex));
    const wg = WaitGroup.create(place(WaitGroup));
    const bar = Barrier.create({ ...place(Barrier), parties: N + 1 });
    const rwOther = RwLock.open({ buffer, byteOffset: rw.byteOffset });
    rwOther.writeLock();
    wg.add(1);
    const before = threads();
    const pending = {
      semaphore: [], reads: [], writes: [], condition: [], waitgroup: [], barrier: [],
    };
    for (let i = 0; i < N; i++) {
      pending.semaphore.push(sem.acquireAsync(1));
      pending.reads.push(rw.readLockAsync());
      pending.waitgroup.push(wg.waitAsync());
      pending.barrier.push(bar.waitAsync());
      m.lock();
      pending.condition.push(cond.waitAsync(m).then(() => m.unlock()));
    }
    for (let i = 0; i < 10; i++) pending.writes.push(rw.writeLockAsync().then(() => rw.writeUnlock()));
    const most = await mostThreads();
    assert.ok(most < before + MORE_THREADS, `${most} threads while ${6 * N} waits are pending (${before} before)`);
    sem.release(N);
    rwOther.writeUnlock();
    wg.done();
    cond.notifyAll();
    bar.waitAsync(); // the last party
    await Promise.all(pending.semaphore);
    assert.strictEqual(sem.held, N);
    await Promise.all(pending.reads);
    assert.strictEqual(rw.reading, N);
    for (let i = 0; i < N; i++) rw.readUnlock();
    await Promise.all(pending.writes); // behind the readers of the handle, in call order
    await Promise.all(pending.waitgroup);
    await Promise.all(pending.condition);
    const outcomes = await Promise.all(pending.barrier);
    assert.ok(outcomes.every((o) => o.leader === false));
    for (const h of [sem, rw, rwOther, cond, m, wg, bar]) h.close();
  });

  it('withLock(async) calls of this process, another process and two workers contending: exactly the sum, each call once', async function () {
    this.timeout(120000);
    const N = 2000;
    const K = 400;
    const m = Mutex.create({ name, size: Mutex.BYTES + 64 });
    const counter = new Int32Array(m.buffer, Mutex.BYTES, 1);
    const args = { n: K, words: Mutex.BYTES, wordCount: 1 };
    const gate = Mutex.open({ name });
    gate.lock(); // every call of every party waits until they are all called
    const actors = [
      actor('mx-async-count', { name }, args),
      actor('mx-async-count', { buffer: m.buffer }, args),
      actor('mx-async-count', { buffer: m.buffer }, args),
    ];
    for (const a of actors) assert.strictEqual(await a.next(), 'queued');
    let completed = 0;
    let inside = 0;
    const before = threads();
    const calls = [];
    for (let i = 0; i < N; i++) {
      calls.push(m.withLock(async () => {
        inside++;
        assert.strictEqual(inside, 1);
        const seen = Atomics.load(counter, 0);
        await tick();
        Atomics.store(counter, 0, seen + 1);
        inside--;
        completed++;
      }));
    }
    // This process's threads: the two workers' own and their watchers, none per wait.
    const most = await mostThreads();
    assert.ok(most < before + MORE_THREADS, `${most} threads while ${N} calls wait (${before} before)`);
    gate.unlock();
    await Promise.all(calls);
    assert.strictEqual(completed, N);
    for (const a of actors) assert.strictEqual(await a.next(), `done ${K} 1`);
    for (const a of actors) await a.exited;
    assert.strictEqual(counter[0], N + actors.length * K);
    gate.close();
    m.close();
  });

  it('timed-out and aborted calls leave the queue from anywhere; the others take the mutex in call order', async () => {
    const m = Mutex.create({ name });
    const other = Mutex.open({ name });
    other.lock();
    const order = [];
    const aborts = new Map([[2, new AbortController()], [6, new AbortController()], [9, new AbortController()]]);
    const TIMED = new Set([4, 5, 11]);
    const calls = [];
    for (let i = 0; i < 12; i++) {
      const timeout = TIMED.has(i) ? 100 : undefined;
      const signal = aborts.get(i)?.signal;
      calls.push(handled(m.lockAsync(timeout, signal && { signal }).then(async (info) => {
        order.push(i);
        assert.strictEqual(info.recovered, false);
        await tick();
        m.unlock();
        return 'locked';
      })));
    }
    for (const c of aborts.values()) c.abort();
    await sleep(200); // the timed calls time out
    const settled = await Promise.allSettled(calls.filter((_, i) => aborts.has(i) || TIMED.has(i)));
    for (const s of settled) assert.strictEqual(s.status, 'rejected');
    for (const i of aborts.keys()) await assert.rejects(calls[i], { name: 'AbortError' });
    for (const i of TIMED) await assert.rejects(calls[i], isCode('ERR_LOCK_TIMEOUT'));
    other.unlock();
    const rest = calls.filter((_, i) => !aborts.has(i) && !TIMED.has(i));
    assert.deepStrictEqual(await Promise.all(rest), rest.map(() => 'locked'));
    assert.deepStrictEqual(order, [0, 1, 3, 7, 8, 10], 'the calls left took the mutex in call order');
    assert.strictEqual(m.held, false);
    other.close();
    m.close();
  });

  it('a head call that leaves lets the next call of the handle proceed at once with what it can take', async () => {
    const sem = Semaphore.create({ buffer: new SharedArrayBuffer(Semaphore.BYTES), permits: 1 });
    const ac = new AbortController();
    const big = handled(sem.acquireAsync(2, undefined, { signal: ac.signal }));
    const small = sem.acquireAsync(1);
    assert.deepStrictEqual(await settledNow(small), [false], 'behind the call before it, which waits for 2 permits');
    ac.abort();
    await assert.rejects(big, { name: 'AbortError' });
    assert.deepStrictEqual(await settledNow(small), [true], 'served when the head left, not at the next wake-up');
    assert.deepStrictEqual(await small, { recovered: false });
    sem.release();
    const timed = handled(sem.acquireAsync(2, 50));
    const after = sem.acquireAsync(1);
    await assert.rejects(timed, isCode('ERR_LOCK_TIMEOUT'));
    assert.deepStrictEqual(await after, { recovered: false });
    sem.close();
  });

  it('when the last pending wait times out or is aborted, the loop ends its park at once: no registration stays on the sleepers word', async () => {
    const other = Mutex.create({ name });
    const m = Mutex.open({ buffer: other.buffer });
    const u32 = new Uint32Array(other.buffer);
    other.lock();
    try {
      for (const how of ['timeout', 'abort']) {
        const ac = new AbortController();
        const p = how === 'timeout' ? m.lockAsync(40) : m.lockAsync(undefined, { signal: ac.signal });
        await sleep(10);
        assert.strictEqual(Atomics.load(u32, WAITERS), 1, 'the loop sleeps, registered');
        ac.abort();
        await assert.rejects(p, how === 'timeout' ? isCode('ERR_LOCK_TIMEOUT') : { name: 'AbortError' });
        // A few turns of the event loop, far less than the loop's recheck period (50 ms).
        for (let i = 0; i < 20 && Atomics.load(u32, WAITERS) !== 0; i++) await tick();
        assert.strictEqual(Atomics.load(u32, WAITERS), 0, `${how}: the park ended and its registration went`);
      }
    } finally {
      other.unlock();
      m.close();
      other.close();
    }
  });

  it('a condition loop whose head left while it slept ends its park at once when its last wait leaves', async () => {
    const buffer = new SharedArrayBuffer(Mutex.BYTES + Condition.BYTES);
    const m = Mutex.open({ buffer });
    const c = Condition.open({ buffer, byteOffset: Mutex.BYTES });
    const notifier = Condition.open({ buffer, byteOffset: Mutex.BYTES });
    const i32 = new Int32Array(buffer, Mutex.BYTES, Condition.BYTES / WORD);
    const u64 = new BigUint64Array(buffer, Mutex.BYTES, Condition.BYTES / BigUint64Array.BYTES_PER_ELEMENT);
    G.update(u64, COND_GROUPS, G.register); // a waiter x of another party
    m.lock();
    const ac1 = new AbortController();
    const first = handled(c.waitAsync(m, undefined, { signal: ac1.signal }));
    // x and the first wait are the closed group, with one token, which x takes: the loop sleeps
    // on `seq` for the first wait.
    notifier.notifyOne();
    G.update(u64, COND_GROUPS, G.take);
    m.lock();
    const ac2 = new AbortController();
    const second = handled(c.waitAsync(m, undefined, { signal: ac2.signal })); // the open group
    await sleep(5);
    assert.strictEqual(Atomics.load(i32, COND_SLEEPERS), 1, 'the loop sleeps, registered');
    // The head leaves: the second wait looks and names another word, while the park stays on
    // `seq`. Then the second leaves too: the park on `seq` must end, not one on the word the last
    // look named.
    ac1.abort();
    await assert.rejects(first, { name: 'AbortError' });
    m.unlock();
    ac2.abort();
    await assert.rejects(second, { name: 'AbortError' });
    m.unlock();
    // A few turns of the event loop, far less than the loop's recheck period (50 ms).
    for (let i = 0; i < 20 && Atomics.load(i32, COND_SLEEPERS) !== 0; i++) await tick();
    assert.strictEqual(Atomics.load(i32, COND_SLEEPERS), 0, 'the park ended and its registration went');
    for (const h of [m, c, notifier]) h.close();
  });

  it('a condition loop woken by a notifyOne that none of its waits can take passes the wake-up on to another waiter', async function () {
    this.timeout(WOKEN_WITHIN_MS + 5000);
    const buffer = new SharedArrayBuffer(Mutex.BYTES + Condition.BYTES);
    const m = Mutex.open({ buffer });
    const c = Condition.open({ buffer, byteOffset: Mutex.BYTES });
    const notifier = Condition.open({ buffer, byteOffset: Mutex.BYTES });
    const i32 = new Int32Array(buffer, Mutex.BYTES, Condition.BYTES / WORD);
    const u64 = new BigUint64Array(buffer, Mutex.BYTES, Condition.BYTES / BigUint64Array.BYTES_PER_ELEMENT);
    // Two waiters of another party, x and y, as the groups word sees them.
    const other = (step) => G.update(u64, COND_GROUPS, step);
    other(G.register);
    const [, { epoch }] = other(G.register);
    const y = await otherSleeper(i32, COND_SEQ, COND_SLEEPERS, epoch);
    m.lock();
    const ac = new AbortController();
    const first = handled(c.waitAsync(m, undefined, { signal: ac.signal }));
    // The groups move on: x, y and the first wait are the closed group, with one token, which x
    // takes before the handle's loop looks: the first wait sleeps on `seq`.
    notifier.notifyOne();
    other(G.take);
    m.lock();
    const second = c.waitAsync(m); // in the open group, behind the first wait
    await sleep(5); // the loop sleeps on seq
    await y.sleep(); // y too, behind it
    // The first wait leaves: the loop's head is now the second one, which no notifyOne for the
    // closed group lets go; the loop still sleeps on `seq`, first in its queue.
    ac.abort();
    await assert.rejects(first, { name: 'AbortError' });
    m.unlock();
    // A token for y; the one wake-up reaches the handle's loop, which must pass it on.
    notifier.notifyOne();
    // Not woken, y would be let go later by the loop's check for tokens nobody takes (a recheck
    // period after it saw the token), not by the notify.
    assert.strictEqual(await y.result, 'ok took', 'y, the only waiter the notify was for, was woken and took its token');
    assert.strictEqual(notifier.waiting, 1);
    notifier.notifyAll();
    assert.deepStrictEqual(await second, { notified: true, recovered: false });
    m.unlock();
    for (const h of [m, c, notifier]) h.close();
  });

  it('a handle on a SharedArrayBuffer closed just after its sleeping loop took an unlock wake-up passes it on', async function () {
    this.timeout(WOKEN_WITHIN_MS + 5000);
    const buffer = new SharedArrayBuffer(Mutex.BYTES);
    const holder = Mutex.open({ buffer });
    const m = Mutex.open({ buffer });
    const i32 = new Int32Array(buffer);
    const other = await otherSleeper(i32, LOCK, WAITERS);
    holder.lock();
    const p = handled(m.lockAsync());
    await sleep(5);
    await other.sleep();
    holder.unlock(); // wakes one waiter: the handle's loop, asleep first
    m.close(); // before the loop looks again
    await assert.rejects(p, isCode('ERR_CLOSED'));
    assert.strictEqual(await other.result, 'ok', 'the other waiter was woken');
    assert.deepStrictEqual(holder.tryLock(), { recovered: false });
    holder.unlock();
    holder.close();
  });

  it('a handle closed while it holds the mutex and its own lockAsync() sleeps abandons the mutex and wakes another waiter', async function () {
    this.timeout(WOKEN_WITHIN_MS + 5000);
    const buffer = new SharedArrayBuffer(Mutex.BYTES);
    const m = Mutex.open({ buffer });
    const next = Mutex.open({ buffer });
    const i32 = new Int32Array(buffer);
    const other = await otherSleeper(i32, LOCK, WAITERS);
    m.lock();
    const p = handled(m.lockAsync()); // waits for the handle's own hold
    await sleep(5);
    await other.sleep();
    m.close(); // abandons the mutex (api.md, mutex.close()): one waiter is woken
    await assert.rejects(p, isCode('ERR_CLOSED'));
    assert.strictEqual(await other.result, 'ok', 'the other waiter was woken, not the closed handle\'s loop');
    assert.strictEqual(Atomics.load(i32, WAITERS), 0, 'no registration of the closed handle is left');
    assert.deepStrictEqual(next.tryLock(), { recovered: true }, 'abandoned, not unlocked: the next holder is told');
    next.unlock();
    next.close();
  });

  it('close() rejects every pending call of the handle at once with ERR_CLOSED, and takes its registration off', async () => {
    // A handle on a mapping it did not open: its close() leaves the mapping (and the futex waits
    // on it) in place.
    const other = Mutex.create({ name });
    const m = Mutex.open({ buffer: other.buffer });
    other.lock();
    const calls = [];
    for (let i = 0; i < 100; i++) calls.push(handled(i % 2 ? m.lockAsync() : m.withLock(async () => 'ran')));
    await sleep(20);
    m.close();
    assert.ok((await settledNow(...calls)).every(Boolean), 'settled without waiting for the wake-up');
    for (const c of calls) await assert.rejects(c, isCode('ERR_CLOSED'));
    assert.strictEqual(Atomics.load(new Uint32Array(other.buffer), WAITERS), 0);
    other.unlock();
    assert.deepStrictEqual(other.lock(100), { recovered: false }, 'the mutex is free: nothing of the closed handle holds it');
    other.close();
  });

  it('close() of a handle of every other kind rejects its pending waits at once with ERR_CLOSED', async () => {
    // Room for a region of any kind, or a mutex and a condition side by side.
    const buf = () => new SharedArrayBuffer(RwLock.BYTES + Mutex.BYTES);
    const cases = [
      () => { const s = Semaphore.create({ buffer: buf() }); return [s, () => s.acquireAsync(1)]; },
      () => {
        const b = buf();
        const rw = RwLock.create({ buffer: b });
        RwLock.open({ buffer: b }).writeLock();
        return [rw, (i) => (i % 2 ? rw.readLockAsync() : rw.writeLockAsync())];
      },
      () => { const wg = WaitGroup.create({ buffer: buf() }); wg.add(1); return [wg, () => wg.waitAsync()]; },
      () => { const bar = Barrier.create({ buffer: buf(), parties: 100 }); return [bar, () => bar.waitAsync()]; },
      () => {
        // A condition's wait takes its mutex again before it rejects: not at once.
        const b = buf();
        const cond = Condition.create({ buffer: b, byteOffset: Mutex.BYTES });
        const mx = Mutex.open({ buffer: b });
        return [cond, () => { mx.lock(); return cond.waitAsync(mx).finally(() => mx.unlock()); }, 'later'];
      },
    ];
    for (const make of cases) {
      const [h, wait, later] = make();
      const what = h.constructor.name;
      const calls = [];
      for (let i = 0; i < 20; i++) calls.push(handled(wait(i)));
      await sleep(10);
      h.close();
      if (!later) assert.ok((await settledNow(...calls)).every(Boolean), `${what}: settled without waiting for the wake-up`);
      for (const c of calls) await assert.rejects(c, isCode('ERR_CLOSED'), what);
    }
  });

  it('a holder killed with SIGKILL while 100 async waiters of another process wait: they take the mutex in turn, the first told recovered', async function () {
    this.timeout(60000);
    const N = 100;
    const m = Mutex.create({ name });
    const h = holder(name);
    await h.held;
    const before = threads();
    const told = [];
    const calls = [];
    for (let i = 0; i < N; i++) {
      calls.push(m.withLock(async ({ recovered }) => {
        told.push({ i, recovered });
        await tick();
      }));
    }
    const most = await mostThreads();
    assert.ok(most < before + MORE_THREADS, `${most} threads while ${N} calls wait (${before} before)`);
    h.child.kill('SIGKILL');
    assert.strictEqual(await h.exited, 'SIGKILL');
    await Promise.all(calls);
    assert.deepStrictEqual(told.map((t) => t.i), [...Array(N).keys()], 'in call order');
    // The first holder after the dead one is told; its withLock fulfilled, which declares the
    // state consistent: the others are not told.
    assert.deepStrictEqual(told.map((t) => t.recovered), [true, ...Array(N - 1).fill(false)]);
    assert.strictEqual(m.recoveries, 1);
    assert.deepStrictEqual(m.tryLock(), { recovered: false });
    m.unlock();
    m.close();
  });
});

describe('sync objects: async waits in workers, with and without the addon', function () {
  const ROUNDS = 100;
  // CPU the whole process may use over the ~1 s it idles with four waits pending: their loops
  // wake once per recheck period (50 ms); a loop that spins uses all of it.
  const IDLE_CPU_MS = 300;

  // Two workers take turns over one mutex and condition with lockAsync() and waitAsync() only
  // (no timeout: nothing else keeps their event loops alive), then leave waits pending.
  async function pingPong(env) {
    const r = await runNode(PINGPONG_CHILD, [String(ROUNDS)], { env, timeoutMs: 60000 });
    assert.strictEqual(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  }

  function check(report) {
    assert.strictEqual(report.rounds, 2 * ROUNDS, 'every round of both workers completed');
    assert.deepStrictEqual(report.ended, [true, true], 'the waits left pending ended once let go');
    assert.deepStrictEqual(report.exits, [0, 0]);
    assert.ok(report.idleCpuMs < IDLE_CPU_MS, `idle CPU ${report.idleCpuMs} ms with waits pending`);
  }

  it('without the addon (Atomics.waitAsync): a pending wait keeps its worker alive, and the ping-pong completes every round', async () => {
    const empty = tempDir();
    try {
      const report = await pingPong({ SHMSTORE_ADDON_DIR: empty.dir });
      assert.strictEqual(report.addon, false);
      check(report);
    } finally {
      empty.cleanup();
    }
  });

  (addon ? it : it.skip)('with the addon (futex.waitAsync): the same ping-pong completes every round', async () => {
    const report = await pingPong({});
    assert.strictEqual(report.addon, true);
    check(report);
  });
});

// close() with several waits pending (an RwLock's reads and writes among them): each is rejected
// with an error of its own, of the same code and message, so that a caller that annotates its
// error changes nobody else's.
describe('sync objects: the pending waits close() ends get an error each', () => {
  it('Mutex, RwLock, Semaphore: every pending wait rejects with its own ERR_CLOSED', async () => {
    const cases = [
      [Mutex, (h) => h.lock(), (h) => [h.lockAsync(), h.lockAsync(), h.lockAsync()]],
      [RwLock, (h) => h.writeLock(), (h) => [h.readLockAsync(), h.writeLockAsync(), h.readLockAsync()]],
      [Semaphore, (h) => h.acquire(1), (h) => [h.acquireAsync(), h.acquireAsync(), h.acquireAsync()]],
    ];
    for (const [K, hold, waits] of cases) {
      const buffer = new SharedArrayBuffer(K.BYTES);
      const holder = K === Semaphore ? K.create({ buffer, permits: 1 }) : K.create({ buffer });
      hold(holder);
      const h = K.open({ buffer });
      const pending = waits(h).map((p) => p.then(() => assert.fail('resolved'), (e) => e));
      h.close();
      const errors = await Promise.all(pending);
      assert.strictEqual(new Set(errors).size, errors.length, K.name);
      for (const e of errors) assert.ok(e instanceof ShmError && e.code === 'ERR_CLOSED' && e.message === errors[0].message, K.name);
      errors[0].note = 'mine';
      assert.ok(errors.slice(1).every((e) => e.note === undefined), K.name);
      holder.close();
    }
  });
});
