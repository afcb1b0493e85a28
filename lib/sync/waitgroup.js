'use strict';
// WaitGroup: a counter of pending tasks that waiters wait to see reach 0 (docs/format.md §13.5),
// shared by threads (a SharedArrayBuffer) or processes (a Segment). add() changes `count` by CAS
// (never below 0); the add that makes it 0 adds 1 to `generation` in the same CAS (the two words
// are one u64) and then wakes every sleeper.
// Waiters sleep on `generation`, not on `count`: a wait ends when it sees the count at 0 or the
// generation moved since the wait began, so a waiter that sleeps while the count goes 1 -> 0 -> 1
// (the task's next batch added before the waiter woke) still returns, instead of finding the
// count above 0 again and sleeping on. It tracks no owner: a task that dies without done() keeps
// the count above 0, and waiters end by their timeout.
const { C, W } = require('../layout/layout');
const v = require('../base/validate');
const { Region, SyncObject, regionOf, defineKind, place, shmError, validateTimeout, validateSignal } = require('./region');
const { TIMED_OUT, block, AsyncWaits, wake } = require('./wait');

const COUNT = Region.field(W.WAIT_GROUP_STATE.COUNT);
const GENERATION = Region.field(W.WAIT_GROUP_STATE.GENERATION);
// `count` and `generation` read and CAS'd as one u64 (count the low half: little-endian), so that
// a zero and the move of the generation that tells it are one step. Were they two, a waiter that
// began between them (it saw the zero, added the next batch and waited) would take that move
// for a zero of its own batch and return before the batch was done.
const HALVES_PER_U64 = BigUint64Array.BYTES_PER_ELEMENT / Uint32Array.BYTES_PER_ELEMENT;
const PAIR = COUNT / HALVES_PER_U64;
const LOW = 0xffffffffn;
const HALF_BITS = 32n;
if (COUNT % HALVES_PER_U64 !== 0 || GENERATION !== COUNT + 1) throw new Error('WaitGroupState: count and generation must be one aligned u64');
const SLEEPERS = Region.field(W.WAIT_GROUP_STATE.SLEEPERS);
const BYTES = C.SYNC_SMALL_REGION_BYTES;
const PLACE = { bytes: BYTES, what: 'waitgroup' };
const STAMP = { version: C.SYNC_WAITGROUP_VERSION };
const kInternal = Symbol('shmstore.WaitGroup.internal');

// A count above SYNC_MAX_COUNT is no sound run's (add refuses to make one): damage, whose true
// count nobody knows. Reported rather than waited on or added to.
function checked(c) {
  if (c > C.SYNC_MAX_COUNT) {
    throw shmError('ERR_CORRUPT', `The waitgroup's count ${c} is above ${C.SYNC_MAX_COUNT}: its word is damaged`);
  }
  return c;
}

function timedOut(timeoutMs) {
  return shmError('ERR_LOCK_TIMEOUT', `The waitgroup did not reach 0 within ${timeoutMs} ms`);
}

class WaitGroup extends SyncObject {
  #r;
  #u64;
  #waits; // the pending waitAsync() calls of this handle, in call order (wait.js AsyncWaits)

  /** @private Use WaitGroup.create() or WaitGroup.open(). */
  constructor(token, where) {
    if (token !== kInternal) throw new TypeError('WaitGroup cannot be constructed directly: use WaitGroup.create() or WaitGroup.open()');
    super(where, BYTES, 'waitgroup', C.SYNC_KIND_WAITGROUP, STAMP);
    this.#r = regionOf(this);
    this.#u64 = new BigUint64Array(where.buffer, where.byteOffset, BYTES / BigUint64Array.BYTES_PER_ELEMENT);
    this.#waits = new AsyncWaits(this.#r, GENERATION, SLEEPERS);
  }

  /** Creates a waitgroup: a new segment (exclusive), or one in a SharedArrayBuffer (count 0). */
  static create(options) {
    return new WaitGroup(kInternal, place(options, { create: true, ...PLACE }));
  }

  /** Opens an existing waitgroup (all zero bytes are a waitgroup of count 0). */
  static open(options) {
    return new WaitGroup(kInternal, place(options, { create: false, ...PLACE }));
  }

  /** The current count. */
  get count() {
    this.#r.usable();
    return checked(Atomics.load(this.#r.u32, COUNT));
  }

  /**
   * Adds `n` (an integer, negative to subtract; default 1) to the count and returns the new
   * count. RangeError when the count would go below 0 or above SYNC_MAX_COUNT (nothing changes);
   * ShmError ERR_CORRUPT when the count is above SYNC_MAX_COUNT already (damage), as from the
   * count and the waits.
   */
  add(n = 1) {
    v.validateInteger(n, 'n', -C.SYNC_MAX_COUNT, C.SYNC_MAX_COUNT);
    this.#r.usable();
    const u64 = this.#u64;
    for (;;) {
      const pair = Atomics.load(u64, PAIR);
      const c = checked(Number(pair & LOW));
      const next = c + n;
      if (next < 0) throw v.rangeError(`The waitgroup count would become negative (${c} + ${n})`);
      if (next > C.SYNC_MAX_COUNT) throw v.rangeError(`The waitgroup count would exceed ${C.SYNC_MAX_COUNT} (${c} + ${n})`);
      const zero = next === 0 && n !== 0;
      const generation = zero ? ((pair >> HALF_BITS) + 1n) & LOW : pair >> HALF_BITS;
      if (Atomics.compareExchange(u64, PAIR, pair, (generation << HALF_BITS) | BigInt(next)) !== pair) continue;
      // A waiter that saw the old generation with a count above 0 sleeps on the old generation
      // and is woken here.
      if (zero) wake(this.#r.i32, GENERATION, SLEEPERS, Infinity);
      return next;
    }
  }

  /** Subtracts 1 from the count (RangeError at 0); returns the new count. */
  done() {
    return this.add(-1);
  }

  // The look of a wait that began at generation `g`: done (undefined) when the count reached 0
  // since (it reads 0, or the generation moved), else `g`, the generation value to sleep on.
  #attempt(g) {
    const pair = Atomics.load(this.#u64, PAIR);
    if (Number(pair >> HALF_BITS) !== g) return undefined;
    return checked(Number(pair & LOW)) === 0 ? undefined : g;
  }

  /** Blocks until the count is 0; throws ShmError ERR_LOCK_TIMEOUT after timeoutMs. */
  wait(timeoutMs) {
    const timeout = validateTimeout(timeoutMs);
    this.#r.usable();
    const g = Atomics.load(this.#r.u32, GENERATION);
    if (block(this.#r.i32, GENERATION, SLEEPERS, () => this.#attempt(g), timeout) === TIMED_OUT) throw timedOut(timeout);
  }

  /** Like wait() without blocking the event loop; `options.signal` aborts it. */
  waitAsync(timeoutMs, options) {
    const timeout = validateTimeout(timeoutMs);
    const signal = validateSignal(options);
    this.#r.usable();
    return this.#waitAsync(timeout, signal);
  }

  async #waitAsync(timeout, signal) {
    const r = this.#r;
    const g = Atomics.load(r.u32, GENERATION);
    const res = await this.#waits.run(() => this.#attempt(g), timeout, signal);
    if (res === TIMED_OUT) throw timedOut(timeout);
  }
}

defineKind(WaitGroup, BYTES);

module.exports = { WaitGroup };
