'use strict';
// RwLock: a writer-preferring reader-writer lock in a sync region (docs/format.md §13.1), shared
// by threads (a SharedArrayBuffer) or processes (a Segment). Its words change under the record's
// guard: `writer` (the owner slot holding the write lock, 0 when none), `readers` (read holds in
// all), `writersWaiting`, and per owner slot the read holds and the waiting writers of that
// slot's handle, so that the holds of a handle whose owner is gone are given back. `seq`, the
// futex word, advances at every change that can let a waiter go.
//
// Writers do not starve: a reader does not enter while a writer holds the lock or waits for it.
// A hold that ends other than by its unlock (its owner died, or closed the handle holding it)
// sets `recovering`; every acquirer is told { recovered: true } until a writer's writeUnlock()
// declares the protected state consistent, as for the Mutex.
const { C, W } = require('../layout/layout');
const {
  Region, SyncObject, regionOf, kOnClose, claimOrAbort, defineKind, place, shmError, validateTimeout, validateSignal,
} = require('./region');
const { TIMED_OUT, block, AsyncWaits, wake, guarded } = require('./wait');

const S = W.RW_LOCK_STATE;
const GUARD = Region.field(S.GUARD);
const SEQ = Region.field(S.SEQ);
const WRITER = Region.field(S.WRITER);
const READERS = Region.field(S.READERS);
const WRITERS_WAITING = Region.field(S.WRITERS_WAITING);
const RECOVERING = Region.field(S.RECOVERING);
const GENERATION = Region.field(S.GENERATION);
const SLEEPERS = Region.field(S.SLEEPERS);
const READS = (o) => Region.slotWord(0, o);
const WAITS = (o) => Region.slotWord(1, o);
const BYTES = C.SYNC_RWLOCK_REGION_BYTES;
const PLACE = { bytes: BYTES, what: 'rwlock' };
const SPINS = 50;
const kInternal = Symbol('shmstore.RwLock.internal');

function timedOut(what, timeoutMs) {
  return shmError('ERR_LOCK_TIMEOUT', `RwLock ${what} lock not acquired within ${timeoutMs} ms`);
}

class RwLock extends SyncObject {
  #r;
  // The pending readLockAsync() and writeLockAsync() calls of this handle, in call order, both on
  // `seq` (wait.js AsyncWaits): a writer call that waits holds back the later read calls of its
  // handle, as it holds back every new reader; a read call that waits (for a writer) holds back
  // the later write calls, which would wait for that writer too.
  #waits;
  #writing = false;
  #repair = () => this.#recount();

