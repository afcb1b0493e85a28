'use strict';
// Semaphore (docs/api.md "Semaphore"; bytes and protocol: docs/format.md §13.3).
const assert = require('assert');
const { Semaphore, ShmError } = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, until } = require('../helpers/process');
const { actor, allSay } = require('../helpers/sync-actors');

const withAddon = addon ? describe : describe.skip;
const B = Semaphore.BYTES;
// A waiter notices a gone holder within the recheck period (50 ms) plus scheduling: generous
// for a loaded machine, far below any timeout a caller would choose.
const RECOVERY_BOUND_MS = 5000;

function sab(extra = 0) {
  return new SharedArrayBuffer(B + extra);
}

async function stress(where, sem, permits) {
  const { buffer } = sem;
  const w = new Int32Array(buffer, B, 3);
  const iterations = 2000;
  const actors = where.map((x) => actor('sem-stress', x, { sem: 0, words: B, wordCount: 3, iterations, maxN: 3, permits }));
  await allSay(actors, 'done');
  assert.strictEqual(Atomics.load(w, 1), 0, 'more permits were out than the semaphore has');
  assert.strictEqual(Atomics.load(w, 2), where.length * iterations);
  assert.strictEqual(sem.permits, permits); // every permit came back
  sem.close();
}

describe('Semaphore', () => {
  it('counts permits: acquire, tryAcquire and release', () => {
    const buffer = sab();
    const a = Semaphore.create({ buffer, permits: 3 });
    const b = Semaphore.open({ buffer });
    assert.deepStrictEqual(a.acquire(2), { recovered: false });
    assert.strictEqual(a.held, 2);
    assert.strictEqual(b.tryAcquire(2), false);
    assert.deepStrictEqual(b.tryAcquire(), { recovered: false });
    assert.strictEqual(a.permits, 0);
    assert.throws(() => b.acquire(1, 50), (e) => e instanceof ShmError && e.code === 'ERR_LOCK_TIMEOUT');
    a.release(2);
    b.release();
    assert.strictEqual(a.permits, 3);
    // A release beyond what the handle holds adds permits (a producer signalling a consumer).
    b.release(2);
    assert.strictEqual(a.permits, 5);
    a.close();
    b.close();
  });

  it('zero bytes are a semaphore of 0 permits; create() on a stamped region is ERR_SHM_EXISTS', () => {
    const buffer = sab();
    const s = Semaphore.open({ buffer });
    assert.strictEqual(s.permits, 0);
    assert.strictEqual(s.tryAcquire(), false);
    assert.throws(() => Semaphore.create({ buffer, permits: 1 }), { code: 'ERR_SHM_EXISTS' });
    s.close();
  });

  it('acquireAsync waits without blocking the event loop; an AbortSignal aborts it', async () => {
    const buffer = sab();
    const a = Semaphore.create({ buffer, permits: 1 });
    const b = Semaphore.open({ buffer });
    a.acquire();
    let acquired = false;
    const p = b.acquireAsync(1, 10000).then((r) => {
      acquired = true;
      return r;
    });
    let ticks = 0;
    // Timers fire while the wait is pending: the loop runs. A wait that blocked it would hold it
    // until its own timeout (the holder is this thread) and then reject.
    const timer = setInterval(() => { ticks++; }, 5);
    try {
      await until(() => ticks >= 3, 'timer ticks while acquireAsync waits');
      assert.strictEqual(acquired, false);
      a.release();
      assert.deepStrictEqual(await p, { recovered: false });
    } finally {
      clearInterval(timer);
    }
    const ac = new AbortController();
    const q = a.acquireAsync(1, 10000, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(q, { name: 'AbortError' });
    assert.strictEqual(a.held, 0);
    b.release();
    a.close();
    b.close();
  });

  it('close() while holding gives the permits back, and the next acquirer is told', () => {
    const buffer = sab();
    const a = Semaphore.create({ buffer, permits: 2 });
    const b = Semaphore.open({ buffer });
    a.acquire(2);
    a.close();
    assert.deepStrictEqual(b.acquire(2, 1000), { recovered: true });
    b.release(2);
    assert.deepStrictEqual(b.acquire(1, 1000), { recovered: false });
    b.close();
  });

  it('stress with 4 workers: never more permits out than there are, all of them back at the end', async () => {
    const buffer = sab(64);
    await stress([1, 2, 3, 4].map(() => ({ buffer })), Semaphore.create({ buffer, permits: 4 }), 4);
  });

  (addon ? it : it.skip)('a worker terminated while holding: its permits are given back', async () => {
    const buffer = sab();
    const sem = Semaphore.create({ buffer, permits: 3 });
    const h = actor('sem-hold', { buffer }, { sem: 0, n: 2 });
    assert.strictEqual(await h.next(), 'held');
    await h.kill();
    assert.deepStrictEqual(sem.acquire(3, RECOVERY_BOUND_MS), { recovered: true });
    assert.strictEqual(sem.recoveries, 1);
    sem.release(3);
    sem.close();
  });

  withAddon('across processes', () => {
    let name;
    beforeEach(() => { name = uniqueName('sem'); });
    afterEach(() => removeShm(name));

    it('stress with 2 processes and 2 workers: the invariant holds', async () => {
      const sem = Semaphore.create({ name, size: B + 64, permits: 3 });
      const { buffer } = sem;
      await stress([{ name }, { name }, { buffer }, { buffer }], sem, 3);
    });

    it('holders killed with SIGKILL at random moments: a waiter gets every permit back within the bound, told', async () => {
      const sem = Semaphore.create({ name, permits: 4 });
      for (let round = 0; round < 3; round++) {
        const h = actor('sem-hold', { name }, { sem: 0, n: 1 + round });
        assert.strictEqual(await h.next(), 'held');
        const waiting = sem.acquireAsync(4, 30000);
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 80)));
        const t0 = performance.now();
        h.kill();
        assert.strictEqual(await h.exited, 'SIGKILL');
        assert.deepStrictEqual(await waiting, { recovered: true });
        assert.ok(performance.now() - t0 < RECOVERY_BOUND_MS);
        sem.release(4);
      }
      assert.strictEqual(sem.recoveries, 3);
      assert.strictEqual(sem.permits, 4);
      sem.close();
    });
  });

  withAddon('holders killed in the middle of a busy loop', () => {
    let name;
    beforeEach(() => { name = uniqueName('sem'); });
    afterEach(() => removeShm(name));

    it('processes killed with SIGKILL at random moments: the others finish, every permit comes back', async () => {
      const permits = 3;
      const sem = Semaphore.create({ name, size: B + 64, permits });
      // (The count of permits out is not checked here: a victim dies with its share counted.)
      const args = { sem: 0, words: B, wordCount: 3, maxN: 2, permits };
      for (let round = 0; round < 3; round++) {
        const victims = [1, 2].map(() => actor('sem-stress', { name }, { ...args, iterations: 1e9 }));
        const survivor = actor('sem-stress', { buffer: sem.buffer }, { ...args, iterations: 3000 });
        await new Promise((r) => setTimeout(r, 100 + Math.floor(Math.random() * 200)));
        for (const v of victims) v.kill();
        await Promise.all(victims.map((v) => v.exited));
        assert.strictEqual(await survivor.next(), 'done');
        sem.acquire(permits, RECOVERY_BOUND_MS); // every permit, the dead ones' included
        sem.release(permits);
      }
      assert.strictEqual(sem.permits, permits);
      sem.close();
    });
  });

  it('an acquireAsync() for more permits than the semaphore counts waits for releases that add them, holding back the later calls of its handle; above 2^31 - 1 it throws at once', async () => {
    const buffer = sab();
    const s = Semaphore.create({ buffer, permits: 1 });
    const producer = Semaphore.open({ buffer });
    assert.throws(() => s.acquireAsync(2 ** 31), (e) => e instanceof RangeError && e.code === 'ERR_INVALID_ARG');
    const order = [];
    const big = s.acquireAsync(3).then((r) => { order.push('big'); return r; });
    const small = s.acquireAsync(1).then((r) => { order.push('small'); return r; });
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.deepStrictEqual(order, [], 'the call for 1 waits behind the call for 3, though a permit is free');
    assert.strictEqual(s.permits, 1);
    producer.release(2); // new permits: the semaphore counts 3
    assert.deepStrictEqual(await big, { recovered: false });
    assert.strictEqual(s.held, 3);
    s.release(1);
    assert.deepStrictEqual(await small, { recovered: false });
    assert.deepStrictEqual(order, ['big', 'small']);
    assert.strictEqual(s.held, 3);
    s.release(3);
    assert.strictEqual(s.permits, 3);
    s.close();
    producer.close();
  });

  it('bad arguments', () => {
    const invalid = (cls) => (e) => e instanceof cls && e.code === 'ERR_INVALID_ARG';
    assert.throws(() => Semaphore.create({ buffer: sab(), permits: -1 }), invalid(RangeError));
    assert.throws(() => Semaphore.create({ buffer: sab(), permits: 1.5 }), invalid(RangeError));
    assert.throws(() => Semaphore.open({ buffer: sab(), permits: 1 }), invalid(TypeError));
    assert.throws(() => Semaphore.open({ buffer: new SharedArrayBuffer(64) }), invalid(RangeError));
    const s = Semaphore.create({ buffer: sab(), permits: 1 });
    assert.throws(() => s.acquire(0), invalid(RangeError));
    assert.throws(() => s.acquire('1'), invalid(TypeError));
    assert.throws(() => s.acquire(1, -1), invalid(RangeError));
    assert.throws(() => s.tryAcquire(-2), invalid(RangeError));
    assert.throws(() => s.release(2 ** 31), invalid(RangeError));
    assert.throws(() => s.release(2 ** 31 - 1), invalid(RangeError)); // the total would overflow
    assert.strictEqual(s.permits, 1);
    assert.throws(() => s.acquireAsync(1, 1, { signal: 'x' }), invalid(TypeError));
    s.close();
    assert.throws(() => s.acquire(), { code: 'ERR_CLOSED' });
  });
});

