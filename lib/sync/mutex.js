'use strict';
// Mutex: a robust mutual-exclusion lock in a sync region (docs/format.md §13), shared by the
// threads of a process (a SharedArrayBuffer) or by processes (a Segment). Pure JS over the
// ownership room: the lock word of §1, owner records and the gone rule of §6 (so a holder is
// identified exactly as in a store), and the segment room's futex for cross-process blocking
// (Atomics.wait/waitAsync when the addon is absent: threads only). A native implementation of
// the same bytes comes later.
//
// Recovery: a waiter that finds the holder gone (its process ended, or its thread ended and the
// addon marked its slot dead) takes the lock over in place, sets the region's `recovering` word
// and is told { recovered: true }. `recovering` stays set until a holder calls unlock(), which
// declares what the lock protects consistent again; every acquirer until then is told
// recovered: true.
const { C, W } = require('../layout/layout');
const v = require('../base/validate');
const { isHeld, ownerOf, acquiredWord, releasedWord, takeoverWord } = require('../ownership/lockword');
const {
  SyncObject, regionOf, kOnClose, claimOrAbort, defineKind, place, shmError, validateTimeout, validateSignal,
} = require('./region');
const { TIMED_OUT, block, AsyncWaits, wake } = require('./wait');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const MX = C.SYNC_MUTEX_OFFSET / WORD;
const LOCK = MX + W.MUTEX_STATE.LOCK;
const GENERATION = MX + W.MUTEX_STATE.GENERATION;
const RECOVERING = MX + W.MUTEX_STATE.RECOVERING;
const WAITERS = MX + W.MUTEX_STATE.WAITERS;
// Attempts of lock() before it sleeps: a holder of a short critical section lets go meanwhile.
const SPINS = 100;
const PLACE = { bytes: C.SYNC_REGION_BYTES, what: 'mutex' };
const kInternal = Symbol('shmstore.Mutex.internal');
// What lock() and friends return; shared and frozen, so that an acquisition allocates nothing.
const RECOVERED = Object.freeze({ recovered: true });
const NOT_RECOVERED = Object.freeze({ recovered: false });
// What a Condition uses of a mutex it waits with: release and reacquire without ending a
// recovery (a wait is not a declaration that the protected state is consistent).
const kRelease = Symbol('shmstore.Mutex.release');

function notOwner(message) {
  return shmError('ERR_NOT_OWNER', message);
}

function timedOut(timeoutMs) {
  return shmError('ERR_LOCK_TIMEOUT', `Mutex not acquired within ${timeoutMs} ms`);
}

class Mutex extends SyncObject {
  #r;
  #held = false;
  // While #held: the lock word this handle stored when it took the mutex, which only a taker that
  // presumed this handle gone changes (format.md §13). Its release is one CAS from this word.
  #word = 0;
  // While #held: the `recovering` word as this handle found it when it took the mutex. Only a
  // holder writes it (and a taker, which then also changes the lock word), so it still holds
  // when this handle releases unless the release's CAS fails.
  #recovering = 0;
  // The lock word this handle's last release stored: the word the next lock() finds in the
  // uncontended case, so that its first attempt is one CAS from it, not a load and a CAS.
  #freed = 0;
  #waits; // the pending lockAsync() calls of this handle, in call order (wait.js AsyncWaits)

  /** @private Whether `x` is a Mutex handle itself (not a Proxy of one, nor an object made from its prototype). */
  static isHandle_(x) {
    return typeof x === 'object' && x !== null && #held in x;
  }

  /** @private Use Mutex.create() or Mutex.open(). */
  constructor(token, where) {
    if (token !== kInternal) throw new TypeError('Mutex cannot be constructed directly: use Mutex.create() or Mutex.open()');
    super(where, C.SYNC_REGION_BYTES, 'mutex', C.SYNC_KIND_MUTEX);
    const r = regionOf(this);
    this.#r = r;
    this.#waits = new AsyncWaits(r, LOCK, WAITERS, () => this.#passOn());
    // The gone owner of an adopted slot may have died holding the lock: a lock naming a live
    // slot would never read as gone again, so it is abandoned now (format.md §13).
    claimOrAbort(r, (slot) => {
      const w = Atomics.load(r.u32, LOCK);
      if (isHeld(w) && ownerOf(w) === slot) this.#abandon(w);
    });
  }

  /** Creates a mutex: a new segment (exclusive), or a mutex in a SharedArrayBuffer. */
  static create(options) {
    return new Mutex(kInternal, place(options, { create: true, ...PLACE }));
  }

  /** Opens an existing mutex (a segment, or a SharedArrayBuffer: all zero bytes are a free mutex). */
  static open(options) {
    return new Mutex(kInternal, place(options, { create: false, ...PLACE }));
  }

