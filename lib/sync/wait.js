'use strict';
// The one wait/wake algorithm of the sync room (docs/format.md §13, "Waiting"), shared by every
// kind. A waiter looks (`attempt`), and when it cannot proceed it registers on the record's
// `sleepers` word and sleeps on a futex word with the value it saw, for at most SYNC_RECHECK_MS;
// a releaser changes the word first and wakes only when `sleepers` is not 0. Every access is
// sequentially consistent, so either the releaser sees the sleeper or the sleeper's futex wait
// sees the changed word: no wake-up is lost. The bounded sleep is what notices a holder that
// died (a killed process wakes nobody) and lets worker.terminate() end a blocked thread. The
// async waits of one handle on one word share one such waiter (AsyncWaits): one registration,
// one futex wait and one wake-up per recheck period for all of them, served in call order.
//
// Sleeping uses the addon's shared futex (any process can wake); without the addon,
// Atomics.wait/waitAsync, which only threads of one process can wake (and a segment cannot be
// mapped without the addon anyway).
//
// The guard: kinds whose state spans several words (rwlock, semaphore, barrier) change it under a
// short internal lock, a §1 lock word named by the holder's owner slot. It is never held across
// an await or a sleep, so a waiter spins; a guard whose holder is gone is taken over and the
// caller recomputes the state from what each owner slot holds.
const { C } = require('../layout/layout');
const native = require('../base/native');
const futex = require('../segment/futex');
const threadFutex = require('../segment/thread-futex');
const { isHeld, ownerOf, acquiredWord, takeoverWord, unlock } = require('../ownership/lockword');
const { AsyncFifo } = require('../segment/async-fifo');
const { shmError } = require('./region');

const RECHECK_MS = C.SYNC_RECHECK_MS;
/** Returned by block() and AsyncWaits.run() when the timeout passed. */
const TIMED_OUT = Symbol('timed out');
// Spins of a guard before it sleeps 1 ms at a time (its holder was descheduled or is gone).
const GUARD_SPINS = 200;
const GUARD_NAP_MS = 1;
// A guard is held for a few stores; one held this long has a holder that is stopped (SIGSTOP),
// or a worker terminated in its section that only the addon could have marked dead. Nothing
// waits for it forever: the caller gets ERR_LOCK_TIMEOUT.
const GUARD_LIMIT_MS = 10000;

function sleep(i32, index, expected, ms) {
  if (native.addon) futex.wait(i32, index, expected, ms);
  else Atomics.wait(i32, index, expected | 0, ms);
}

function sleepAsync(i32, index, expected, ms) {
  if (native.addon) return futex.waitAsync(i32, index, expected, ms);
  return threadFutex.waitAsync(i32, index, expected, ms);
}

/**
 * Wakes up to `count` sleepers of word `index` (Infinity: all) if `sleepers` (a word index)
 * says someone may sleep. Call after changing the word.
 */
function wake(i32, index, sleepers, count) {
  if (Atomics.load(i32, sleepers) === 0) return;
  if (native.addon) futex.wake(i32, index, count === Infinity ? undefined : count);
  else Atomics.notify(i32, index, count);
}

// Whether a slow-path check (the gone rule, which reads /proc) is due: at most once per period.
class Recheck {
  constructor() {
    this.last = -Infinity;
  }

  due() {
    const now = performance.now();
    if (now - this.last < RECHECK_MS) return false;
    this.last = now;
    return true;
  }
}

// The looks of one waiter: look() returns what ends the wait (the attempt's result, or
// TIMED_OUT), or SLEEP with `expected` (the value to sleep on) and `ms` (how long) set.
const SLEEP = Symbol('sleep');
class Looks {
  constructor(attempt, timeoutMs) {
    this.attempt = attempt;
    this.timeoutMs = timeoutMs;
    this.start = performance.now();
    this.recheck = new Recheck();
    this.expected = 0;
    this.ms = 0;
  }

  look() {
    const r = this.attempt(this.recheck.due());
    if (typeof r !== 'number') return r;
    const left = this.timeoutMs - (performance.now() - this.start);
    if (left <= 0) return TIMED_OUT;
    this.expected = r;
    this.ms = Math.min(left, RECHECK_MS);
    return SLEEP;
  }
}

// The index of the word to sleep on: `word`, or what `word()` says after the look (a kind whose
// waiters sleep on one of two words, by what the look found).
const wordOf = (word) => (typeof word === 'function' ? word() : word);

