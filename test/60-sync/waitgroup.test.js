'use strict';
// WaitGroup (docs/api.md "WaitGroup"; bytes and protocol: docs/format.md §13.5).
const assert = require('assert');
const { WaitGroup, Mutex, ShmError } = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, until } = require('../helpers/process');
const { Region } = require('../../lib/sync/region');
const { C, W } = require('../../lib/layout/layout');
const { actor, allSay } = require('../helpers/sync-actors');

const withAddon = addon ? describe : describe.skip;
const B = WaitGroup.BYTES;

function sab(extra = 0) {
  return new SharedArrayBuffer(B + extra);
}

// Rounds: the main thread opens gate r % 2, every actor passes it, adds 1 to the work counter
// and calls finish.done(); the main thread waits for finish and checks the counter. A lost
// wake-up makes a wait time out and the test fail.
async function rounds(where, buffer, actorCount, roundCount) {
  const gates = [WaitGroup.open({ buffer, byteOffset: 0 }), WaitGroup.open({ buffer, byteOffset: B })];
  const finish = WaitGroup.open({ buffer, byteOffset: 2 * B });
  const work = new Int32Array(buffer, 3 * B, 1);
  gates[0].add(1);
  gates[1].add(1);
  const args = { gates: [0, B], finish: 2 * B, words: 3 * B, wordCount: 1, rounds: roundCount };
  const actors = where.map((w) => actor('wg-rounds', w, args));
  for (let r = 0; r < roundCount; r++) {
    finish.add(actorCount);
    gates[r % 2].done();
    await finish.waitAsync(30000);
    assert.strictEqual(Atomics.load(work, 0), actorCount * (r + 1));
    gates[r % 2].add(1);
  }
  await allSay(actors, 'done');
  for (const g of [...gates, finish]) g.close();
}

