'use strict';
// Waiting for lock words on their own (docs/format.md §9, "Stuck locks and repair"): a region
// with an owner table and a few lock words, no store. The holder's record decides: gone (taken
// over at once), a thread of this process (after lockTimeoutMs), a live other process (waited
// for, then LockError after lockTimeoutMs x 10).
const assert = require('assert');
const { spawn } = require('child_process');
const { threadId } = require('worker_threads');
const { C, S, BASE } = require('../../lib/layout/layout');
const lw = require('../../lib/ownership/lockword');
const { OwnerTable, identityOf } = require('../../lib/ownership/owners');
const { LockWaiter, LockError, HOLDER_GONE, ADVISORY_TAKEN, ADVISORY_WAITED, ADVISORY_TIMEOUT } =
  require('../../lib/ownership/waiter');

const LOCK = 1; // lock words in the first words of the region, before the owner table
const BEAT = 2;

function region(timeoutMs) {
  const u32 = new Uint32Array(new SharedArrayBuffer(C.OWNERS_OFFSET + C.OWNER_SLOTS * S.OWNER.SIZE));
  const owners = new OwnerTable(u32, BASE.OWNER);
  const me = identityOf(process.pid, threadId);
  const waiter = new LockWaiter(u32, owners, BEAT, me, timeoutMs);
  waiter.setSlot(owners.claim(me));
  return { u32, owners, me, waiter };
}

// Makes `identity` the owner of a new slot holding the lock word at LOCK; returns the word.
function holdAs(r, identity) {
  const slot = r.owners.claim(identity);
  assert.ok(lw.tryLock(r.u32, LOCK, slot));
  return r.u32[LOCK];
}

function timed(fn) {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
}