  /** Whether this handle holds the mutex. */
  get held() {
    return this.#held;
  }

  /** How many times the mutex was recovered from a gone holder (wraps at 2^32). */
  get recoveries() {
    this.#r.usable();
    return Atomics.load(this.#r.u32, GENERATION);
  }

  #acquired(tookOver, word) {
    const u32 = this.#r.u32;
    this.#held = true;
    this.#word = word;
    if (tookOver) {
      Atomics.store(u32, RECOVERING, 1);
      Atomics.add(u32, GENERATION, 1);
    }
    const recovering = Atomics.load(u32, RECOVERING);
    this.#recovering = recovering;
    return recovering !== 0 ? RECOVERED : NOT_RECOVERED;
  }

  // One look: returns { recovered } when the lock is now ours, else the held word to wait on.
  // `checkGone` applies the gone rule of format.md §6 to the holder (a read of /proc for a
  // holder in another process); a holder in our own slot is an async waiter of this handle
  // while the handle holds the lock, else the slot's previous owner.
  #attempt(checkGone) {
    const r = this.#r;
    const u32 = r.u32;
    for (;;) {
      const w = Atomics.load(u32, LOCK);
      if (!isHeld(w)) {
        const mine = acquiredWord(w, r.slot);
        if (Atomics.compareExchange(u32, LOCK, w, mine) === w) return this.#acquired(false, mine);
        continue;
      }
      if (checkGone && r.gone(ownerOf(w), this.#held)) {
        const mine = takeoverWord(w, r.slot);
        if (Atomics.compareExchange(u32, LOCK, w, mine) === w) return this.#acquired(true, mine);
        continue;
      }
      return w;
    }
  }

