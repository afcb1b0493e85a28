'use strict';
// Condition (docs/api.md "Condition"; bytes and protocol: docs/format.md §13.2).
const assert = require('assert');
const { Condition, Mutex, ShmError } = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm } = require('../helpers/process');
const { actor, allSay } = require('../helpers/sync-actors');

const withAddon = addon ? describe : describe.skip;
const B = Condition.BYTES;
const M = Mutex.BYTES;
// Region layout of the queue tests: the mutex, two conditions, then the queue's words.
const LAYOUT = { mutex: 0, notEmpty: M, notFull: M + B, words: M + 2 * B, wordCount: 4 };
const TOTAL_BYTES = M + 2 * B + 64;

// Producers and consumers of a bounded queue of 2 slots: every item produced is consumed, the
// count never leaves 0..2, and no wait ends by its timeout (a lost wake-up would).
async function queue(producers, consumers, buffer, items) {
  const w = new Int32Array(buffer, LAYOUT.words, 4);
  const args = { ...LAYOUT, capacity: 2, items };
  const actors = [
    ...producers.map((where) => actor('cond-queue', where, { ...args, producer: true, items: items * consumers.length })),
    ...consumers.map((where) => actor('cond-queue', where, { ...args, producer: false, items: items * producers.length })),
  ];
  await allSay(actors, 'done');
  const total = items * producers.length * consumers.length;
  assert.deepStrictEqual(Array.from(w), [0, total, total, 0]);
}

