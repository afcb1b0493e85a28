'use strict';
// Condition: a condition variable in a sync region (docs/format.md §13.2), used with a Mutex,
// shared by threads (a SharedArrayBuffer) or processes (a Segment).
//
// A waiter registers in the open group while it holds the mutex, so a notifier that holds the
// mutex after it sees it. Notifies reach only waiters registered before them: notifyAll() lets
// both groups go (the epoch moves on by two); notifyOne() hands a token to the closed group, and
// when every closed member has one, moves the groups on (the closed group goes, the open group
// becomes the closed one, with the token). A waiter that registers later is in the open group,
// which takes no token, so it cannot take one meant for a waiter registered before it.
//
// Two futex words: open members sleep on `turns`, advanced when the groups move; closed members
// on `seq`, advanced by every notify that changes the groups. A waiter reads both before it
// looks at the groups, so a notify after the look ends the sleep at once. An open member also
// checks, once per recheck period, for tokens that nobody takes (members that died): it moves
// the groups on itself, so a dead waiter delays a notifyOne by a recheck period at most.
const { C, W } = require('../layout/layout');
const v = require('../base/validate');
const { Mutex, kRelease } = require('./mutex');
const {
  Region, SyncObject, regionOf, kOnClose, defineKind, place, shmError, validateTimeout, validateSignal,
} = require('./region');
const { block, AsyncWaits, wake } = require('./wait');
const G = require('./condition-groups');

const S = W.CONDITION_STATE;
const SEQ = Region.field(S.SEQ);
const TURNS = Region.field(S.TURNS);
const HALVES_PER_U64 = BigUint64Array.BYTES_PER_ELEMENT / Uint32Array.BYTES_PER_ELEMENT;
const GROUPS = Region.field(S.GROUPS) / HALVES_PER_U64;
const SLEEPERS = Region.field(S.SLEEPERS);
const BYTES = C.SYNC_SMALL_REGION_BYTES;
const PLACE = { bytes: BYTES, what: 'condition' };
const STAMP = { version: C.SYNC_CONDITION_VERSION };
const kInternal = Symbol('shmstore.Condition.internal');
const NOTIFIED = true;

class Condition extends SyncObject {
  #r;
  #u64;
  // The waiters of this handle's pending waitAsync calls that were not notified yet: close()
  // takes them out of the groups while the region is still mapped (a segment this handle opened
  // is released by the close, and a leave after it would never reach the shared word).
  #pending = new Set();
  // The pending waitAsync() calls of this handle, in call order (wait.js AsyncWaits). They were
  // registered in that order, so a later one is in the same group as an earlier one or a newer
  // group: it is not let go before the head, and sleeps on the head's word (every move of the
  // groups advances both words).
  #waits;

  /** @private Use Condition.create() or Condition.open(). */
  constructor(token, where) {
    if (token !== kInternal) throw new TypeError('Condition cannot be constructed directly: use Condition.create() or Condition.open()');
    super(where, BYTES, 'condition', C.SYNC_KIND_CONDITION, STAMP);
    this.#r = regionOf(this);
    this.#u64 = new BigUint64Array(where.buffer, where.byteOffset, BYTES / BigUint64Array.BYTES_PER_ELEMENT);
    this.#waits = new AsyncWaits(this.#r, TURNS, SLEEPERS, () => this.#passOn());
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
    const g = G.load(this.#u64, GROUPS);
    return g.open + g.closed;
  }

  // After the groups moved on: every waiter looks again.
  #wakeAll() {
    const { u32, i32 } = this.#r;
    Atomics.add(u32, TURNS, 1);
    Atomics.add(u32, SEQ, 1);
    wake(i32, TURNS, SLEEPERS, Infinity);
    wake(i32, SEQ, SLEEPERS, Infinity);
  }

  // Applies `step` to the groups; wakes as the change requires. Returns [before, after].
  #change(step) {
    const [g, n] = G.update(this.#u64, GROUPS, step);
    if (G.moved(g, n)) this.#wakeAll();
    return [g, n];
  }