/**
 * Blocks the thread until `attempt(check)` returns something other than a number, and returns
 * it; TIMED_OUT after `timeoutMs`. A number is the value of word `word` of `i32` that stops the
 * waiter: it sleeps while the word holds it (`word` may be a function that names the word after
 * each look). `check` is true at most once per RECHECK_MS (and on the first look after the
 * spins): when the attempt should apply the gone rule. `spins` first attempts are made without
 * sleeping.
 */
function block(i32, word, sleepers, attempt, timeoutMs, spins = 0) {
  for (let i = 0; i < spins; i++) {
    const r = attempt(false);
    if (typeof r !== 'number') return r;
  }
  const looks = new Looks(attempt, timeoutMs);
  for (;;) {
    const r = looks.look();
    if (r !== SLEEP) return r;
    Atomics.add(i32, sleepers, 1);
    try {
      sleep(i32, wordOf(word), looks.expected, looks.ms);
    } finally {
      Atomics.sub(i32, sleepers, 1);
    }
  }
}

/**
 * The pending async waits of one handle on one futex word (`word`, registering on the sleepers
 * word `sleepers`), in call order, with one waiting loop (the segment room's AsyncFifo): one
 * registration on `sleepers` and one futex wait for all of them, where each wait had its own (a
 * watcher thread of the addon each, and a wake-up per recheck period each). The loop looks
 * (serves the head, and the ones after it as long as they proceed), and when the head cannot
 * proceed, registers on `sleepers` and sleeps on the word as the head's look saw it, for at most
 * RECHECK_MS, exactly as block() does; the gone rule is checked by the look that comes at most
 * once per RECHECK_MS. `region` is the handle's Region: the registration is counted in it, for
 * its close() to take off, and its close() rejects what is pending with ERR_CLOSED at once.
 * `passOn()`, if given, is what a kind whose releasers wake one sleeper only (the mutex's unlock,
 * the condition's notifyOne) does with a wake-up the loop may have taken without using it: it
 * wakes another sleeper if the state still calls for one. It runs when the loop stops (its waits
 * left, timed out or aborted, while it slept), when the loop was woken and none of its waits
 * proceeded (the head it sleeps for changed meanwhile, as when the waits before it left: a
 * condition wait of the open group, which no notifyOne for the closed group lets go), and at
 * close() when the loop slept (its wake-up comes to nobody then).
 */
class AsyncWaits {
  #region;
  #word;
  #sleepers;
  #passOn;
  #fifo;
  #recheck = new Recheck();
  // Where the loop sleeps: the word the head's last look named and the value it saw there.
  #at = 0;
  #expected = 0;
  // The word the parked loop's futex wait is on: looks made while it sleeps (a wait leaving, a
  // timer's look) may name another in #at, and unpark() must end the wait where it is.
  #parkedAt = 0;
  // The last park ended by a wake-up ('ok') and no wait has proceeded since: the next park, or
  // the loop's end, passes the wake-up on. (A wake-up can be one meant for the loop's waits that
  // another waiter's look used first: passOn() then finds nothing to pass on.)
  #woken = false;

  constructor(region, word, sleepers, passOn) {
    this.#region = region;
    this.#word = word;
    this.#sleepers = sleepers;
    this.#passOn = passOn;
    this.#fifo = new AsyncFifo(TIMED_OUT, this);
    region.waits.push(this);
  }