describe('Condition', () => {
  function pair() {
    const buffer = new SharedArrayBuffer(M + B);
    return { m: Mutex.open({ buffer }), c: Condition.open({ buffer, byteOffset: M }), buffer };
  }

  it('wait() refuses anything but a Mutex handle itself (a Proxy of one, an object of its prototype)', () => {
    const { m, c } = pair();
    m.lock();
    for (const fake of [new Proxy(m, {}), Object.create(Mutex.prototype), {}, null]) {
      assert.throws(() => c.wait(fake, 10), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    }
    assert.strictEqual(m.held, true);
    assert.strictEqual(c.waiting, 0);
    m.unlock();
    m.close();
    c.close();
  });

  it('wait() times out: { notified: false } and the mutex is held again', () => {
    const { m, c } = pair();
    m.lock();
    assert.deepStrictEqual(c.wait(m, 40), { notified: false, recovered: false });
    assert.strictEqual(m.held, true);
    assert.strictEqual(c.waiting, 0);
    m.unlock();
    m.close();
    c.close();
  });

  it('a notify with nobody waiting is not kept for a later waiter', () => {
    const { m, c } = pair();
    c.notifyOne();
    c.notifyAll();
    m.lock();
    assert.strictEqual(c.wait(m, 30).notified, false);
    m.unlock();
  });

  it('waitAsync is woken by notifyOne from another task, and notifyAll lets every waiter go', async () => {
    const { m, c, buffer } = pair();
    const m2 = Mutex.open({ buffer });
    const m3 = Mutex.open({ buffer });
    await m.lockAsync();
    const p = c.waitAsync(m, 10000);
    m2.lock();
    c.notifyOne();
    m2.unlock();
    assert.deepStrictEqual(await p, { notified: true, recovered: false });
    m.unlock();
    await m.lockAsync();
    const a = c.waitAsync(m, 10000);
    await m3.lockAsync();
    const b = c.waitAsync(m3, 10000);
    assert.strictEqual(c.waiting, 2);
    m2.lock();
    c.notifyAll();
    m2.unlock();
    const first = await Promise.race([a.then(() => m), b.then(() => m3)]);
    first.unlock();
    assert.strictEqual((await a).notified, true);
    assert.strictEqual((await b).notified, true);
    (first === m ? m3 : m).unlock();
  });

  it('an AbortSignal ends waitAsync with the mutex held again', async () => {
    const { m, c } = pair();
    m.lock();
    const ac = new AbortController();
    const p = c.waitAsync(m, 10000, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(p, { name: 'AbortError' });
    assert.strictEqual(m.held, true);
    assert.strictEqual(c.waiting, 0);
    m.unlock();
  });

  it('closing the condition ends a pending waitAsync with ERR_CLOSED, the mutex held again', async () => {
    const { m, c, buffer } = pair();
    const other = Condition.open({ buffer, byteOffset: M });
    m.lock();
    const p = c.waitAsync(m, 10000);
    setTimeout(() => c.close(), 20);
    await assert.rejects(p, { code: 'ERR_CLOSED' });
    assert.strictEqual(m.held, true);
    assert.strictEqual(other.waiting, 0);
    m.unlock();
    m.close();
    other.close();
  });

  // A waiter registered before a notify is let go by it, whatever waiters registering after the
  // notify do: they cannot take its wake-up. The later waiter looks first here (a blocking wait
  // on this thread, before the earlier waiter's async look can run).
  for (const notify of ['notifyAll', 'notifyOne']) {
    it(`${notify}() lets go the waiter registered before it, not one that registered after`, async () => {
      const { m, c, buffer } = pair();
      const early = Mutex.open({ buffer });
      early.lock();
      const p = c.waitAsync(early, 5000);
      m.lock();
      c[notify]();
      m.unlock();
      m.lock();
      assert.deepStrictEqual(c.wait(m, 30), { notified: false, recovered: false });
      m.unlock();
      assert.deepStrictEqual(await p, { notified: true, recovered: false });
      assert.strictEqual(c.waiting, 0);
      early.unlock();
      for (const h of [m, early, c]) h.close();
    });
  }

  it('notifyOne() twice with a waiter registered between: each lets go one registered before it', async () => {
    const { m, c, buffer } = pair();
    const [a, b] = [Mutex.open({ buffer }), Mutex.open({ buffer })];
    a.lock();
    const pa = c.waitAsync(a, 5000).then((r) => { a.unlock(); return r; });
    m.lock();
    c.notifyOne(); // for a: the only waiter
    m.unlock();
    b.lock();
    const pb = c.waitAsync(b, 5000).then((r) => { b.unlock(); return r; });
    m.lock();
    c.notifyOne(); // for a or b; a has one already, so b
    m.unlock();
    m.lock();
    assert.strictEqual(c.wait(m, 30).notified, false); // registered after both
    m.unlock();
    assert.deepStrictEqual((await Promise.all([pa, pb])).map((r) => r.notified), [true, true]);
    for (const h of [m, a, b, c]) h.close();
  });

  it('a waiter that gives up passes on a token it did not take', async () => {
    const { m, c, buffer } = pair();
    const [a, b] = [Mutex.open({ buffer }), Mutex.open({ buffer })];
    a.lock();
    const ac = new AbortController();
    const pa = c.waitAsync(a, 5000, { signal: ac.signal });
    b.lock();
    const pb = c.waitAsync(b, 5000);
    m.lock();
    c.notifyOne(); // one token for a and b
    m.unlock();
    ac.abort(); // a leaves without it before its look
    await assert.rejects(pa, { name: 'AbortError' });
    a.unlock();
    assert.deepStrictEqual(await pb, { notified: true, recovered: false });
    b.unlock();
    for (const h of [m, a, b, c]) h.close();
  });

  it('notifyAll() lets a worker\'s registered wait go while another worker keeps registering', async () => {
    const buffer = new SharedArrayBuffer(TOTAL_BYTES);
    const m = Mutex.open({ buffer });
    const c = Condition.open({ buffer, byteOffset: LAYOUT.notEmpty });
    const w = new Int32Array(buffer, LAYOUT.words, 4);
    const rounds = 40;
    const waiter = actor('cond-rounds', { buffer }, { ...LAYOUT, rounds, waitMs: 3000 });
    const churn = actor('cond-churn', { buffer }, LAYOUT);
    let said = null;
    const ended = waiter.next().then((line) => { said = line; });
    for (let r = 1; r <= rounds && said === null; r++) {
      // Once the waiter says it waits for round r (under the mutex), it is registered.
      while (Atomics.load(w, 2) < r && said === null) await new Promise((resolve) => setTimeout(resolve, 1));
      m.lock();
      Atomics.store(w, 0, r);
      c.notifyAll();
      m.unlock();
    }
    await ended;
    Atomics.store(w, 1, 1);
    assert.strictEqual(await churn.next(), 'done');
    assert.strictEqual(said, 'done');
    m.close();
    c.close();
  });

  it('a bounded queue with 2 producer and 2 consumer workers: every item once, no lost wake-up', async () => {
    const buffer = new SharedArrayBuffer(TOTAL_BYTES);
    const where = { buffer };
    await queue([where, where], [where, where], buffer, 1500);
  });

  withAddon('across processes', () => {
    let name;
    beforeEach(() => { name = uniqueName('cond'); });
    afterEach(() => removeShm(name));

    it('a waiter killed with SIGKILL while waiting: a notifyOne still wakes a live waiter', async () => {
      const m = Mutex.create({ name, size: TOTAL_BYTES });
      const c = Condition.open({ buffer: m.buffer, byteOffset: LAYOUT.notEmpty });
      const ghost = actor('cond-wait-hold', { name }, LAYOUT);
      assert.strictEqual(await ghost.next(), 'waiting');
      m.lock(30000); // held once the ghost's wait has released it: the ghost is registered
      assert.strictEqual(c.waiting, 1);
      ghost.kill();
      await ghost.exited;
      for (let i = 0; i < 5; i++) {
        const p = c.waitAsync(m, 30000);
        const notifier = Mutex.open({ buffer: m.buffer });
        notifier.lock();
        c.notifyOne();
        notifier.unlock();
        notifier.close();
        assert.deepStrictEqual(await p, { notified: true, recovered: false });
      }
      m.unlock();
      c.close();
      m.close();
    });

    it('closing a handle that opened the segment ends a pending waitAsync and takes its wait out of the shared groups', async () => {
      const m = Mutex.create({ name, size: TOTAL_BYTES });
      const c = Condition.open({ buffer: m.buffer, byteOffset: LAYOUT.notEmpty });
      const own = Condition.open({ name, byteOffset: LAYOUT.notEmpty }); // its own mapping, released by its close
      m.lock();
      const p = own.waitAsync(m, 30000);
      assert.strictEqual(c.waiting, 1);
      own.close();
      await assert.rejects(p, { code: 'ERR_CLOSED' });
      assert.strictEqual(m.held, true);
      assert.strictEqual(c.waiting, 0);
      m.unlock();
      c.close();
      m.close();
    });

    it('a bounded queue with producers and consumers in 2 processes and 2 workers', async () => {
      const m = Mutex.create({ name, size: TOTAL_BYTES });
      const { buffer } = m;
      await queue([{ name }, { buffer }], [{ buffer }, { name }], buffer, 1500);
      m.close();
    });
  });

  it('bad arguments', () => {
    const invalid = (cls) => (e) => e instanceof cls && e.code === 'ERR_INVALID_ARG';
    const { m, c } = pair();
    assert.throws(() => c.wait({}), invalid(TypeError));
    assert.throws(() => c.wait(m), (e) => e instanceof ShmError && e.code === 'ERR_NOT_OWNER' && e.status === 23);
    assert.throws(() => c.wait(m, -5), invalid(RangeError));
    assert.throws(() => c.waitAsync(m, 1, { signal: 1 }), invalid(TypeError));
    assert.strictEqual(c.waiting, 0);
    assert.throws(() => Condition.open({ buffer: new SharedArrayBuffer(100) }), invalid(RangeError));
    assert.throws(() => new Condition(), TypeError);
    c.close();
    assert.throws(() => c.notifyOne(), { code: 'ERR_CLOSED' });
    m.close();
  });
});