  // NOTIFIED, or the value of the word to sleep on (w.word names it), read before the look: a
  // notify that lands after the look changes it, so the sleep ends at once. `check`: at most once
  // per recheck period, when an open member looks for tokens nobody takes.
  #attempt(w, check) {
    const u32 = this.#r.u32;
    const turns = Atomics.load(u32, TURNS);
    const seq = Atomics.load(u32, SEQ);
    for (;;) {
      const g = G.load(this.#u64, GROUPS);
      const age = G.age(g, w.epoch);
      if (age > 1) return this.#notified(w); // its group was let go
      if (age === 1) {
        if (g.tokens === 0) {
          w.word = SEQ;
          return seq;
        }
        if (G.cas(this.#u64, GROUPS, g, G.take(g))) return this.#notified(w);
        continue;
      }
      if (check && g.tokens > 0 && G.sameClosed(w.seen, g)) {
        w.seen = null;
        this.#change((now) => (G.sameClosed(g, now) && G.age(now, w.epoch) === 0 ? G.expire(now) : null));
        continue;
      }
      if (check) w.seen = g.tokens > 0 ? g : null;
      w.word = TURNS;
      return turns;
    }
  }

  // A wait that was let go has left the groups: nothing is left for close() to take out.
  #notified(w) {
    this.#pending.delete(w);
    return NOTIFIED;
  }

  // Registers a waiter in the open group and releases the mutex (checked to be held by its
  // handle). Returns the waiter: its epoch and the word it sleeps on.
  #enter(mutex) {
    if (!Mutex.isHandle_(mutex)) throw v.invalidType('mutex', 'a Mutex', mutex);
    this.#r.usable();
    if (!mutex.held) throw shmError('ERR_NOT_OWNER', 'A condition wait needs the mutex held by this handle');
    const [, n] = this.#change(G.register);
    const w = { epoch: n.epoch, word: TURNS, seen: null };
    try {
      mutex[kRelease]();
    } catch (e) {
      this.#leave(w, false);
      throw e;
    }
    return w;
  }

  // Ends a wait that was not notified by a look. Returns whether it was notified after all: its
  // group was let go, or (`take`, a wait whose time ran out) it took a token of the closed group.
  // A waiter that gives up otherwise (aborted, closed) takes none: the token stays for the others.
  #leave(w, take) {
    this.#pending.delete(w);
    let notified = false;
    this.#change((g) => {
      const age = G.age(g, w.epoch);
      notified = age > 1 || (take && age === 1 && g.tokens > 0);
      if (age > 1) return null;
      return notified ? G.take(g) : G.leave(g, w.epoch);
    });
    return notified;
  }

  /**
   * Releases `mutex` (held by this thread's handle), waits for a notify or `timeoutMs`, and
   * takes the mutex again (always, without a timeout). Returns { notified, recovered }:
   * notified false when the timeout passed, recovered as from mutex.lock(). Like any condition
   * variable it may return without a matching notify: check the predicate in a loop.
   */
  wait(mutex, timeoutMs) {
    const timeout = validateTimeout(timeoutMs);
    const w = this.#enter(mutex);
    let notified = false;
    let ended = false;
    try {
      notified = block(this.#r.i32, () => w.word, SLEEPERS, (check) => this.#attempt(w, check), timeout) === NOTIFIED;
      ended = true;
    } finally {
      if (!notified) notified = this.#leave(w, ended);
    }
    const { recovered } = mutex.lock();
    return { notified, recovered };
  }

  /**
   * Like wait() without blocking the event loop (the mutex is taken again with lockAsync()).
   * `options.signal` aborts the wait: the mutex is taken again, then the promise rejects with
   * the signal's reason.
   */
  waitAsync(mutex, timeoutMs, options) {
    const timeout = validateTimeout(timeoutMs);
    const signal = validateSignal(options);
    const w = this.#enter(mutex);
    return this.#waitAsync(mutex, w, timeout, signal);
  }

  async #waitAsync(mutex, w, timeout, signal) {
    const r = this.#r;
    let notified = false;
    let failure;
    this.#pending.add(w);
    try {
      notified = (await this.#waits.run((check) => this.#attempt(w, check), timeout, signal, () => w.word)) === NOTIFIED;
    } catch (e) {
      failure = e;
    }
    // A close() took the waiter out already (kOnClose), unless a look let it go first.
    if (!notified && !r.closed) notified = this.#leave(w, failure === undefined);
    const { recovered } = await mutex.lockAsync();
    if (failure) throw failure;
    return { notified, recovered };
  }

  // When this handle's waiting loop stops: a notifyOne() wakes one sleeper on `seq`, and the loop
  // may have been that one while its waits left without the token (aborted). A token left for
  // the closed group wakes another sleeper.
  #passOn() {
    if (G.load(this.#u64, GROUPS).tokens > 0) wake(this.#r.i32, SEQ, SLEEPERS, 1);
  }

  /** Lets one waiter registered now go (if one waits). Call it holding the mutex the waiters use. */
  notifyOne() {
    this.#r.usable();
    const [g, n] = this.#change(G.notifyOne);
    if (n === null || G.moved(g, n)) return;
    // A token for the closed group: one of its sleepers is enough to take it.
    Atomics.add(this.#r.u32, SEQ, 1);
    wake(this.#r.i32, SEQ, SLEEPERS, 1);
  }

  /** Lets every waiter registered now go. */
  notifyAll() {
    this.#r.usable();
    this.#change(G.notifyAll);
  }

  // At close(), before the region is released: pending waits leave the groups without taking a
  // token (a token handed to them stays for the other waiters); each then rejects with ERR_CLOSED.
  [kOnClose]() {
    for (const w of this.#pending) this.#leave(w, false);
  }
}

defineKind(Condition, BYTES);

module.exports = { Condition };
