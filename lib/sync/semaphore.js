'use strict';
// Semaphore: a counting semaphore in a sync region (docs/format.md §13.3), shared by threads (a
// SharedArrayBuffer) or processes (a Segment). Its words change under the record's guard: the
// free `permits` (also the futex word waiters sleep on), the `total` the semaphore counts, and
// per owner slot how many permits that slot's handle holds. Because every permit out is counted
// against a slot, the permits of a handle whose owner is gone (a killed process, a terminated
// worker with the addon) are given back by the next waiter that checks, and the next acquirer
// is told { recovered: true }. Invariant under the guard: permits + sum(held) === total.
const { C, W } = require('../layout/layout');
const v = require('../base/validate');
const {
  Region, SyncObject, regionOf, kOnClose, claimOrAbort, defineKind, place, shmError, validateTimeout, validateSignal,
  validateCount,
} = require('./region');
const { TIMED_OUT, block, AsyncWaits, wake, guarded } = require('./wait');

const S = W.SEMAPHORE_STATE;
const GUARD = Region.field(S.GUARD);
const PERMITS = Region.field(S.PERMITS);
const TOTAL = Region.field(S.TOTAL);
const RECOVERING = Region.field(S.RECOVERING);
const GENERATION = Region.field(S.GENERATION);
const SLEEPERS = Region.field(S.SLEEPERS);
const HELD = (o) => Region.slotWord(0, o);
const BYTES = C.SYNC_SEMAPHORE_REGION_BYTES;
const PLACE = { bytes: BYTES, what: 'semaphore', extraKeys: ['permits'] };
const kInternal = Symbol('shmstore.Semaphore.internal');

function timedOut(n, timeoutMs) {
  return shmError('ERR_LOCK_TIMEOUT', `${n} permit(s) of the semaphore not acquired within ${timeoutMs} ms`);
}

class Semaphore extends SyncObject {
  #r;
  #waits; // the pending acquireAsync() calls of this handle, in call order (wait.js AsyncWaits)
  #repair = () => this.#recount();

