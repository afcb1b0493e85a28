'use strict';
// RwLock (docs/api.md "RwLock"; bytes and protocol: docs/format.md §13.1).
const assert = require('assert');
const { RwLock, ShmError } = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm } = require('../helpers/process');
const { actor, allSay } = require('../helpers/sync-actors');

const withAddon = addon ? describe : describe.skip;
const B = RwLock.BYTES;
const RECOVERY_BOUND_MS = 5000;
// The words after the region: [0] the counter, [1] and [2] the two halves of a pair written
// under the write lock (w[1] first, w[2] last), [3] reads that saw the halves disagree.
const WORDS = { rw: 0, words: B, wordCount: 4 };

function sab() {
  return new SharedArrayBuffer(B + 64);
}

describe('RwLock', () => {
  it('many readers or one writer', () => {
    const buffer = sab();
    const a = RwLock.create({ buffer });
    const b = RwLock.open({ buffer });
    assert.deepStrictEqual(a.readLock(), { recovered: false });
    assert.deepStrictEqual(b.tryReadLock(), { recovered: false });
    assert.strictEqual(a.reading, 1);
    assert.strictEqual(b.tryWriteLock(), false);
    a.readUnlock();
    b.readUnlock();
    assert.deepStrictEqual(a.writeLock(), { recovered: false });
    assert.strictEqual(a.writing, true);
    assert.strictEqual(b.tryReadLock(), false);
    assert.strictEqual(b.tryWriteLock(), false);
    assert.throws(() => b.readLock(40), (e) => e instanceof ShmError && e.code === 'ERR_LOCK_TIMEOUT');
    assert.throws(() => a.writeLock(), { code: 'ERR_LOCK_TIMEOUT' }); // not recursive
    a.writeUnlock();
    assert.ok(b.tryWriteLock());
    b.writeUnlock();
    a.close();
    b.close();
  });

  it('a blocking lock that the handle\'s own hold would keep waiting (an upgrade, a read under the write lock) throws ERR_LOCK_TIMEOUT at once, without a timeout given', async () => {
    for (const write of [false, true]) {
      const buffer = sab();
      const worker = actor('rw-self', { buffer }, { rw: 0, write });
      assert.strictEqual(await worker.next(), 'ERR_LOCK_TIMEOUT');
      await worker.exited;
    }
    const buffer = sab();
    const a = RwLock.open({ buffer });
    const b = RwLock.open({ buffer });
    a.readLock();
    assert.throws(() => a.writeLock(), { code: 'ERR_LOCK_TIMEOUT' });
    assert.deepStrictEqual(b.tryReadLock(), { recovered: false }); // no writer was left waiting
    b.readUnlock();
    a.readUnlock();
    a.writeLock();
    assert.throws(() => a.readLock(), { code: 'ERR_LOCK_TIMEOUT' });
    assert.strictEqual(a.reading, 0);
    a.writeUnlock();
    a.close();
    b.close();
  });

  it('a blocking readLock() on a handle whose own writeLockAsync() waits throws ERR_LOCK_TIMEOUT at once: that writer, which new readers wait behind, could not run while the thread blocks', async () => {
    const buffer = sab();
    const a = RwLock.open({ buffer });
    const b = RwLock.open({ buffer });
    try {
      b.readLock();
      const pending = a.writeLockAsync();
      // With a timeout, so that the wait this refuses ends: it could only end by its timeout.
      assert.throws(() => a.readLock(3000), { code: 'ERR_LOCK_TIMEOUT', message: /waits for the write lock/ });
      assert.strictEqual(a.reading, 0);
      b.readUnlock();
      await pending;
      assert.strictEqual(a.writing, true);
      a.writeUnlock();
      a.readLock(); // nothing of this handle waits any more
      a.readUnlock();
    } finally {
      a.close(); // ends a pending writeLockAsync (a failed assertion above leaves it pending)
      b.close();
    }
  });

  it('unlocks by a handle that does not hold throw ERR_NOT_OWNER', () => {
    const buffer = sab();
    const a = RwLock.open({ buffer });
    const b = RwLock.open({ buffer });
    assert.throws(() => a.readUnlock(), (e) => e instanceof ShmError && e.code === 'ERR_NOT_OWNER' && e.status === 23);
    assert.throws(() => a.writeUnlock(), { code: 'ERR_NOT_OWNER' });
    a.readLock();
    assert.throws(() => b.readUnlock(), { code: 'ERR_NOT_OWNER' });
    a.readUnlock();
    a.close();
    b.close();
  });

  it('is writer-preferring: a waiting writer holds new readers back, and a writer that gives up lets them in', async () => {
    const buffer = sab();
    const r1 = RwLock.open({ buffer });
    const r2 = RwLock.open({ buffer });
    const w = RwLock.open({ buffer });
    r1.readLock();
    const writing = w.writeLockAsync(10000);
    await new Promise((r) => setTimeout(r, 20));
    assert.strictEqual(r2.tryReadLock(), false); // a writer waits
    r1.readUnlock();
    assert.deepStrictEqual(await writing, { recovered: false });
    w.writeUnlock();
    r1.readLock();
    const ac = new AbortController();
    const gaveUp = w.writeLockAsync(10000, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 20));
    assert.strictEqual(r2.tryReadLock(), false);
    ac.abort();
    await assert.rejects(gaveUp, { name: 'AbortError' });
    assert.deepStrictEqual(r2.tryReadLock(), { recovered: false });
    assert.throws(() => w.writeLock(30), { code: 'ERR_LOCK_TIMEOUT' });
    assert.deepStrictEqual(r2.tryReadLock(), { recovered: false }); // the timed-out writer is gone too
    const closing = RwLock.open({ buffer });
    const closed = closing.writeLockAsync(10000);
    await new Promise((r) => setTimeout(r, 20));
    assert.strictEqual(r2.tryReadLock(), false);
    closing.close(); // a waiting writer whose handle closes stops holding readers back
    await assert.rejects(closed, { code: 'ERR_CLOSED' });
    assert.deepStrictEqual(r2.tryReadLock(), { recovered: false });
    r2.readUnlock();
    r1.readUnlock();
    r2.readUnlock();
    r2.readUnlock();
    for (const h of [r1, r2, w]) h.close();
  });

  it('close() holding the write lock abandons it: recovered until a writeUnlock', () => {
    const buffer = sab();
    const a = RwLock.open({ buffer });
    const b = RwLock.open({ buffer });
    a.writeLock();
    a.close();
    assert.deepStrictEqual(b.readLock(), { recovered: true });
    b.readUnlock();
    assert.deepStrictEqual(b.writeLock(), { recovered: true });
    b.writeUnlock();
    assert.deepStrictEqual(b.readLock(), { recovered: false });
    b.readUnlock();
    assert.strictEqual(b.recoveries, 1);
    b.close();
  });

  it('mutual exclusion among 4 workers: exact sum, no read sees a half-written pair', async () => {
    const buffer = sab();
    const w = new Int32Array(buffer, B, 4);
    const actors = [1, 2, 3, 4].map(() => actor('rw-count', { buffer }, { ...WORDS, k: 20000, readEvery: 8 }));
    await allSay(actors, 'done');
    assert.deepStrictEqual(Array.from(w), [80000, 80000, 80000, 0]);
  });

  (addon ? it : it.skip)('a worker terminated holding a read lock: a waiting writer gets the lock, told', async () => {
    const buffer = sab();
    const rw = RwLock.open({ buffer });
    const h = actor('rw-hold', { buffer }, { ...WORDS, write: false });
    assert.strictEqual(await h.next(), 'held');
    assert.strictEqual(rw.tryWriteLock(), false);
    const writing = rw.writeLockAsync(30000);
    await h.kill();
    assert.deepStrictEqual(await writing, { recovered: true });
    rw.writeUnlock();
    rw.close();
  });

  withAddon('across processes', () => {
    let name;
    beforeEach(() => { name = uniqueName('rw'); });
    afterEach(() => removeShm(name));

    it('mutual exclusion: 2 processes x 2 workers, 1,000,000 increments under the write lock: exact sum', async function () {
      this.timeout(300000);
      const rw = RwLock.create({ name, size: B + 64 });
      const { buffer } = rw;
      const w = new Int32Array(buffer, B, 4);
      const k = 250000;
      const args = { ...WORDS, k, readEvery: 64 };
      const actors = [{ name }, { name }, { buffer }, { buffer }].map((where) => actor('rw-count', where, args));
      await allSay(actors, 'done');
      assert.deepStrictEqual(Array.from(w), [4 * k, 4 * k, 4 * k, 0]);
      assert.strictEqual(rw.recoveries, 0);
      rw.close();
    });

    for (const write of [true, false]) {
      it(`a ${write ? 'writer' : 'reader'} killed with SIGKILL while holding: a waiter gets the lock within the bound, told`, async () => {
        const rw = RwLock.create({ name, size: B + 64 });
        const h = actor('rw-hold', { name }, { ...WORDS, write });
        assert.strictEqual(await h.next(), 'held');
        const waiting = write ? rw.readLockAsync(30000) : rw.writeLockAsync(30000);
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 60)));
        const t0 = performance.now();
        h.kill();
        assert.strictEqual(await h.exited, 'SIGKILL');
        assert.deepStrictEqual(await waiting, { recovered: true });
        assert.ok(performance.now() - t0 < RECOVERY_BOUND_MS);
        if (write) rw.readUnlock();
        else rw.writeUnlock();
        assert.strictEqual(rw.recoveries, 1);
        rw.close();
      });
    }

    it('writers killed at random moments of a busy loop: the others go on, told whenever a pair was left half written', async () => {
      const rw = RwLock.create({ name, size: B + 64 });
      const w = new Int32Array(rw.buffer, B, 4);
      for (let round = 0; round < 4; round++) {
        const victim = actor('rw-count', { name }, { ...WORDS, k: 1e9, readEvery: 4 });
        const survivor = actor('rw-count', { buffer: rw.buffer }, { ...WORDS, k: 3000, readEvery: 4 });
        await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 150)));
        victim.kill();
        await victim.exited;
        assert.strictEqual(await survivor.next(), 'done');
        const { recovered } = rw.writeLock(RECOVERY_BOUND_MS);
        if (w[1] !== w[2] || w[0] !== w[2]) assert.strictEqual(recovered, true, 'a half-written pair without recovered: true');
        w[0] = w[2] = w[1] = Math.max(w[0], w[1], w[2]); // the repair
        rw.writeUnlock();
        assert.strictEqual(w[3], 0);
      }
      rw.close();
    });
  });

  it('bad arguments', () => {
    const invalid = (cls) => (e) => e instanceof cls && e.code === 'ERR_INVALID_ARG';
    assert.throws(() => RwLock.create({}), invalid(TypeError));
    assert.throws(() => RwLock.open({ buffer: new SharedArrayBuffer(B - 64) }), invalid(RangeError));
    assert.throws(() => RwLock.open({ buffer: sab(), permits: 1 }), invalid(TypeError));
    assert.throws(() => new RwLock(), TypeError);
    const rw = RwLock.open({ buffer: sab() });
    assert.throws(() => rw.readLock(-1), invalid(RangeError));
    assert.throws(() => rw.writeLock('x'), invalid(TypeError));
    assert.throws(() => rw.readLockAsync(1, { signal: null }), invalid(TypeError));
    assert.throws(() => rw.writeLockAsync(1, []), invalid(TypeError));
    rw.close();
    assert.throws(() => rw.readLock(), { code: 'ERR_CLOSED' });
    rw.close();
  });
});