  /**
   * Runs `attempt(check)` as block() does, without blocking the event loop, in call order with
   * this handle's other pending waits on the word: resolves with what it returned, or TIMED_OUT
   * after `timeoutMs`; rejects with what it throws, the reason of `signal` when it aborts, or
   * ERR_CLOSED when the handle closes first. `word` (default: the queue's) may be a function that
   * names the word after each look. The caller checked that the handle is usable.
   */
  run(attempt, timeoutMs, signal, word = this.#word) {
    const look = () => {
      const r = attempt(this.#recheck.due());
      if (typeof r !== 'number') {
        this.#woken = false;
        return r;
      }
      this.#at = wordOf(word);
      this.#expected = r;
      return TIMED_OUT;
    };
    return this.#fifo.run(look, timeoutMs, signal);
  }

  /**
   * At close(), while the region is still mapped: every pending wait rejects now, each with its
   * own error made by `error()` (or a copy of `error`: AsyncFifo#failAll()), and a
   * parked loop's futex wait ends with them (unpark()), so that no wake-up reaches it from here
   * on. Returns whether the loop was parked: a wake-up it took may then have come to nobody, and
   * passOnAtClose() passes it on once the kind gave back what the handle held.
   */
  end(error) {
    const parked = this.#fifo.pumping;
    this.#fifo.failAll(error);
    return parked;
  }

  /** See end(). */
  passOnAtClose() {
    if (this.#passOn) this.#passOn();
  }

  // The loop's wait (AsyncFifo): nothing before the look, whose value is the futex's expected
  // value (a change after the look fails the futex wait at once); the registration is made after
  // the look, as in block().
  prepare() {
    return undefined;
  }

  async park() {
    const r = this.#region;
    const { i32 } = r;
    // Woken, and the look since let no wait proceed: the wake-up may have been the one a
    // releaser gave for another waiter. Passed on before this park registers, so that it does
    // not reach this loop again.
    if (this.#woken) {
      this.#woken = false;
      if (this.#passOn) this.#passOn();
    }
    Atomics.add(i32, this.#sleepers, 1);
    r.sleeping(this.#sleepers);
    let woke;
    this.#parkedAt = this.#at;
    try {
      woke = await sleepAsync(i32, this.#parkedAt, this.#expected, RECHECK_MS);
    } finally {
      if (r.awake()) Atomics.sub(i32, this.#sleepers, 1);
    }
    r.usable();
    this.#woken = woke === 'ok';
  }

  ended() {
    this.#woken = false;
    if (this.#passOn && !this.#region.closed) this.#passOn();
  }

  // The last pending wait left while the loop is parked (it timed out or was aborted): the park
  // ends now, not at its recheck, so that its registration on the sleepers word goes at once and
  // no futex wait keeps the event loop alive (or a worker from exiting). The park is this
  // thread's own and the word did not change: it is ended as such (a wake that moves no word can
  // be missed by the addon's watcher). A park of another handle of this thread on the word looks
  // again, as after any wake-up; without the addon, every waiter of the word in the process does
  // (a notify is the only end of an Atomics.waitAsync: lib/msg/park.js unparkOwn() says why).
  unpark() {
    const { i32 } = this.#region;
    if (native.addon) native.addon.futexWakeOwn(i32, this.#parkedAt);
    else Atomics.notify(i32, this.#parkedAt);
  }
}

/**
 * Takes the guard lock word `index` of `region` (a Region with an owner slot). Returns true
 * when it took the guard over from a gone holder: the state it protects may be half changed and
 * the caller recomputes it.
 */
function lockGuard(region, index) {
  const { u32, i32, slot } = region;
  const recheck = new Recheck();
  let since = 0; // when this waiter first found the guard held by the word `seen`
  let seen = 0;
  for (let i = 0; ; i++) {
    const w = Atomics.load(u32, index);
    if (!isHeld(w)) {
      if (Atomics.compareExchange(u32, index, w, acquiredWord(w, slot)) === w) return false;
      continue;
    }
    if (i < GUARD_SPINS) continue;
    // The guard is never held across a sleep, so a handle that finds its own slot in it finds
    // the word of the slot's previous owner, and one that finds a slot of its thread's finds
    // damage: neither is waited for.
    const o = ownerOf(w);
    if (recheck.due() && (region.gone(o, false) || region.ofThisThread(o))) {
      if (Atomics.compareExchange(u32, index, w, takeoverWord(w, slot)) === w) return true;
      continue;
    }
    if (since === 0 || w !== seen) {
      since = performance.now();
      seen = w;
    } else if (performance.now() - since > GUARD_LIMIT_MS) {
      throw shmError('ERR_LOCK_TIMEOUT', `The ${region.what}'s guard was held by a live owner for ${GUARD_LIMIT_MS} ms`);
    }
    sleep(i32, index, w, GUARD_NAP_MS);
  }
}

function unlockGuard(region, index) {
  unlock(region.u32, index, region.slot);
}

/**
 * Runs fn() holding the guard `index` of `region`; `repair()` first when the guard was taken
 * over from a gone holder. Returns what fn returns. The guard is released whatever either throws
 * (a repair that finds damage it cannot mend reports it, ERR_CORRUPT, and leaves the words to the
 * kind's damage check at the next look).
 */
function guarded(region, index, repair, fn) {
  const tookOver = lockGuard(region, index);
  try {
    if (tookOver) repair();
    return fn();
  } finally {
    unlockGuard(region, index);
  }
}

module.exports = { TIMED_OUT, RECHECK_MS, wake, block, AsyncWaits, guarded, Recheck };