  /** @private Use Semaphore.create() or Semaphore.open(). */
  constructor(token, where, permits) {
    if (token !== kInternal) throw new TypeError('Semaphore cannot be constructed directly: use Semaphore.create() or Semaphore.open()');
    let stamped = false;
    const init = permits === undefined ? undefined : (u32) => {
      Atomics.store(u32, PERMITS, permits);
      Atomics.store(u32, TOTAL, permits);
      stamped = true;
    };
    super(where, BYTES, 'semaphore', C.SYNC_KIND_SEMAPHORE, { init, exclusive: init !== undefined && where.segment === null });
    const r = regionOf(this);
    this.#r = r;
    this.#waits = new AsyncWaits(r, PERMITS, SLEEPERS);
    // An adopted slot may still count the permits of its gone previous owner: given back.
    claimOrAbort(r, (slot) => guarded(r, GUARD, this.#repair, () => this.#giveBack(slot)));
    // A creator with a segment made that segment (exclusively), so the region was all zero: an
    // opener that mapped it before this stamp stamped it as a semaphore of 0 permits, and may
    // have used it since. The permits are then added as new ones, as release() adds them, so
    // that they are the semaphore's whatever the opener did (format.md §13, "Stamping").
    if (init !== undefined && !stamped && permits > 0) {
      try {
        this.#addPermits(permits);
      } catch (e) {
        this.close();
        throw e;
      }
    }
  }

  // New permits, not held by anyone (the semaphore's total grows): release() beyond what a
  // handle holds. RangeError when the total would exceed SYNC_MAX_COUNT.
  #addPermits(n) {
    const r = this.#r;
    const u32 = r.u32;
    guarded(r, GUARD, this.#repair, () => {
      if (this.#damaged(false)) this.#recount();
      const total = Atomics.load(u32, TOTAL);
      if (total + n > C.SYNC_MAX_COUNT) {
        throw v.rangeError(`The semaphore would count more than ${C.SYNC_MAX_COUNT} permits (${total} + ${n})`);
      }
      // total first: a holder of the guard that dies here leaves permits to the recount.
      Atomics.store(u32, TOTAL, total + n);
      Atomics.add(u32, PERMITS, n);
    });
    wake(r.i32, PERMITS, SLEEPERS, Infinity);
  }

  /**
   * Creates a semaphore with `permits` free permits (default 0): a new segment (exclusive), or a
   * region of a SharedArrayBuffer that no one stamped yet (else ERR_SHM_EXISTS).
   */
  static create(options) {
    const permits = options && typeof options === 'object' ? validateCount(options.permits, 'options.permits', 0, 0) : 0;
    return new Semaphore(kInternal, place(options, { create: true, ...PLACE }), permits);
  }

  /** Opens an existing semaphore (all zero bytes are a semaphore of 0 permits). */
  static open(options) {
    return new Semaphore(kInternal, place(options, { create: false, ...PLACE }));
  }

  /** The free permits now. */
  get permits() {
    this.#r.usable();
    return Atomics.load(this.#r.u32, PERMITS);
  }

  /** How many permits this handle holds. */
  get held() {
    this.#r.usable();
    return Atomics.load(this.#r.u32, HELD(this.#r.slot));
  }

  /** How many times permits were given back from a gone holder (wraps at 2^32). */
  get recoveries() {
    this.#r.usable();
    return Atomics.load(this.#r.u32, GENERATION);
  }

  // Under the guard taken over from a gone holder, or over damage: permits from the invariant.
  // The per-slot table is trusted (each word is what its holder will give back); a `total` that
  // is no count (above SYNC_MAX_COUNT) is rebuilt from the free and held permits, and one below
  // what is held is raised to it. A table whose sum is no count either cannot be told apart from
  // a real hold: ERR_CORRUPT, changing nothing (the word goes when its slot's holds are given
  // back, at its handle's close or its owner's death).
  #recount() {
    const u32 = this.#r.u32;
    const held = this.#heldSum();
    if (held > C.SYNC_MAX_COUNT) {
      throw shmError('ERR_CORRUPT', `The semaphore's holders hold ${held} permits, more than a semaphore counts`);
    }
    let total = Atomics.load(u32, TOTAL);
    if (total > C.SYNC_MAX_COUNT) total = Math.min(C.SYNC_MAX_COUNT, Atomics.load(u32, PERMITS) + held);
    total = Math.max(total, held);
    Atomics.store(u32, TOTAL, total);
    Atomics.store(u32, PERMITS, total - held);
  }

  #heldSum() {
    const u32 = this.#r.u32;
    let held = 0;
    for (let o = 1; o < C.SYNC_OWNER_SLOTS; o++) held += Atomics.load(u32, HELD(o));
    return held;
  }

  // Under the guard: whether the words break what a sound run keeps (format.md §13.3, "Damage"):
  // counts above SYNC_MAX_COUNT or more permits free than counted, at every look; with `full`,
  // also free plus held other than the total (a sum of the table).
  #damaged(full) {
    const u32 = this.#r.u32;
    const permits = Atomics.load(u32, PERMITS);
    const total = Atomics.load(u32, TOTAL);
    if (total > C.SYNC_MAX_COUNT || permits > total) return true;
    return full && permits + this.#heldSum() !== total;
  }

  // Under the guard: gives back the permits slot `o` holds (its owner is gone). Returns whether
  // there were any. The news comes first (`recovering`, `generation`): a giver that dies part way
  // leaves it told (twice at worst), never permits given back without it, which the guard's
  // repair (a recount of the free permits) could not tell.
  #giveBack(o) {
    const u32 = this.#r.u32;
    const h = Atomics.load(u32, HELD(o));
    if (h === 0) return false;
    Atomics.store(u32, RECOVERING, 1);
    Atomics.add(u32, GENERATION, 1);
    Atomics.store(u32, HELD(o), 0);
    // Never past a count: a damaged hold given back must not wrap the free permits (the damage
    // check that follows recounts them).
    Atomics.store(u32, PERMITS, Math.min(C.SYNC_MAX_COUNT, Atomics.load(u32, PERMITS) + h));
    return true;
  }