// Damaged words (docs/format.md §13.1): a writer word that names no owner slot, or totals that
// are not the sums of the per-slot tables, are words nobody would ever release. The periodic
// recheck of a waiter clears them as it gives back a gone owner's holds, so the wait ends with
// the lock, not at its timeout (or never, without one); readUnlock never wraps the total.
describe('RwLock: damaged words', () => {
  const { layout: { C, W } } = require('../../index');
  const REC = C.SYNC_STATE_OFFSET / 4;

  it('a writer of slot 300, readers above the table, writers waiting above it: each wait ends with the lock', () => {
    const buffer = new SharedArrayBuffer(B);
    const rw = RwLock.open({ buffer });
    const u32 = new Uint32Array(buffer);
    const words = () => [W.RW_LOCK_STATE.WRITER, W.RW_LOCK_STATE.READERS, W.RW_LOCK_STATE.WRITERS_WAITING].map((f) => u32[REC + f]);
    // The damage, and the kinds of wait it blocks (and whose recheck then clears it).
    const cases = [['WRITER', 300, ['write', 'read']], ['READERS', 5, ['write']], ['WRITERS_WAITING', 3, ['read']]];
    for (const [field, value, waits] of cases) {
      for (const kind of waits) {
        Atomics.store(u32, REC + W.RW_LOCK_STATE[field], value);
        if (kind === 'write') {
          assert.ok(rw.writeLock(5000), field);
          rw.writeUnlock();
        } else {
          assert.ok(rw.readLock(5000), field);
          rw.readUnlock();
        }
        assert.deepStrictEqual(words(), [0, 0, 0], `${field}, ${kind}`);
      }
    }
    rw.close();
  });

  it('readUnlock with a total below its own holds recounts instead of wrapping', () => {
    const buffer = new SharedArrayBuffer(B);
    const rw = RwLock.open({ buffer });
    const u32 = new Uint32Array(buffer);
    rw.readLock(1000);
    Atomics.store(u32, REC + W.RW_LOCK_STATE.READERS, 0);
    rw.readUnlock();
    assert.strictEqual(u32[REC + W.RW_LOCK_STATE.READERS], 0);
    assert.ok(rw.writeLock(1000));
    rw.writeUnlock();
    rw.close();
  });
});