// Stamping (docs/format.md §13): a creator with parameters claims the region with the CREATING
// mark; an opener that finds it waits for the magic and stamps nothing, so it never runs on the
// parameters' zero bytes (what it did would be overwritten when they land).
describe('Semaphore: an opener and a creator that is still writing its parameters', () => {
  const { Worker } = require('worker_threads');
  const { layout } = require('../../index');
  const { C, W } = layout;
  const HDR = C.SYNC_HEADER_OFFSET / 4;
  const REC = C.SYNC_STATE_OFFSET / 4;
  const PERMITS = W.SEMAPHORE_STATE;

  it('waits for the creator\'s magic and opens with its permits', async function () {
    this.timeout(10000);
    const buffer = new SharedArrayBuffer(B);
    const u32 = new Uint32Array(buffer);
    Atomics.store(u32, HDR + W.SYNC_HEADER.KIND, (C.SYNC_KIND_SEMAPHORE | C.SYNC_KIND_CREATING) >>> 0);
    // The creator, in another thread, finishes 100 ms later.
    const finisher = new Worker(`
      const { workerData: { buffer, at } } = require('worker_threads');
      const u32 = new Uint32Array(buffer);
      setTimeout(() => {
        Atomics.store(u32, at.permits, 5);
        Atomics.store(u32, at.total, 5);
        Atomics.store(u32, at.kind, at.semaphore);
        Atomics.store(u32, at.version, at.formatVersion);
        Atomics.store(u32, at.magic, at.syncMagic);
      }, 100);`, {
      eval: true,
      workerData: {
        buffer,
        at: {
          permits: REC + PERMITS.PERMITS, total: REC + PERMITS.TOTAL, kind: HDR + W.SYNC_HEADER.KIND, version: HDR + W.SYNC_HEADER.VERSION,
          magic: HDR + W.SYNC_HEADER.MAGIC, semaphore: C.SYNC_KIND_SEMAPHORE, formatVersion: C.SYNC_FORMAT_VERSION, syncMagic: C.SYNC_MAGIC,
        },
      },
    });
    const s = Semaphore.open({ buffer });
    assert.strictEqual(s.permits, 5);
    s.release(2);
    assert.strictEqual(s.permits, 7);
    s.close();
    await finisher.terminate();
  });

  it('a creator that never finishes: the opener refuses after its wait, and stamps nothing', () => {
    const buffer = new SharedArrayBuffer(B);
    const u32 = new Uint32Array(buffer);
    const marked = (C.SYNC_KIND_SEMAPHORE | C.SYNC_KIND_CREATING) >>> 0;
    Atomics.store(u32, HDR + W.SYNC_HEADER.KIND, marked);
    assert.throws(() => Semaphore.open({ buffer }), { code: 'ERR_BAD_MAGIC' });
    assert.deepStrictEqual([u32[HDR + W.SYNC_HEADER.MAGIC], u32[HDR + W.SYNC_HEADER.KIND], u32[HDR + W.SYNC_HEADER.VERSION]], [0, marked, 0]);
  });
});