describe('WaitGroup', () => {
  it('counts with add() and done(), and refuses a negative count', () => {
    const wg = WaitGroup.create({ buffer: sab() });
    assert.strictEqual(wg.count, 0);
    assert.strictEqual(wg.add(3), 3);
    assert.strictEqual(wg.done(), 2);
    assert.strictEqual(wg.add(-2), 0);
    assert.throws(() => wg.done(), (e) => e instanceof RangeError && e.code === 'ERR_INVALID_ARG');
    assert.throws(() => wg.add(-5), RangeError);
    assert.strictEqual(wg.count, 0); // nothing changed
    wg.wait(0); // a count of 0 does not wait
    wg.close();
  });

  it('wait() times out with ERR_LOCK_TIMEOUT while the count is above 0', async () => {
    const wg = WaitGroup.open({ buffer: sab() });
    wg.add(1);
    assert.throws(() => wg.wait(60), (e) => e instanceof ShmError && e.code === 'ERR_LOCK_TIMEOUT' && e.status === 16);
    await assert.rejects(wg.waitAsync(60), { code: 'ERR_LOCK_TIMEOUT' });
    wg.close();
  });

  it('waitAsync resolves when another task brings the count to 0, and an AbortSignal aborts it', async () => {
    const buffer = sab();
    const a = WaitGroup.open({ buffer });
    const b = WaitGroup.open({ buffer });
    a.add(2);
    const p = a.waitAsync(10000);
    setTimeout(() => { b.done(); b.done(); }, 30);
    await p;
    b.add(1);
    const ac = new AbortController();
    const q = b.waitAsync(10000, { signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    await assert.rejects(q, { name: 'AbortError' });
    const ac2 = new AbortController();
    ac2.abort();
    await assert.rejects(b.waitAsync(undefined, { signal: ac2.signal }), { name: 'AbortError' });
    a.close();
    b.close();
  });

  it('rounds with 3 workers: no lost wake-up over 300 rounds', async () => {
    const buffer = sab(3 * B);
    await rounds([1, 2, 3].map(() => ({ buffer })), buffer, 3, 300);
  });

  // docs/format.md §13.5: a waiter sleeps on the generation, which the add that makes the count 0
  // moves on, so the next batch's add before the waiter wakes does not hide that zero from it.
  async function zeroThenAgain(where, buffer) {
    const wg = WaitGroup.open({ buffer });
    const sleepers = new Int32Array(buffer, 0, B / Int32Array.BYTES_PER_ELEMENT);
    const SLEEPERS = Region.field(W.WAIT_GROUP_STATE.SLEEPERS);
    wg.add(1);
    const waiters = where.map((w) => actor('wg-wait', w, { wg: 0, timeout: 20000 }));
    await until(() => Atomics.load(sleepers, SLEEPERS) === where.length, 'the waiters to sleep in wait()');
    wg.done(); // 1 -> 0: every waiter's wait is over ...
    wg.add(1); // ... although the count is 1 again before any of them woke
    for (const a of waiters) assert.strictEqual(await a.next(), 'returned');
    assert.strictEqual(wg.count, 1);
    // So is an async wait of this thread's, which cannot look before both adds.
    const p = wg.waitAsync(20000);
    wg.done();
    wg.add(1);
    await p;
    wg.close();
  }

  it('a wait that sleeps while the count goes 1 -> 0 -> 1 returns (worker threads)', async () => {
    const buffer = sab();
    await zeroThenAgain([{ buffer }, { buffer }], buffer);
  });

  withAddon('across processes', () => {
    let name;
    beforeEach(() => { name = uniqueName('wg'); });
    afterEach(() => removeShm(name));

    it('rounds with 2 processes and 2 workers: no lost wake-up over 200 rounds', async () => {
      const first = WaitGroup.create({ name, size: 4 * B });
      const { buffer } = first;
      await rounds([{ name }, { name }, { buffer }, { buffer }], buffer, 4, 200);
      first.close();
    });

    it('a wait that sleeps while the count goes 1 -> 0 -> 1 returns (a process and a worker)', async () => {
      const first = WaitGroup.create({ name });
      await zeroThenAgain([{ name }, { buffer: first.buffer }], first.buffer);
      first.close();
    });
  });

  it('a wait begun after the next add does not return before that batch is done, however late the done() that made the zero wakes its sleepers', async () => {
    // The worker's done() is held up for 300 ms right after the CAS that makes the count 0 (a
    // thread descheduled there): meanwhile this thread sees the zero, adds the next batch and
    // waits. That wait must time out with the count at 1, not return when the late done() moves
    // on: a zero and its generation are one step.
    const { Worker } = require('worker_threads');
    const path = require('path');
    const buffer = sab();
    const go = new Int32Array(new SharedArrayBuffer(4));
    const wg = WaitGroup.create({ buffer });
    wg.add(1);
    const w = new Worker(`
      const { workerData } = require('worker_threads');
      const { WaitGroup } = require(workerData.lib);
      const wg = WaitGroup.open({ buffer: workerData.buffer });
      const cas = Atomics.compareExchange;
      Atomics.compareExchange = function (ta, i, expected, replacement) {
        const r = cas.call(Atomics, ta, i, expected, replacement);
        const count = typeof replacement === 'bigint' ? Number(replacement & 0xffffffffn) : replacement;
        if (r === expected && ta.buffer === workerData.buffer && count === 0) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
        }
        return r;
      };
      const go = new Int32Array(workerData.go);
      Atomics.wait(go, 0, 0);
      wg.done();`, { eval: true, workerData: { lib: path.join(__dirname, '..', '..', 'index.js'), buffer, go: go.buffer } });
    const exited = new Promise((resolve, reject) => {
      w.on('error', reject);
      w.on('exit', resolve);
    });
    await new Promise((resolve) => w.once('online', resolve));
    Atomics.store(go, 0, 1);
    Atomics.notify(go, 0);
    await until(() => wg.count === 0, 'the worker\'s done()');
    wg.add(1);
    assert.throws(() => wg.wait(1000), { code: 'ERR_LOCK_TIMEOUT' });
    assert.strictEqual(wg.count, 1);
    assert.strictEqual(await exited, 0);
    wg.done();
    wg.wait(0);
    wg.close();
  });

  it('a worker terminated during a blocking wait() ends: nothing hangs', async () => {
    const buffer = sab(3 * B);
    const gates = [WaitGroup.open({ buffer }), WaitGroup.open({ buffer, byteOffset: B })];
    gates[0].add(1);
    const a = actor('wg-rounds', { buffer }, { gates: [0, B], finish: 2 * B, words: 3 * B, wordCount: 1, rounds: 1 });
    // Killed only once it sleeps in the gate's wait (the gate counts its sleepers).
    const sleepers = new Int32Array(buffer, 0, B / Int32Array.BYTES_PER_ELEMENT);
    await until(() => Atomics.load(sleepers, Region.field(W.WAIT_GROUP_STATE.SLEEPERS)) > 0, 'the worker to sleep in wait()');
    await a.kill();
    assert.strictEqual(await a.exited, 1);
  });

  it('refuses a region of the version whose waiters slept on the count (ERR_BAD_VERSION)', () => {
    const buffer = sab();
    WaitGroup.open({ buffer }).close();
    Atomics.store(new Uint32Array(buffer), W.SYNC_HEADER.VERSION, C.SYNC_WAITGROUP_VERSION - 1);
    assert.throws(() => WaitGroup.open({ buffer }), { code: 'ERR_BAD_VERSION' });
  });

  it('bad arguments', () => {
    const invalid = (cls) => (e) => e instanceof cls && e.code === 'ERR_INVALID_ARG';
    assert.throws(() => WaitGroup.create(), invalid(TypeError));
    assert.throws(() => WaitGroup.open({ buffer: new SharedArrayBuffer(64) }), invalid(RangeError));
    assert.throws(() => WaitGroup.open({ buffer: sab(), byteOffset: 32 }), invalid(RangeError));
    assert.throws(() => new WaitGroup(), TypeError);
    const wg = WaitGroup.open({ buffer: sab() });
    assert.throws(() => wg.add(1.5), invalid(RangeError));
    assert.throws(() => wg.add('1'), invalid(TypeError));
    assert.throws(() => wg.add(2 ** 31), invalid(RangeError));
    assert.throws(() => wg.wait(-1), invalid(RangeError));
    assert.throws(() => wg.waitAsync(1, { signal: {} }), invalid(TypeError));
    assert.throws(() => wg.waitAsync(1, { bogus: 1 }), invalid(TypeError));
    wg.close();
    assert.throws(() => wg.add(1), { code: 'ERR_CLOSED' });
    wg.close();
    // A region of another kind is refused, and a waitgroup region is not a mutex.
    const buffer = new SharedArrayBuffer(Mutex.BYTES);
    Mutex.open({ buffer }).close();
    assert.throws(() => WaitGroup.open({ buffer }), (e) => e instanceof ShmError && e.code === 'ERR_BAD_MAGIC' && /mutex/.test(e.message));
    const other = new SharedArrayBuffer(Mutex.BYTES);
    WaitGroup.open({ buffer: other }).close();
    assert.throws(() => Mutex.open({ buffer: other }), { code: 'ERR_BAD_MAGIC' });
  });
});

// A count above 2^31 - 1 (docs/format.md §13.5, "Damage") is no sound run's: the count, add()
// and the waits report it instead of handing it out, refusing every add with a RangeError, or
// waiting for it to reach 0.
describe('WaitGroup: a damaged count', () => {
  it('above 2^31 - 1 is ERR_CORRUPT from count, add, done, wait and waitAsync', async () => {
    const buffer = new SharedArrayBuffer(WaitGroup.BYTES);
    const wg = WaitGroup.create({ buffer });
    wg.add(3);
    const u32 = new Uint32Array(buffer);
    const COUNT = Region.field(W.WAIT_GROUP_STATE.COUNT);
    u32[COUNT] = (u32[COUNT] | 2 ** 31) >>> 0;
    const corrupt = (e) => e instanceof ShmError && e.code === 'ERR_CORRUPT';
    assert.throws(() => wg.count, corrupt);
    assert.throws(() => wg.add(-2), corrupt);
    assert.throws(() => wg.done(), corrupt);
    assert.throws(() => wg.wait(1000), corrupt);
    await assert.rejects(wg.waitAsync(1000), corrupt);
    assert.strictEqual(u32[COUNT], (2 ** 31 + 3) >>> 0); // nothing changed
    wg.close();
  });
});