  // lock()'s first look: one CAS from the word this handle's last release stored (the word found
  // when nobody else took the mutex since). What that CAS finds otherwise is what a load would
  // have: a free word is tried at once (another handle took and released the mutex since), a
  // held one is waited on. Only a first look: a waiting loop loads the word before each CAS (a
  // failing CAS takes the word's cache line from its holder).
  #firstAttempt() {
    const r = this.#r;
    const u32 = r.u32;
    const guess = this.#freed;
    const mine = acquiredWord(guess, r.slot);
    const w = Atomics.compareExchange(u32, LOCK, guess, mine);
    if (w === guess) return this.#acquired(false, mine);
    if (isHeld(w)) return w;
    const next = acquiredWord(w, r.slot);
    if (Atomics.compareExchange(u32, LOCK, w, next) === w) return this.#acquired(false, next);
    return this.#attempt(false);
  }

  /**
   * Acquires the mutex, blocking the thread. Returns { recovered } (true: the previous holder
   * is gone and what the lock protects may be half updated). Throws ShmError ERR_LOCK_TIMEOUT.
   */
  lock(timeoutMs) {
    const timeout = validateTimeout(timeoutMs);
    this.#r.usable();
    if (this.#held) throw shmError('ERR_LOCK_TIMEOUT', 'This handle already holds the mutex (it is not recursive)');
    const first = this.#firstAttempt(); // the uncontended case, without the closure of block()
    if (typeof first === 'object') return first;
    const r = block(this.#r.i32, LOCK, WAITERS, (check) => this.#attempt(check), timeout, SPINS);
    if (r === TIMED_OUT) throw timedOut(timeout);
    return r;
  }

  /** Acquires the mutex if it is free (or its holder is gone): { recovered }, else false. */
  tryLock() {
    this.#r.usable();
    if (this.#held) return false;
    const r = this.#attempt(true);
    return typeof r === 'object' ? r : false;
  }

  /**
   * Like lock() without blocking the event loop. Tasks of one thread that share a handle wait
   * for each other, and take the mutex in the order of their calls (one waiting loop for them
   * all). Resolves { recovered }; rejects with ShmError ERR_LOCK_TIMEOUT, ERR_CLOSED, or the
   * reason of `options.signal` when it aborts.
   */
  lockAsync(timeoutMs, options) {
    const timeout = validateTimeout(timeoutMs);
    const signal = validateSignal(options);
    this.#r.usable();
    return this.#lockAsync(timeout, signal);
  }

  async #lockAsync(timeout, signal) {
    const r = await this.#waits.run((check) => this.#attempt(check), timeout, signal);
    // A close() since the lock was taken abandoned it (kOnClose): it is no longer this handle's.
    this.#r.usable();
    if (r === TIMED_OUT) throw timedOut(timeout);
    return r;
  }

  /**
   * Releases the mutex and declares what it protects consistent (clears a recovery in
   * progress). Throws ShmError ERR_NOT_OWNER when this handle does not hold it.
   */
  unlock() {
    this.#r.usable();
    this.#release(true);
  }

  #release(consistent) {
    const u32 = this.#r.u32;
    if (!this.#held) throw notOwner('unlock() of a mutex this handle does not hold');
    this.#held = false;
    const w = this.#word;
    // Only holders (and a taker of a gone holder's lock) write `recovering`: a store, which costs
    // a locked instruction, is needed only when the word changes (from what it was when this
    // handle took the mutex), and is made only while the lock word is still the one this handle
    // stored: a taker that set it before that check (this handle was presumed gone) keeps its 1,
    // and the CAS below fails. A taker between the check and the store could lose its 1 to this
    // store; a taker only takes over from a holder that is gone (format.md §13), and a gone
    // holder stores nothing, so this needs a live holder wrongly presumed gone.
    const recovering = consistent ? 0 : 1;
    if (this.#recovering !== recovering) {
      if (Atomics.load(u32, LOCK) !== w) throw notOwner('The mutex was taken over from this handle (presumed gone)');
      Atomics.store(u32, RECOVERING, recovering);
    }
    // A CAS from the word this handle stored: it fails when a taker presumed this handle gone.
    const freed = releasedWord(w);
    if (Atomics.compareExchange(u32, LOCK, w, freed) !== w) {
      throw notOwner('The mutex was taken over from this handle (presumed gone)');
    }
    this.#freed = freed;
    wake(this.#r.i32, LOCK, WAITERS, 1);
  }

  // When this handle's waiting loop stops: a releaser wakes one sleeper, and the loop may have
  // been that one while its waits left (timed out, aborted). The mutex free with sleepers left,
  // the wake-up is passed on; a loop that stops because its last wait took the mutex sees it held.
  #passOn() {
    const u32 = this.#r.u32;
    if (!isHeld(Atomics.load(u32, LOCK))) wake(this.#r.i32, LOCK, WAITERS, 1);
  }

  // Releases a lock whose holder is gone without declaring anything consistent.
  #abandon(w) {
    const r = this.#r;
    Atomics.store(r.u32, RECOVERING, 1);
    if (Atomics.compareExchange(r.u32, LOCK, w, releasedWord(w)) === w) wake(r.i32, LOCK, WAITERS, 1);
  }

  /**
   * Runs fn({ recovered }) holding the mutex and releases it after (after the promise settles
   * when fn returns one; an async function is waited for with lockAsync()). If fn throws or
   * rejects, the mutex is released without declaring a recovery finished.
   */
  withLock(fn) {
    if (typeof fn !== 'function') throw v.invalidType('fn', 'a function', fn);
    this.#r.usable();
    // A plain function of this realm is told apart without reading its constructor's name (a
    // getter call on every use of the lock).
    const made = fn.constructor;
    if (made !== Function && made && made.name === 'AsyncFunction') {
      return this.lockAsync().then((info) => {
        let p;
        try {
          p = fn(info);
        } catch (e) {
          this.#releaseIfHeld();
          throw e;
        }
        return this.#settle(p);
      });
    }
    const info = this.lock();
    let r;
    try {
      r = fn(info);
    } catch (e) {
      this.#releaseIfHeld();
      throw e;
    }
    if (r !== null && typeof r === 'object' && typeof r.then === 'function') return this.#settle(r);
    this.unlock();
    return r;
  }

  // Releases the mutex once `p` settles: consistent when it fulfils, as after a throw when not.
  #settle(p) {
    return Promise.resolve(p).then(
      (value) => { this.unlock(); return value; },
      (err) => { this.#releaseIfHeld(); throw err; },
    );
  }

  #releaseIfHeld() {
    if (!this.#r.closed && this.#held) this.#release(Atomics.load(this.#r.u32, RECOVERING) === 0);
  }

  /** For Condition: releases a held mutex leaving a pending recovery pending. */
  [kRelease]() {
    this.#r.usable();
    if (!this.#held) throw notOwner('A condition wait needs the mutex held by this handle');
    this.#release(Atomics.load(this.#r.u32, RECOVERING) === 0);
  }

  // At close(), before the owner slot is released: closing while holding the mutex abandons
  // it (released with a recovery pending, so the next acquirer is told recovered: true).
  [kOnClose]() {
    if (!this.#held) return;
    this.#held = false;
    const w = Atomics.load(this.#r.u32, LOCK);
    if (isHeld(w) && ownerOf(w) === this.#r.slot) this.#abandon(w);
  }
}

defineKind(Mutex, C.SYNC_REGION_BYTES);

module.exports = { Mutex, kRelease };