// A creator of a named semaphore makes its segment, and only then stamps the region: an opener of
// another process that maps the new segment in between stamps its zero bytes as a semaphore of 0
// permits first. The creator's permits must still be the semaphore's (as new permits, added to
// whatever the opener did meanwhile), never silently lost.
withAddon('Semaphore: an opener that stamps a new segment before its creator', () => {
  const { Segment } = require('../../lib/segment/segment');
  let name;
  beforeEach(() => { name = uniqueName('sem-first'); });
  afterEach(() => removeShm(name));

  // Runs `between(segment)` right after Segment.create made the creator's segment, before the
  // creator stamps it: the interleaving of a concurrent opener.
  function withOpenerBetween(between, fn) {
    const create = Segment.create;
    Segment.create = function (options) {
      Segment.create = create;
      const segment = create.call(this, options);
      between(segment);
      return segment;
    };
    try {
      return fn();
    } finally {
      Segment.create = create;
    }
  }

  it('the creator\'s permits are added to the region the opener stamped', () => {
    let opener;
    const s = withOpenerBetween(() => {
      opener = Semaphore.open({ name });
      assert.strictEqual(opener.permits, 0);
      opener.release(2); // a producer's new permits, before the creator's land
    }, () => Semaphore.create({ name, permits: 5 }));
    assert.strictEqual(s.permits, 7);
    assert.strictEqual(opener.permits, 7);
    assert.deepStrictEqual(opener.acquire(7, 1000), { recovered: false });
    assert.strictEqual(s.tryAcquire(), false);
    opener.release(7);
    assert.strictEqual(s.permits, 7);
    opener.close();
    s.close();
  });
});