  /** @private Use RwLock.create() or RwLock.open(). */
  constructor(token, where) {
    if (token !== kInternal) throw new TypeError('RwLock cannot be constructed directly: use RwLock.create() or RwLock.open()');
    super(where, BYTES, 'rwlock', C.SYNC_KIND_RWLOCK);
    const r = regionOf(this);
    this.#r = r;
    this.#waits = new AsyncWaits(r, SEQ, SLEEPERS);
    // An adopted slot may still hold what its gone previous owner held: given back.
    claimOrAbort(r, (slot) => this.#giveBackAndWake(slot));
  }

  /** Creates a reader-writer lock: a new segment (exclusive), or one in a SharedArrayBuffer. */
  static create(options) {
    return new RwLock(kInternal, place(options, { create: true, ...PLACE }));
  }

  /** Opens an existing reader-writer lock (all zero bytes are a free one). */
  static open(options) {
    return new RwLock(kInternal, place(options, { create: false, ...PLACE }));
  }

  /** Whether this handle holds the write lock. */
  get writing() {
    return this.#writing;
  }

  /** How many read holds this handle has. */
  get reading() {
    this.#r.usable();
    return Atomics.load(this.#r.u32, READS(this.#r.slot));
  }

  /** How many times holds of a gone owner were given back (wraps at 2^32). */
  get recoveries() {
    this.#r.usable();
    return Atomics.load(this.#r.u32, GENERATION);
  }

  // The sums of the per-slot tables: what `readers` and `writersWaiting` hold in a sound region.
  #tableSums() {
    const u32 = this.#r.u32;
    let reads = 0;
    let waits = 0;
    for (let o = 1; o < C.SYNC_OWNER_SLOTS; o++) {
      reads += Atomics.load(u32, READS(o));
      waits += Atomics.load(u32, WAITS(o));
    }
    return { reads, waits };
  }

  // Under a guard taken over from a gone holder (or over damaged totals): the totals from the
  // per-slot tables.
  #recount() {
    const u32 = this.#r.u32;
    const { reads, waits } = this.#tableSums();
    Atomics.store(u32, READERS, reads);
    Atomics.store(u32, WRITERS_WAITING, waits);
    Atomics.add(u32, SEQ, 1);
  }

  // Under the guard: gives back what slot `o` holds (its owner is gone, or closed holding).
  // Returns whether anything changed (then the caller wakes the sleepers). The news comes first
  // (`recovering`, `generation`), the holds after: a giver that dies part way leaves the news told
  // (twice at worst, when the next giver gives back what is left), never holds given back without
  // it, which the guard's repair (a recount of the totals) could not tell.
  #giveBack(o) {
    const u32 = this.#r.u32;
    const writes = Atomics.load(u32, WRITER) === o;
    const reads = Atomics.load(u32, READS(o));
    const waits = Atomics.load(u32, WAITS(o));
    const held = writes || reads !== 0;
    if (held) {
      Atomics.store(u32, RECOVERING, 1);
      Atomics.add(u32, GENERATION, 1);
    }
    if (writes) Atomics.store(u32, WRITER, 0);
    if (reads !== 0) {
      Atomics.store(u32, READS(o), 0);
      Atomics.sub(u32, READERS, reads);
    }
    if (waits !== 0) {
      Atomics.store(u32, WAITS(o), 0);
      Atomics.sub(u32, WRITERS_WAITING, waits);
    }
    if (held || waits !== 0) Atomics.add(u32, SEQ, 1);
    return held || waits !== 0;
  }

  // Under the guard: gives back the holds of every gone owner, and clears damage (words no sound
  // run leaves, which nobody would ever release): a writer word that names no owner slot, or this
  // handle's own slot while it does not hold the write lock (left by the slot's previous owner),
  // and totals that are not the sums of the per-slot tables (format.md §13.1).
  #reclaim() {
    const r = this.#r;
    const u32 = r.u32;
    let any = false;
    const w = Atomics.load(u32, WRITER);
    if (w !== 0 && (w >= C.SYNC_OWNER_SLOTS || (w === r.slot && !this.#writing))) {
      // The news before the hold goes, as in #giveBack.
      Atomics.store(u32, RECOVERING, 1);
      Atomics.add(u32, GENERATION, 1);
      Atomics.store(u32, WRITER, 0);
      Atomics.add(u32, SEQ, 1);
      any = true;
    }
    const { reads, waits } = this.#tableSums();
    if (Atomics.load(u32, READERS) !== reads || Atomics.load(u32, WRITERS_WAITING) !== waits) {
      this.#recount();
      any = true;
    }
    for (let o = 1; o < C.SYNC_OWNER_SLOTS; o++) {
      if (o === r.slot) continue;
      if (Atomics.load(u32, WRITER) !== o && Atomics.load(u32, READS(o)) === 0 && Atomics.load(u32, WAITS(o)) === 0) continue;
      if (r.gone(o, false)) any = this.#giveBack(o) || any;
    }
    return any;
  }

  #told() {
    return { recovered: Atomics.load(this.#r.u32, RECOVERING) !== 0 };
  }

  #readAttempt(check) {
    const r = this.#r;
    const u32 = r.u32;
    const res = guarded(r, GUARD, this.#repair, () => {
      if (check && this.#reclaim()) wake(r.i32, SEQ, SLEEPERS, Infinity);
      if (Atomics.load(u32, WRITER) !== 0 || Atomics.load(u32, WRITERS_WAITING) !== 0) return Atomics.load(u32, SEQ);
      Atomics.add(u32, READERS, 1);
      Atomics.add(u32, READS(r.slot), 1);
      return this.#told();
    });
    return res;
  }

  // `waiter.registered` says whether this call counts as a waiting writer; with `register` false
  // (tryWriteLock) it never does: a try that fails never held readers back as a waiting writer.
  #writeAttempt(check, waiter, register = true) {
    const r = this.#r;
    const u32 = r.u32;
    return guarded(r, GUARD, this.#repair, () => {
      if (check && this.#reclaim()) wake(r.i32, SEQ, SLEEPERS, Infinity);
      if (Atomics.load(u32, WRITER) === 0 && Atomics.load(u32, READERS) === 0) {
        Atomics.store(u32, WRITER, r.slot);
        if (waiter.registered) this.#deregister(waiter);
        this.#writing = true;
        return this.#told();
      }
      if (register && !waiter.registered) {
        Atomics.add(u32, WAITS(r.slot), 1);
        Atomics.add(u32, WRITERS_WAITING, 1);
        waiter.registered = true;
      }
      return Atomics.load(u32, SEQ);
    });
  }

