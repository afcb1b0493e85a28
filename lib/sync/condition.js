'use strict';
// Condition: a condition variable in a sync region (docs/format.md §13.2), used with a Mutex,
// shared by threads (a SharedArrayBuffer) or processes (a Segment).
//
// No lost wake-up: a waiter registers (`waiting` + 1) while it holds the mutex, so a notifier
// that holds the mutex after it sees it. A notify hands out wake tokens (`signals`, never more
// than `waiting`) and advances `seq`, the futex word; a waiter takes a token before sleeping and
// after every wake, and sleeps on the `seq` value it saw, so a notify between its look and its
// sleep makes the futex wait return at once. A sleeper that was not the one woken sleeps again:
// notifyOne() lets one waiter go per token, notifyAll() one per registered waiter.
const { C, W } = require('../layout/layout');
const v = require('../base/validate');
const { Mutex, kRelease } = require('./mutex');
const { Region, SyncObject, regionOf, defineKind, place, shmError, validateTimeout, validateSignal } = require('./region');
const { TIMED_OUT, block, blockAsync, wake } = require('./wait');

const S = W.CONDITION_STATE;
const SEQ = Region.field(S.SEQ);
const SIGNALS = Region.field(S.SIGNALS);
const WAITING = Region.field(S.WAITING);
const SLEEPERS = Region.field(S.SLEEPERS);
const BYTES = C.SYNC_SMALL_REGION_BYTES;
const PLACE = { bytes: BYTES, what: 'condition' };
const kInternal = Symbol('shmstore.Condition.internal');
const NOTIFIED = true;

class Condition extends SyncObject {
  #r;

  /** @private Use Condition.create() or Condition.open(). */
  constructor(token, where) {
    if (token !== kInternal) throw new TypeError('Condition cannot be constructed directly: use Condition.create() or Condition.open()');
    super(where, BYTES, 'condition', C.SYNC_KIND_CONDITION);
    this.#r = regionOf(this);
  }

  /** Creates a condition: a new segment (exclusive), or one in a SharedArrayBuffer. */
  static create(options) {
    return new Condition(kInternal, place(options, { create: true, ...PLACE }));
  }

  /** Opens an existing condition (all zero bytes are a condition nobody waits on). */
  static open(options) {
    return new Condition(kInternal, place(options, { create: false, ...PLACE }));
  }

  /** How many waiters are registered (dead waiters included: a hint). */
  get waiting() {
    this.#r.usable();
    return Atomics.load(this.#r.u32, WAITING);
  }

  #takeToken() {
    const u32 = this.#r.u32;
    for (;;) {
      const k = Atomics.load(u32, SIGNALS);
      if (k === 0) return false;
      if (Atomics.compareExchange(u32, SIGNALS, k, k - 1) === k) return true;
    }
  }

  // A token, or the `seq` to sleep on, read before the token is looked for: a notify that lands
  // after that look changes `seq` from the value read, so the sleep ends at once (reading `seq`
  // after the look slept on the notify's own value until the recheck, up to 50 ms).
  #attempt() {
    const seq = Atomics.load(this.#r.u32, SEQ);
    return this.#takeToken() ? NOTIFIED : seq;
  }

  // Registers a waiter and releases the mutex (checked to be held by its handle).
  #enter(mutex) {
    if (!Mutex.isHandle_(mutex)) throw v.invalidType('mutex', 'a Mutex', mutex);
    this.#r.usable();
    if (!mutex.held) throw shmError('ERR_NOT_OWNER', 'A condition wait needs the mutex held by this handle');
    Atomics.add(this.#r.u32, WAITING, 1);
    try {
      mutex[kRelease]();
    } catch (e) {
      Atomics.sub(this.#r.u32, WAITING, 1);
      throw e;
    }
  }

  // Deregisters a waiter; tokens beyond the waiters left are dropped.
  #leave() {
    const u32 = this.#r.u32;
    const left = Atomics.sub(u32, WAITING, 1) - 1;
    for (;;) {
      const k = Atomics.load(u32, SIGNALS);
      if (k <= left || Atomics.compareExchange(u32, SIGNALS, k, Math.max(left, 0)) === k) return;
    }
  }

  /**
   * Releases `mutex` (held by this thread's handle), waits for a notify or `timeoutMs`, and
   * takes the mutex again (always, without a timeout). Returns { notified, recovered }:
   * notified false when the timeout passed, recovered as from mutex.lock(). Like any condition
   * variable it may return without a matching notify: check the predicate in a loop.
   */
  wait(mutex, timeoutMs) {
    const timeout = validateTimeout(timeoutMs);
    this.#enter(mutex);
    let r;
    try {
      r = block(this.#r.i32, SEQ, SLEEPERS, () => this.#attempt(), timeout);
    } finally {
      this.#leave();
    }
    const { recovered } = mutex.lock();
    return { notified: r !== TIMED_OUT, recovered };
  }

  /**
   * Like wait() without blocking the event loop (the mutex is taken again with lockAsync()).
   * `options.signal` aborts the wait: the mutex is taken again, then the promise rejects with
   * the signal's reason.
   */
  waitAsync(mutex, timeoutMs, options) {
    const timeout = validateTimeout(timeoutMs);
    const signal = validateSignal(options);
    this.#enter(mutex);
    return this.#waitAsync(mutex, timeout, signal);
  }

  async #waitAsync(mutex, timeout, signal) {
    const r = this.#r;
    let res;
    let failure;
    try {
      res = await blockAsync(r.i32, SEQ, SLEEPERS, () => this.#attempt(), timeout, signal, () => r.usable());
    } catch (e) {
      failure = e;
    } finally {
      this.#leave();
    }
    const { recovered } = await mutex.lockAsync();
    if (failure) throw failure;
    return { notified: res !== TIMED_OUT, recovered };
  }

  // Adds tokens up to `wanted` (never above `waiting`), advances seq and wakes.
  #notify(count) {
    const r = this.#r;
    r.usable();
    const u32 = r.u32;
    for (;;) {
      const waiting = Atomics.load(u32, WAITING);
      if (waiting === 0) return;
      const k = Atomics.load(u32, SIGNALS);
      const next = Math.min(waiting, count === Infinity ? waiting : k + count);
      if (next <= k || Atomics.compareExchange(u32, SIGNALS, k, next) === k) break;
    }
    Atomics.add(u32, SEQ, 1);
    wake(r.i32, SEQ, SLEEPERS, count);
  }

  /** Lets one waiter go (if any waits). Call it holding the mutex the waiters use. */
  notifyOne() {
    this.#notify(1);
  }

  /** Lets every waiter registered now go. */
  notifyAll() {
    this.#notify(Infinity);
  }
}

defineKind(Condition, BYTES);

module.exports = { Condition };