// Damaged words (docs/format.md §13.3, "Damage"): free permits above the total, a total above
// 2^31 - 1, a held word no holder has. A look repairs them from the invariant instead of handing
// out permits that were never made, wrapping a count, or refusing every release.
describe('Semaphore: damaged words', () => {
  const { layout: { C, W } } = require('../../index');
  const REC = C.SYNC_STATE_OFFSET / Uint32Array.BYTES_PER_ELEMENT;
  const HELD = (o) => C.SYNC_SLOT_TABLE_OFFSET / Uint32Array.BYTES_PER_ELEMENT + o;
  const PERMITS = REC + W.SEMAPHORE_STATE.PERMITS;
  const TOTAL = REC + W.SEMAPHORE_STATE.TOTAL;
  const TOP = 2 ** 31;

  function damaged(permits) {
    const buffer = sab();
    const s = Semaphore.create({ buffer, permits });
    return { s, u32: new Uint32Array(buffer), buffer };
  }

  it('free permits above the total (a flipped bit) are recounted before a permit is taken', () => {
    const { s, u32 } = damaged(3);
    s.acquire(1, 0);
    u32[PERMITS] ^= 1 << 15;
    assert.deepStrictEqual(s.tryAcquire(), { recovered: false });
    assert.deepStrictEqual([s.permits, s.held, u32[TOTAL]], [1, 2, 3]);
    u32[PERMITS] ^= 1 << 20;
    s.release(2); // a release recounts too
    assert.deepStrictEqual([s.permits, s.held, u32[TOTAL]], [3, 0, 3]);
    s.close();
  });

  it('a total above 2^31 - 1 is rebuilt from the free and held permits: releases go on', () => {
    const { s, u32 } = damaged(2);
    s.acquire(1, 0);
    u32[TOTAL] = (u32[TOTAL] | TOP) >>> 0;
    s.release(2); // one held, one new
    assert.deepStrictEqual([s.permits, s.held, u32[TOTAL]], [3, 0, 3]);
    s.close();
  });

  it('a huge held word of a free slot is given back without wrapping the free permits', () => {
    const { s, u32 } = damaged(2);
    u32[HELD(7)] = TOP + 5;
    assert.strictEqual(s.tryAcquire(3), false); // the look that checks gives slot 7's words back
    assert.deepStrictEqual([s.permits, u32[HELD(7)], u32[TOTAL]], [2, 0, 2]);
    assert.ok(s.tryAcquire(2));
    s.close();
  });

  it('a held word of a live handle above 2^31 - 1 is ERR_CORRUPT until that handle closes', () => {
    const { s, u32, buffer } = damaged(2);
    const other = Semaphore.open({ buffer });
    other.acquire(1, 0);
    u32[HELD(2)] = (u32[HELD(2)] | TOP) >>> 0;
    assert.throws(() => s.tryAcquire(2), (e) => e instanceof ShmError && e.code === 'ERR_CORRUPT');
    assert.strictEqual(s.permits, 1); // nothing changed
    other.close();
    assert.ok(s.tryAcquire(2));
    assert.deepStrictEqual([s.permits, s.held, u32[TOTAL]], [0, 2, 2]);
    s.close();
  });
});