  // Under the guard: a waiting writer stops waiting (acquired, timed out or aborted).
  #deregister(waiter) {
    const u32 = this.#r.u32;
    Atomics.sub(u32, WAITS(this.#r.slot), 1);
    Atomics.sub(u32, WRITERS_WAITING, 1);
    waiter.registered = false;
  }

  // A writer that gives up: readers held back by it may go.
  #giveUp(waiter) {
    const r = this.#r;
    if (!waiter.registered || r.closed) return;
    guarded(r, GUARD, this.#repair, () => {
      this.#deregister(waiter);
      Atomics.add(r.u32, SEQ, 1);
    });
    wake(r.i32, SEQ, SLEEPERS, Infinity);
  }

  /**
   * Takes a read lock (shared with other readers), blocking for at most timeoutMs. Returns
   * { recovered }. Throws ShmError ERR_LOCK_TIMEOUT (also at once on a handle that holds the
   * write lock or has a writeLockAsync() pending). A handle may hold several read locks; a reader that asks again while a writer
   * waits waits behind it (do not nest read locks).
   */
  readLock(timeoutMs) {
    const timeout = validateTimeout(timeoutMs);
    this.#r.usable();
    // The write lock of this handle is released only by this thread, which the wait would block:
    // the wait could only end by its timeout.
    if (this.#writing) throw shmError('ERR_LOCK_TIMEOUT', 'This handle holds the write lock: a read lock would wait for it');
    // Nor can a pending writeLockAsync() of this handle, counted as a waiting writer that every
    // new reader waits behind, take the lock, or time out, or be aborted, while this thread
    // blocks: its loop and timers run on this thread's event loop.
    if (Atomics.load(this.#r.u32, WAITS(this.#r.slot)) !== 0) {
      throw shmError('ERR_LOCK_TIMEOUT', 'This handle waits for the write lock (writeLockAsync): a read lock would wait behind it');
    }
    const r = block(this.#r.i32, SEQ, SLEEPERS, (check) => this.#readAttempt(check), timeout, SPINS);
    if (r === TIMED_OUT) throw timedOut('read', timeout);
    return r;
  }

  /** Takes a read lock if no writer holds or waits for it: { recovered } or false. */
  tryReadLock() {
    this.#r.usable();
    const r = this.#readAttempt(true);
    return typeof r === 'object' ? r : false;
  }

  /** Like readLock() without blocking the event loop; `options.signal` aborts it. */
  readLockAsync(timeoutMs, options) {
    const timeout = validateTimeout(timeoutMs);
    const signal = validateSignal(options);
    this.#r.usable();
    return this.#lockAsync((check) => this.#readAttempt(check), timeout, signal, 'read');
  }

  async #lockAsync(attempt, timeout, signal, what) {
    const r = this.#r;
    const res = await this.#waits.run(attempt, timeout, signal);
    // A close() since the lock was taken gave it back (kOnClose): it is not this handle's.
    r.usable();
    if (res === TIMED_OUT) throw timedOut(what, timeout);
    return res;
  }

  /** Releases one read lock of this handle. Throws ShmError ERR_NOT_OWNER when it has none. */
  readUnlock() {
    const r = this.#r;
    r.usable();
    const u32 = r.u32;
    const last = guarded(r, GUARD, this.#repair, () => {
      if (Atomics.load(u32, READS(r.slot)) === 0) return null;
      // A total below this handle's own holds is damage: recounted before it could wrap.
      if (Atomics.load(u32, READERS) < Atomics.load(u32, READS(r.slot))) this.#recount();
      Atomics.sub(u32, READS(r.slot), 1);
      if (Atomics.sub(u32, READERS, 1) !== 1) return false;
      Atomics.add(u32, SEQ, 1);
      return true;
    });
    if (last === null) throw shmError('ERR_NOT_OWNER', 'readUnlock() on a handle that holds no read lock');
    if (last) wake(r.i32, SEQ, SLEEPERS, Infinity);
  }

  /**
   * Takes the write lock (exclusive), blocking for at most timeoutMs; from the moment it waits,
   * new readers wait behind it. Returns { recovered }. Throws ShmError ERR_LOCK_TIMEOUT (also at
   * once on a handle that holds the write lock, it is not recursive, or a read lock, which is not
   * upgraded).
   */
  writeLock(timeoutMs) {
    const timeout = validateTimeout(timeoutMs);
    this.#r.usable();
    if (this.#writing) throw shmError('ERR_LOCK_TIMEOUT', 'This handle already holds the write lock (it is not recursive)');
    // Likewise its read locks: a blocked thread never releases them, and a waiting writer would
    // hold back every new reader until the timeout.
    if (Atomics.load(this.#r.u32, READS(this.#r.slot)) !== 0) {
      throw shmError('ERR_LOCK_TIMEOUT', 'This handle holds a read lock: a write lock would wait for it (a read lock is not upgraded)');
    }
    const waiter = { registered: false };
    let r;
    try {
      r = block(this.#r.i32, SEQ, SLEEPERS, (check) => this.#writeAttempt(check, waiter), timeout, SPINS);
    } finally {
      this.#giveUp(waiter);
    }
    if (r === TIMED_OUT) throw timedOut('write', timeout);
    return r;
  }

  /** Takes the write lock if it is free (no writer, no reader): { recovered } or false. */
  tryWriteLock() {
    this.#r.usable();
    if (this.#writing) return false;
    const r = this.#writeAttempt(true, { registered: false }, false);
    return typeof r === 'object' ? r : false;
  }

  /** Like writeLock() without blocking the event loop; `options.signal` aborts it. */
  writeLockAsync(timeoutMs, options) {
    const timeout = validateTimeout(timeoutMs);
    const signal = validateSignal(options);
    this.#r.usable();
    const waiter = { registered: false };
    return this.#lockAsync((check) => this.#writeAttempt(check, waiter), timeout, signal, 'write')
      .finally(() => this.#giveUp(waiter));
  }

  /**
   * Releases the write lock and declares the protected state consistent (ends a pending
   * recovery). Throws ShmError ERR_NOT_OWNER when this handle does not hold it.
   */
  writeUnlock() {
    const r = this.#r;
    r.usable();
    if (!this.#writing) throw shmError('ERR_NOT_OWNER', 'writeUnlock() on a handle that does not hold the write lock');
    this.#writing = false;
    const u32 = r.u32;
    const ok = guarded(r, GUARD, this.#repair, () => {
      if (Atomics.load(u32, WRITER) !== r.slot) return false;
      Atomics.store(u32, RECOVERING, 0);
      Atomics.store(u32, WRITER, 0);
      Atomics.add(u32, SEQ, 1);
      return true;
    });
    if (!ok) throw shmError('ERR_NOT_OWNER', 'The write lock was taken over from this handle (presumed gone)');
    wake(r.i32, SEQ, SLEEPERS, Infinity);
  }

  #giveBackAndWake(slot) {
    const r = this.#r;
    if (guarded(r, GUARD, this.#repair, () => this.#giveBack(slot))) wake(r.i32, SEQ, SLEEPERS, Infinity);
  }

  // At close(): holds it still has are given back as abandoned (the next acquirer is told
  // { recovered: true }).
  [kOnClose]() {
    this.#writing = false;
    this.#giveBackAndWake(this.#r.slot);
  }
}

defineKind(RwLock, BYTES);

module.exports = { RwLock };