describe('ownership: lock waiter', function () {
  this.timeout(20000);
  let child;
  let other;
  before(() => {
    child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
    other = identityOf(child.pid, 1);
  });
  after(() => child.kill('SIGKILL'));

  it('takes and releases a free lock', () => {
    const r = region(1000);
    assert.strictEqual(r.waiter.acquire(LOCK), 0);
    assert.strictEqual(lw.ownerOf(r.u32[LOCK]), r.waiter.slot);
    r.waiter.release(LOCK);
    assert.ok(!lw.isHeld(r.u32[LOCK]));
  });

  it('does not release a lock that was taken over from it', () => {
    const r = region(1000);
    assert.strictEqual(r.waiter.acquire(LOCK), 0);
    const held = r.u32[LOCK];
    // Another handle presumed us gone and took the lock over (same odd version, its owner).
    const taken = lw.takeoverWord(held, r.waiter.slot + 1);
    r.u32[LOCK] = taken;
    r.waiter.release(LOCK);
    assert.strictEqual(r.u32[LOCK], taken, 'release freed a lock held by someone else');
  });

  const goneHolders = [
    ['a live pid with another start time (pid reuse)', () => ({ ...other, startTime: other.startTime + 12345n })],
    ['a live pid of another boot (a file reopened after a reboot)', () => ({ ...other, bootId: other.bootId ^ 1n })],
    ['this pid with another start time', (r) => ({ ...r.me, tid: 5, startTime: r.me.startTime + 1n })],
    ['this pid of another boot', (r) => ({ ...r.me, tid: 5, bootId: r.me.bootId ^ 1n })],
  ];
  for (const [what, identity] of goneHolders) {
    it(`a holder that is gone at once: ${what}`, () => {
      const r = region(5000);
      const seen = holdAs(r, identity(r));
      const a = timed(() => r.waiter.acquire(LOCK));
      assert.strictEqual(a.value, HOLDER_GONE);
      assert.ok(a.ms < 1000, `took ${a.ms} ms`);
      assert.strictEqual(r.waiter.waitWhileHeld(LOCK, seen), HOLDER_GONE);
      const b = timed(() => r.waiter.acquireOrTakeOver(LOCK));
      assert.ok(b.ms < 1000, `took ${b.ms} ms`);
      assert.strictEqual(r.u32[LOCK], lw.takeoverWord(seen, r.waiter.slot), 'taken over: same version, our slot');
    });
  }

  it('a holder that releases the lock and then its slot while the waiter judges it is not gone', () => {
    // A writer that ends its last operation and closes at once: its lock is free again before
    // its record reads as released. The verdict reads the record after the word, so it finds
    // the record released; the lock must then be taken as free, never reported as a gone
    // holder's (that report runs a repair pass over the whole store).
    for (const takeOver of [false, true]) {
      const r = region(5000);
      const seen = holdAs(r, { ...r.me, tid: 9 });
      const holder = lw.ownerOf(seen);
      const status = r.owners.status.bind(r.owners);
      let judged = 0;
      r.owners.status = (o, self) => {
        if (o === holder && judged++ === 0) {
          lw.unlock(r.u32, LOCK, holder);
          r.owners.release(holder);
        }
        return status(o, self);
      };
      if (takeOver) r.waiter.acquireOrTakeOver(LOCK);
      else assert.strictEqual(r.waiter.acquire(LOCK), 0);
      assert.strictEqual(judged, 1, 'the holder was judged once');
      assert.strictEqual(r.u32[LOCK], lw.acquiredWord(lw.releasedWord(seen), r.waiter.slot), 'taken as a free lock, at the next version');
    }
    // And a seqlock reader waiting out the same holder looks again instead of repairing.
    const r = region(5000);
    const seen = holdAs(r, { ...r.me, tid: 9 });
    const holder = lw.ownerOf(seen);
    const status = r.owners.status.bind(r.owners);
    r.owners.status = (o, self) => {
      lw.unlock(r.u32, LOCK, holder);
      r.owners.release(holder);
      return status(o, self);
    };
    assert.strictEqual(r.waiter.waitWhileHeld(LOCK, seen), 0);
  });

  it('a holder of this process marked dead is gone at once', () => {
    const r = region(5000);
    const id = { ...r.me, tid: 6 };
    holdAs(r, id);
    assert.ok(r.owners.markDead(lw.ownerOf(r.u32[LOCK]), id));
    const a = timed(() => r.waiter.acquire(LOCK));
    assert.strictEqual(a.value, HOLDER_GONE);
    assert.ok(a.ms < 1000, `took ${a.ms} ms`);
  });

  it('a live holder of this process is gone after lockTimeoutMs', () => {
    const r = region(100);
    holdAs(r, { ...r.me, tid: 7 });
    const a = timed(() => r.waiter.acquire(LOCK));
    assert.strictEqual(a.value, HOLDER_GONE);
    assert.ok(a.ms >= 100, `took ${a.ms} ms`);
  });

  it('a live other process with its identity is waited for, then LockError after lockTimeoutMs x 10', () => {
    const r = region(30);
    const seen = holdAs(r, other);
    const t0 = performance.now();
    assert.throws(() => r.waiter.acquire(LOCK), LockError);
    assert.ok(performance.now() - t0 >= 300);
    assert.strictEqual(r.u32[LOCK], seen, 'not taken over');
    // Half an identity (start time unknown): the pid, alive, with the boot id that matches.
    const u = region(30);
    holdAs(u, { ...other, startTime: 0n });
    assert.throws(() => u.waiter.acquire(LOCK), LockError);
  });

  // A record that names a live pid and no identity (a claim not finished, a freeing stopped
  // between its stores, or damage) holds nothing: an owner takes a lock only once its claim is
  // complete (format.md §6, rule 6). Judged by its pid alone, it held the lock while that
  // unrelated process lived.
  it('a holder whose record names a live pid of another process and no identity is gone at once', () => {
    const r = region(10000);
    const seen = holdAs(r, { pid: other.pid, tid: 0, startTime: 0n, bootId: 0n });
    assert.strictEqual(r.waiter.acquire(LOCK), HOLDER_GONE);
    r.waiter.acquireOrTakeOver(LOCK);
    assert.strictEqual(r.u32[LOCK], lw.takeoverWord(seen, r.waiter.slot), 'taken over');
    // For a waiter that knows no identity of its own too: an owner that knows none writes the
    // marker, so a record without identity is never a live owner's.
    const u = region(10000);
    const blind = { ...u.me, startTime: BigInt(C.OWNER_START_UNKNOWN), bootId: 0n };
    const waiter = new LockWaiter(u.u32, u.owners, BEAT, blind, 10000);
    waiter.setSlot(u.waiter.slot);
    holdAs(u, { pid: other.pid, tid: 0, startTime: 0n, bootId: 0n });
    assert.strictEqual(waiter.acquire(LOCK), HOLDER_GONE);
  });

  // The same-process rules (§9), not rule 6, judge a record of this pid: a sibling thread's
  // record may read so while it claims.
  it('a holder whose record names this pid and no identity is judged as this process: gone after lockTimeoutMs', () => {
    const r = region(100);
    holdAs(r, { pid: process.pid, tid: 0, startTime: 0n, bootId: 0n });
    const { value, ms } = timed(() => r.waiter.acquire(LOCK));
    assert.strictEqual(value, HOLDER_GONE);
    assert.ok(ms >= 100, `after ${ms} ms`);
  });

  // An owner that could not read its identity writes OWNER_START_UNKNOWN (format.md §6): a live
  // process, waited for. Written as 0, its lock was taken at once while it lived.
  it('a holder whose identity is unknown is waited for while it lives, and gone once it has ended', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const r = region(30);
      const seen = holdAs(r, { pid: child.pid, tid: 1, startTime: BigInt(C.OWNER_START_UNKNOWN), bootId: 0n });
      assert.throws(() => r.waiter.acquire(LOCK), LockError);
      assert.strictEqual(r.u32[LOCK], seen, 'not taken over');
      child.kill('SIGKILL');
      await exited;
      assert.strictEqual(r.waiter.acquire(LOCK), HOLDER_GONE);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a holder of this process that keeps the heartbeat word moving is not presumed gone', async () => {
    const r = region(50);
    const id = { ...r.me, tid: 8 };
    holdAs(r, id);
    const slot = lw.ownerOf(r.u32[LOCK]);
    r.u32[BEAT] = lw.acquiredWord(r.u32[BEAT], slot);
    // The holder beats from a timer of this thread while the waiter waits in a worker.
    const { Worker } = require('worker_threads');
    const path = require('path');
    const w = new Worker(`
      const { workerData, parentPort, threadId } = require('worker_threads');
      const { OwnerTable, identityOf } = require(workerData.lib + '/ownership/owners');
      const { LockWaiter } = require(workerData.lib + '/ownership/waiter');
      const u32 = new Uint32Array(workerData.buffer);
      const owners = new OwnerTable(u32, workerData.base);
      const me = identityOf(process.pid, threadId);
      const waiter = new LockWaiter(u32, owners, workerData.beat, me, 250);
      waiter.setSlot(owners.claim(me));
      parentPort.postMessage('waiting');
      const t0 = performance.now();
      const r = waiter.acquire(workerData.lock);
      parentPort.postMessage({ r, ms: performance.now() - t0 });
    `, { eval: true, workerData: { lib: path.join(__dirname, '..', '..', 'lib'), buffer: r.u32.buffer,
      base: BASE.OWNER, beat: BEAT, lock: LOCK } });
    const messages = [];
    const next = () => new Promise((resolve, reject) => {
      if (messages.length) return resolve(messages.shift());
      w.once('message', () => resolve(messages.shift()));
      w.once('error', reject);
    });
    w.on('message', (m) => messages.push(m));
    assert.strictEqual(await next(), 'waiting');
    const timer = setInterval(() => { r.u32[BEAT] = lw.heartbeatWord(r.u32[BEAT]); }, 10);
    // lockTimeoutMs is 250 against beats every 10 ms, so that a busy machine delaying this
    // thread's timer does not look like a stopped holder.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    clearInterval(timer);
    // Released after 1000 ms, four times lockTimeoutMs: the waiter waited and then took it.
    r.u32[LOCK] = lw.releasedWord(r.u32[LOCK]);
    const m = await next();
    assert.strictEqual(m.r, 0, 'the waiter presumed the beating holder gone');
    assert.ok(m.ms >= 800, `took ${m.ms} ms`);
  });

  // An advisory lock word (a store's room lease, format.md §8, "The room lease") guards no data:
  // a gone holder is taken over at once and a live one is waited for at most lockTimeoutMs, after
  // which the waiter goes on without it.
  it('an advisory word: taken when free, taken over at once from a holder that is gone or names no valid slot', () => {
    const r = region(60000); // a waiter that waited it out would run past the test's timeout
    assert.strictEqual(r.waiter.acquireAdvisory(LOCK), ADVISORY_TAKEN);
    assert.strictEqual(lw.ownerOf(r.u32[LOCK]), r.waiter.slot);
    r.waiter.release(LOCK);
    const dead = { ...r.me, tid: 6 };
    const holders = [
      () => holdAs(r, { ...other, startTime: other.startTime + 12345n }), // a pid reused
      () => {
        const w = holdAs(r, dead);
        assert.ok(r.owners.markDead(lw.ownerOf(w), dead));
        return w;
      },
      () => (r.u32[LOCK] = lw.takeoverWord(lw.acquiredWord(r.u32[LOCK], 1), 0)), // held, no owner
      () => (r.u32[LOCK] = lw.acquiredWord(r.u32[LOCK], r.waiter.slot)), // left by the slot's earlier owner
    ];
    for (const [i, hold] of holders.entries()) {
      if (lw.isHeld(r.u32[LOCK])) r.u32[LOCK] = lw.releasedWord(r.u32[LOCK]);
      const seen = hold();
      assert.strictEqual(r.waiter.acquireAdvisory(LOCK), ADVISORY_WAITED, `holder ${i}`);
      assert.strictEqual(r.u32[LOCK], lw.takeoverWord(seen, r.waiter.slot), `holder ${i}: same version, our slot`);
    }
  });

  it('an advisory word: a live other process keeps it and the waiter goes on without it after lockTimeoutMs; a thread of this process is presumed gone then', () => {
    const r = region(30);
    const seen = holdAs(r, other);
    assert.strictEqual(r.waiter.acquireAdvisory(LOCK), ADVISORY_TIMEOUT);
    assert.strictEqual(r.u32[LOCK], seen, 'not taken over');
    const t = region(30);
    const mine = holdAs(t, { ...t.me, tid: 7 });
    assert.strictEqual(t.waiter.acquireAdvisory(LOCK), ADVISORY_WAITED);
    assert.strictEqual(t.u32[LOCK], lw.takeoverWord(mine, t.waiter.slot));
  });
});