  // Under the guard: gives back the permits of every gone holder.
  #reclaim() {
    const r = this.#r;
    let any = false;
    for (let o = 1; o < C.SYNC_OWNER_SLOTS; o++) {
      if (o !== r.slot && Atomics.load(r.u32, HELD(o)) !== 0 && r.gone(o, false)) any = this.#giveBack(o) || any;
    }
    return any;
  }

  // One look: { recovered } when `n` permits are now this handle's, else the permits seen.
  #attempt(n, check) {
    const r = this.#r;
    const u32 = r.u32;
    let reclaimed = false;
    const res = guarded(r, GUARD, this.#repair, () => {
      if (this.#damaged(false)) this.#recount();
      let p = Atomics.load(u32, PERMITS);
      if (p < n && check) {
        reclaimed = this.#reclaim();
        if (this.#damaged(true)) this.#recount();
        p = Atomics.load(u32, PERMITS);
      }
      if (p < n) return p;
      Atomics.store(u32, PERMITS, p - n);
      Atomics.add(u32, HELD(r.slot), n);
      // The news that a holder was gone is told once, to the next acquirer.
      const recovered = Atomics.exchange(u32, RECOVERING, 0) !== 0;
      return { recovered };
    });
    // Permits given back may serve other waiters too.
    if (reclaimed) wake(r.i32, PERMITS, SLEEPERS, Infinity);
    return res;
  }

  /**
   * Acquires `n` permits (default 1), blocking the thread for at most timeoutMs (default
   * Infinity). Returns { recovered }: true when permits of a gone holder were given back since
   * the last acquisition. Throws ShmError ERR_LOCK_TIMEOUT.
   */
  acquire(n, timeoutMs) {
    const count = validateCount(n, 'n', 1);
    const timeout = validateTimeout(timeoutMs);
    this.#r.usable();
    const r = block(this.#r.i32, PERMITS, SLEEPERS, (check) => this.#attempt(count, check), timeout);
    if (r === TIMED_OUT) throw timedOut(count, timeout);
    return r;
  }

  /** Acquires `n` permits (default 1) if free now (or given back from a gone holder): { recovered } or false. */
  tryAcquire(n) {
    const count = validateCount(n, 'n', 1);
    this.#r.usable();
    const r = this.#attempt(count, true);
    return typeof r === 'object' ? r : false;
  }

  /**
   * Like acquire() without blocking the event loop; `options.signal` aborts it. The pending calls
   * of a handle take their permits in call order: one that waits for more permits than are free
   * holds back the later ones of its handle (not those of other handles).
   */
  acquireAsync(n, timeoutMs, options) {
    const count = validateCount(n, 'n', 1);
    const timeout = validateTimeout(timeoutMs);
    const signal = validateSignal(options);
    this.#r.usable();
    return this.#acquireAsync(count, timeout, signal);
  }

  async #acquireAsync(n, timeout, signal) {
    const r = this.#r;
    const res = await this.#waits.run((check) => this.#attempt(n, check), timeout, signal);
    // A close() since the permits were taken gave them back (kOnClose): they are not this handle's.
    r.usable();
    if (res === TIMED_OUT) throw timedOut(n, timeout);
    return res;
  }

  /**
   * Returns `n` permits (default 1). Permits this handle holds are returned first; the rest are
   * new permits (the semaphore's total grows), as a producer signals a consumer. RangeError
   * when the total would exceed SYNC_MAX_COUNT.
   */
  release(n) {
    const count = validateCount(n, 'n', 1);
    const r = this.#r;
    r.usable();
    const u32 = r.u32;
    guarded(r, GUARD, this.#repair, () => {
      if (this.#damaged(false)) this.#recount();
      const h = Atomics.load(u32, HELD(r.slot));
      const extra = Math.max(0, count - h);
      const total = Atomics.load(u32, TOTAL);
      if (total + extra > C.SYNC_MAX_COUNT) {
        throw v.rangeError(`The semaphore would count more than ${C.SYNC_MAX_COUNT} permits (${total} + ${extra})`);
      }
      // total first: a holder of the guard that dies here leaves permits to the recount.
      if (extra > 0) Atomics.store(u32, TOTAL, total + extra);
      Atomics.store(u32, HELD(r.slot), h - (count - extra));
      Atomics.add(u32, PERMITS, count);
    });
    wake(r.i32, PERMITS, SLEEPERS, Infinity);
  }

  // At close(): permits still held are given back, with the news for the next acquirer
  // ({ recovered: true }), as for a holder that died.
  [kOnClose]() {
    const r = this.#r;
    if (guarded(r, GUARD, this.#repair, () => this.#giveBack(r.slot))) wake(r.i32, PERMITS, SLEEPERS, Infinity);
  }
}

defineKind(Semaphore, BYTES);

module.exports = { Semaphore };
