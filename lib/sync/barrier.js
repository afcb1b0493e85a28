'use strict';
// Barrier: N parties meet, generation after generation, in a sync region (docs/format.md §13.4),
// shared by threads (a SharedArrayBuffer) or processes (a Segment). `state` is the futex word:
// the generation in bits 1..31 and `broken` in bit 0. An arrival under the guard counts itself
// in `arrived`; the last one resets `arrived` and advances the generation (state + 2), which
// lets every waiter of that generation go. Every open handle has an owner slot; a handle whose
// owner is gone (its process died, or its worker was terminated, with the addon) can never
// arrive again, so a party that notices one breaks the barrier (sets bit 0) and the waiting
// parties get ERR_BARRIER_BROKEN instead of hanging; so does a wait that times out or is
// aborted. reset() starts a new generation two generations on (state advanced by 4) and frees
// the gone owners' slots. `passed` records how each of the last 32 generations ended (bit g mod
// 32: passed, or reset), which a waiter that looks late reads to tell whether its own passed:
// when more handles than `parties` take part, later generations may pass without it. A waiter
// later than that (32 generations) goes by how far the generation moved: by an odd number, it
// passed (a pass moves it by one, a reset by two); by an even one, it was reset.
const { C, W } = require('../layout/layout');
const v = require('../base/validate');
const {
  Region, SyncObject, regionOf, kOnClose, claimOrAbort, defineKind, place, shmError, validateTimeout, validateSignal,
  validateCount,
} = require('./region');
const { TIMED_OUT, block, AsyncWaits, wake, guarded, Recheck } = require('./wait');

const S = W.BARRIER_STATE;
const GUARD = Region.field(S.GUARD);
const STATE = Region.field(S.STATE);
const ARRIVED = Region.field(S.ARRIVED);
const PARTIES = Region.field(S.PARTIES);
const BREAKS = Region.field(S.BREAKS);
const PASSED = Region.field(S.PASSED);
const SLEEPERS = Region.field(S.SLEEPERS);
const BYTES = C.SYNC_BARRIER_REGION_BYTES;
const PLACE = { bytes: BYTES, what: 'barrier', extraKeys: ['parties'] };
const BROKEN_BIT = 1;
const NEXT = 2; // one generation in `state`
const GENERATIONS = 0x7fffffff; // the generation's 31 bits, once shifted down
const OUTCOMES = C.SYNC_BARRIER_OUTCOMES; // generations `passed` remembers
// A waiter reads its generation's bit only while the generation has moved at most this far: the
// bit is next written when generation g + OUTCOMES - 1 ends (a reset also clears the bit of the
// generation it skips), which comes after the state moved that far.
const TRUSTED_MOVE = OUTCOMES - 2;
const bitOf = (generation) => (1 << (generation % OUTCOMES)) >>> 0;
const kInternal = Symbol('shmstore.Barrier.internal');
const BROKEN = Symbol('broken');

function broken() {
  return shmError('ERR_BARRIER_BROKEN', 'The barrier is broken (a party died, timed out or gave up): reset() it');
}

class Barrier extends SyncObject {
  #r;
  #recheck = new Recheck();
  // The async waits of this handle that are pending: each one's `mine`, the state of the
  // generation it waits in. Several tasks may wait on one handle, in different generations when a
  // generation passed before an earlier wait looked: close() leaves each one's generation.
  #pending = new Set();
  // The pending waitAsync() calls of this handle, in call order (wait.js AsyncWaits): a later one
  // waits in the same generation as an earlier one, or a later generation.
  #waits;
  // A guard taken over from a gone holder: that party died, which breaks the barrier anyway.
  #repair = () => this.#break();

  /** @private Use Barrier.create() or Barrier.open(). */
  constructor(token, where, parties) {
    if (token !== kInternal) throw new TypeError('Barrier cannot be constructed directly: use Barrier.create() or Barrier.open()');
    const init = parties === undefined ? undefined : (u32) => Atomics.store(u32, PARTIES, parties);
    super(where, BYTES, 'barrier', C.SYNC_KIND_BARRIER,
      { init, exclusive: init !== undefined && where.segment === null, zeroValid: false, version: C.SYNC_BARRIER_VERSION });
    this.#r = regionOf(this);
    claimOrAbort(this.#r, null);
    this.#waits = new AsyncWaits(this.#r, STATE, SLEEPERS);
  }

  /**
   * Creates a barrier of `parties` parties (required, >= 1): a new segment (exclusive), or a
   * region of a SharedArrayBuffer that no one stamped yet (else ERR_SHM_EXISTS).
   */
  static create(options) {
    const parties = options && typeof options === 'object' ? validateCount(options.parties, 'options.parties', undefined) : 1;
    if (parties === undefined) throw v.typeError('The "options.parties" argument is required');
    return new Barrier(kInternal, place(options, { create: true, ...PLACE }), parties);
  }

  /**
   * Opens an existing barrier. Only its creator stamps a barrier (it needs `parties`): an open by
   * name or path waits for the creator's stamp within the wait it has for the segment's size, and
   * a region still unstamped after that, or an unstamped one of a SharedArrayBuffer (not waited
   * for), is refused: ERR_BAD_MAGIC.
   */
  static open(options) {
    return new Barrier(kInternal, place(options, { create: false, ...PLACE }));
  }

  get parties() {
    this.#r.usable();
    return Atomics.load(this.#r.u32, PARTIES);
  }

  /** How many parties wait in the current generation. */
  get arrived() {
    this.#r.usable();
    return Atomics.load(this.#r.u32, ARRIVED);
  }

  /** Whether the barrier is broken (every wait throws ERR_BARRIER_BROKEN until reset()). */
  get broken() {
    this.#r.usable();
    return (Atomics.load(this.#r.u32, STATE) & BROKEN_BIT) !== 0;
  }

  /** How many generations have passed or been reset (wraps at 2^31). */
  get generation() {
    this.#r.usable();
    return Atomics.load(this.#r.u32, STATE) >>> 1;
  }

  /** How many times the barrier was broken (wraps at 2^32). */
  get breaks() {
    this.#r.usable();
    return Atomics.load(this.#r.u32, BREAKS);
  }

  // Under the guard: breaks the current generation (once) and wakes its waiters.
  #break() {
    const r = this.#r;
    const st = Atomics.load(r.u32, STATE);
    if ((st & BROKEN_BIT) !== 0) return;
    Atomics.store(r.u32, STATE, (st | BROKEN_BIT) >>> 0);
    Atomics.add(r.u32, BREAKS, 1);
    wake(r.i32, STATE, SLEEPERS, Infinity);
  }

  // Under the guard: whether a party's owner is gone (it will never arrive). A party that closes
  // its handle releases its record, which then reads as gone, yet it left in order: only a record
  // judged gone as read and still there after the verdict counts (format.md §6, "Acting on a
  // verdict"), so that a party closing while it is judged does not break the barrier.
  #partyGone() {
    const r = this.#r;
    for (let o = 1; o < C.SYNC_OWNER_SLOTS; o++) {
      if (o !== r.slot && r.owners.goneRecord(o, r.self) !== null) return true;
    }
    return false;
  }

  // Arrives under the guard: { leader: true } when this arrival ends the generation, else the
  // state to wait on. Throws ERR_BARRIER_BROKEN.
  #arrive() {
    const r = this.#r;
    const u32 = r.u32;
    return guarded(r, GUARD, this.#repair, () => {
      if (this.#recheck.due() && this.#partyGone()) this.#break();
      const st = Atomics.load(u32, STATE);
      if ((st & BROKEN_BIT) !== 0) throw broken();
      const arrived = Atomics.load(u32, ARRIVED) + 1;
      if (arrived < Atomics.load(u32, PARTIES)) {
        Atomics.store(u32, ARRIVED, arrived);
        return st;
      }
      Atomics.store(u32, ARRIVED, 0);
      // The outcome before the state that ends the generation: a waiter that sees the state moved
      // sees the bit.
      Atomics.or(u32, PASSED, bitOf(st >>> 1));
      Atomics.store(u32, STATE, (st + NEXT) >>> 0);
      wake(r.i32, STATE, SLEEPERS, Infinity);
      return { leader: true };
    });
  }

  // While waiting in the generation whose state was `mine`: passed, broken, or keep sleeping.
  #attempt(mine, check) {
    const st = Atomics.load(this.#r.u32, STATE);
    if (st === mine) {
      if (!check || !this.#recheck.due()) return st;
      guarded(this.#r, GUARD, this.#repair, () => {
        if (Atomics.load(this.#r.u32, STATE) === mine && this.#partyGone()) this.#break();
      });
      return Atomics.load(this.#r.u32, STATE) === mine ? mine : this.#attempt(mine, false);
    }
    const gen = mine >>> 1;
    const moved = ((st >>> 1) - gen) & GENERATIONS;
    if (moved === 0) return BROKEN; // bit 0 set in its own generation
    // Its generation ended (its outcome was stored before the state that `st` shows). The bit is
    // this generation's while the state, read after it, has not moved past TRUSTED_MOVE.
    const passed = Atomics.load(this.#r.u32, PASSED);
    const now = ((Atomics.load(this.#r.u32, STATE) >>> 1) - gen) & GENERATIONS;
    if (now <= TRUSTED_MOVE) return (passed & bitOf(gen)) !== 0 ? { leader: false } : BROKEN;
    // Later than that: were each open handle a party, no generation after the waiter's could pass
    // without it, so the state moved by one pass and then resets (by two each), or by resets
    // only. Odd: its generation passed; even: it was reset.
    return (moved & 1) === 1 ? { leader: false } : BROKEN;
  }

  // A party that stops waiting in the generation `mine` (timeout, abort, close): the barrier is
  // broken for the others, unless the generation ended meanwhile. Returns the outcome.
  #leave(mine) {
    return guarded(this.#r, GUARD, this.#repair, () => {
      const res = this.#attempt(mine, false);
      if (typeof res === 'number') this.#break();
      return res;
    });
  }

  /**
   * Waits until `parties` parties have called wait() in this generation, for at most timeoutMs.
   * Returns { leader } (true for exactly one party per generation: the last to arrive). Throws
   * ShmError ERR_BARRIER_BROKEN when the barrier is or gets broken, ERR_LOCK_TIMEOUT when the
   * timeout passes (which breaks it for the others).
   */
  wait(timeoutMs) {
    const timeout = validateTimeout(timeoutMs);
    this.#r.usable();
    const mine = this.#arrive();
    if (typeof mine !== 'number') return mine;
    let res = block(this.#r.i32, STATE, SLEEPERS, (check) => this.#attempt(mine, check), timeout);
    if (res === TIMED_OUT) {
      res = this.#leave(mine);
      if (typeof res === 'number') throw shmError('ERR_LOCK_TIMEOUT', `The barrier did not fill within ${timeout} ms (now broken)`);
    }
    if (res === BROKEN) throw broken();
    return res;
  }

  /** Like wait() without blocking the event loop; `options.signal` aborts it (and breaks the barrier). */
  waitAsync(timeoutMs, options) {
    const timeout = validateTimeout(timeoutMs);
    const signal = validateSignal(options);
    this.#r.usable();
    // A signal aborted already rejects, as every other async form does (never a synchronous
    // throw), and the party does not arrive: the barrier is not broken by a wait never begun.
    if (signal?.aborted) return Promise.reject(signal.reason);
    // A barrier found broken (or its guard held too long) rejects too.
    let mine;
    try {
      mine = this.#arrive();
    } catch (e) {
      return Promise.reject(e);
    }
    if (typeof mine !== 'number') return Promise.resolve(mine);
    return this.#waitAsync(mine, timeout, signal);
  }

  async #waitAsync(mine, timeout, signal) {
    const r = this.#r;
    let res;
    const pending = { mine };
    this.#pending.add(pending);
    try {
      res = await this.#waits.run((check) => this.#attempt(mine, check), timeout, signal);
    } catch (e) {
      if (!r.closed) this.#leave(mine);
      throw e;
    } finally {
      this.#pending.delete(pending);
    }
    if (res === TIMED_OUT) {
      // Closed between the timeout and this continuation: close() left this wait's generation
      // already, and the handle's owner slot is gone; ERR_CLOSED, as for every pending call.
      r.usable();
      res = this.#leave(mine);
      if (typeof res === 'number') throw shmError('ERR_LOCK_TIMEOUT', `The barrier did not fill within ${timeout} ms (now broken)`);
    }
    if (res === BROKEN) throw broken();
    return res;
  }

  /**
   * Starts a new generation with no party arrived and the barrier not broken, optionally with
   * another number of parties; frees the owner slots of gone parties. Parties still waiting in
   * the old generation get ERR_BARRIER_BROKEN.
   */
  reset(parties) {
    const n = validateCount(parties, 'parties', undefined);
    const r = this.#r;
    r.usable();
    const u32 = r.u32;
    guarded(r, GUARD, () => {}, () => {
      for (let o = 1; o < C.SYNC_OWNER_SLOTS; o++) if (o !== r.slot) r.owners.freeGone(o, r.self);
      if (n !== undefined) Atomics.store(u32, PARTIES, n);
      Atomics.store(u32, ARRIVED, 0);
      const gen = Atomics.load(u32, STATE) >>> 1;
      // Neither the generation it ends nor the one it skips passed.
      Atomics.and(u32, PASSED, ~(bitOf(gen) | bitOf(gen + 1)));
      Atomics.store(u32, STATE, ((gen + 2) << 1) >>> 0);
    });
    wake(r.i32, STATE, SLEEPERS, Infinity);
  }

  // At close(): a wait pending on the handle breaks the barrier, unless its generation ended
  // already (#leave() breaks only a generation still waited in).
  [kOnClose]() {
    for (const { mine } of this.#pending) this.#leave(mine);
  }
}

defineKind(Barrier, BYTES);

module.exports = { Barrier };
