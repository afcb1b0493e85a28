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
const { threadId } = require('worker_threads');
const { types } = require('util');
const { C, W } = require('../layout/layout');
const { ShmError } = require('../base/errors');
const v = require('../base/validate');
const native = require('../base/native');
const { Segment } = require('../segment/segment');
const futex = require('../segment/futex');
const { OwnerTable, identityOf, GONE } = require('../ownership/owners');
const { isHeld, ownerOf, acquiredWord, releasedWord, takeoverWord } = require('../ownership/lockword');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const REGION_WORDS = C.SYNC_REGION_BYTES / WORD;
const HDR = C.SYNC_HEADER_OFFSET / WORD;
const MAGIC = HDR + W.SYNC_HEADER.MAGIC;
const KIND = HDR + W.SYNC_HEADER.KIND;
const VERSION = HDR + W.SYNC_HEADER.VERSION;
const MX = C.SYNC_MUTEX_OFFSET / WORD;
const LOCK = MX + W.MUTEX_STATE.LOCK;
const GENERATION = MX + W.MUTEX_STATE.GENERATION;
const RECOVERING = MX + W.MUTEX_STATE.RECOVERING;
const WAITERS = MX + W.MUTEX_STATE.WAITERS;
const OWNERS = C.SYNC_OWNERS_OFFSET / WORD;
const RECHECK_MS = C.SYNC_RECHECK_MS;
// Attempts of lock() before it sleeps: a holder of a short critical section lets go meanwhile.
const SPINS = 100;
const ALIGN = C.UNIT;

const CREATE_KEYS = ['name', 'path', 'buffer', 'byteOffset', 'size'];
const OPEN_KEYS = ['name', 'path', 'buffer', 'byteOffset'];
const kInternal = Symbol('shmstore.Mutex.internal');

function notOwner(message) {
  return new ShmError('ERR_NOT_OWNER', message);
}

function timedOut(timeoutMs) {
  return new ShmError('ERR_LOCK_TIMEOUT', `Mutex not acquired within ${timeoutMs} ms`);
}

function validateTimeout(timeoutMs) {
  if (timeoutMs !== undefined) v.validateNumber(timeoutMs, 'timeoutMs', { min: 0, allowInfinity: true });
  return timeoutMs === undefined ? Infinity : timeoutMs;
}

// Stamps a region of zero bytes (every opener stores the same values, the magic last) and checks
// the header of a stamped one.
function stamp(u32) {
  if (Atomics.load(u32, MAGIC) === 0) {
    if (Atomics.load(u32, KIND) === 0) Atomics.store(u32, KIND, C.SYNC_KIND_MUTEX);
    if (Atomics.load(u32, VERSION) === 0) Atomics.store(u32, VERSION, C.SYNC_FORMAT_VERSION);
    Atomics.compareExchange(u32, MAGIC, 0, C.SYNC_MAGIC);
  }
  if (Atomics.load(u32, MAGIC) !== C.SYNC_MAGIC) throw new ShmError('ERR_BAD_MAGIC', 'Not a sync region (bad magic)');
  if (Atomics.load(u32, KIND) !== C.SYNC_KIND_MUTEX) throw new ShmError('ERR_BAD_MAGIC', 'The sync region is not a mutex');
  const version = Atomics.load(u32, VERSION);
  if (version !== C.SYNC_FORMAT_VERSION) {
    throw new ShmError('ERR_BAD_VERSION', `Sync region version ${version}, expected ${C.SYNC_FORMAT_VERSION}`);
  }
}

// Validates the options and returns { buffer, byteOffset, segment }.
function place(options, create) {
  v.validateObject(options, 'options');
  v.validateKeys(options, 'options', create ? CREATE_KEYS : OPEN_KEYS);
  const given = ['name', 'path', 'buffer'].filter((k) => options[k] !== undefined);
  if (given.length !== 1) {
    throw v.typeError('Exactly one of "options.name", "options.path" or "options.buffer" is required');
  }
  let byteOffset = 0;
  if (options.byteOffset !== undefined) {
    v.validateInteger(options.byteOffset, 'options.byteOffset', 0);
    if (options.byteOffset % ALIGN !== 0) {
      throw v.rangeError(`The "options.byteOffset" argument must be a multiple of ${ALIGN}. Received ${options.byteOffset}`);
    }
    byteOffset = options.byteOffset;
  }
  const need = byteOffset + C.SYNC_REGION_BYTES;
  if (options.buffer !== undefined) {
    if (!types.isSharedArrayBuffer(options.buffer)) throw v.invalidType('options.buffer', 'a SharedArrayBuffer', options.buffer);
    if (options.size !== undefined) throw v.typeError('"options.size" applies only to a segment (name or path)');
    if (options.buffer.byteLength < need) {
      throw v.rangeError(`The "options.buffer" argument must hold at least ${need} bytes. Received ${options.buffer.byteLength}`);
    }
    return { buffer: options.buffer, byteOffset, segment: null };
  }
  const target = options.name !== undefined ? { name: options.name } : { path: options.path };
  let segment;
  if (create) {
    let size = need;
    if (options.size !== undefined) {
      v.validateInteger(options.size, 'options.size', need, Segment.MAX_SIZE);
      size = options.size;
    }
    segment = Segment.create({ ...target, size });
  } else {
    segment = Segment.open(target);
    if (segment.size < need) {
      segment.close();
      throw new ShmError('ERR_BAD_SIZE', `The segment holds ${segment.size} bytes, a mutex at ${byteOffset} needs ${need}`);
    }
  }
  return { buffer: segment.buffer, byteOffset, segment };
}

class Mutex {
  #buffer;
  #byteOffset;
  #segment;
  #u32;
  #i32;
  #owners;
  #self;
  #slot = 0;
  #token = 0;
  #held = false;
  #closed = false;

  /** @private Use Mutex.create() or Mutex.open(). */
  constructor(token, where) {
    if (token !== kInternal) throw new TypeError('Mutex cannot be constructed directly: use Mutex.create() or Mutex.open()');
    this.#buffer = where.buffer;
    this.#byteOffset = where.byteOffset;
    this.#segment = where.segment;
    this.#u32 = new Uint32Array(where.buffer, where.byteOffset, REGION_WORDS);
    this.#i32 = new Int32Array(where.buffer, where.byteOffset, REGION_WORDS);
    try {
      stamp(this.#u32);
      this.#owners = new OwnerTable(this.#u32, OWNERS, C.SYNC_OWNER_SLOTS);
      this.#self = identityOf(process.pid, threadId);
      this.#claim();
    } catch (e) {
      if (this.#segment) this.#segment.close();
      throw e;
    }
  }

  #claim() {
    const owners = this.#owners;
    let slot = owners.claim(this.#self);
    if (slot === 0) {
      slot = owners.adopt(this.#self);
      if (slot === 0) throw new ShmError('ERR_TOO_MANY_HANDLES', `All ${C.SYNC_OWNER_SLOTS - 1} owner slots of the mutex are in use`);
      // The gone owner of the adopted slot may have died holding the lock: a lock naming a live
      // slot would never read as gone again, so it is abandoned now (format.md §13).
      const w = Atomics.load(this.#u32, LOCK);
      if (isHeld(w) && ownerOf(w) === slot) this.#abandon(w);
    }
    this.#slot = slot;
    this.#token = owners.watch(slot, this.#self);
  }

  /** Creates a mutex: a new segment (exclusive), or a mutex in a SharedArrayBuffer. */
  static create(options) {
    return new Mutex(kInternal, place(options, true));
  }

  /** Opens an existing mutex (a segment, or a SharedArrayBuffer: all zero bytes are a free mutex). */
  static open(options) {
    return new Mutex(kInternal, place(options, false));
  }

  /** The SharedArrayBuffer the mutex lives in (the segment's, or the one given). */
  get buffer() {
    this.#usable();
    return this.#buffer;
  }

  get byteOffset() {
    return this.#byteOffset;
  }

  /** Whether this handle holds the mutex. */
  get held() {
    return this.#held;
  }

  get closed() {
    return this.#closed;
  }

  /** How many times the mutex was recovered from a gone holder (wraps at 2^32). */
  get recoveries() {
    this.#usable();
    return Atomics.load(this.#u32, GENERATION);
  }

  #usable() {
    if (this.#closed) throw new ShmError('ERR_CLOSED', 'The mutex is closed');
  }

  #acquired(tookOver) {
    this.#held = true;
    if (tookOver) {
      Atomics.store(this.#u32, RECOVERING, 1);
      Atomics.add(this.#u32, GENERATION, 1);
    }
    return { recovered: Atomics.load(this.#u32, RECOVERING) !== 0 };
  }

  // The gone rule of format.md §6 for the holder named by the held word `w`.
  #holderGone(w) {
    const o = ownerOf(w);
    // Our own slot: held by this handle (an async waiter of the same handle), or left by the
    // owner that had the slot before us.
    if (o === this.#slot) return !this.#held;
    if (o === 0 || o >= C.SYNC_OWNER_SLOTS) return true; // no owner can hold it: a damaged word
    return this.#owners.status(o, this.#self) === GONE;
  }

  // One look: returns { recovered } when the lock is now ours, else the held word to wait on.
  #attempt(checkGone) {
    const u32 = this.#u32;
    for (;;) {
      const w = Atomics.load(u32, LOCK);
      if (!isHeld(w)) {
        if (Atomics.compareExchange(u32, LOCK, w, acquiredWord(w, this.#slot)) === w) return this.#acquired(false);
        continue;
      }
      if (checkGone && this.#holderGone(w)) {
        if (Atomics.compareExchange(u32, LOCK, w, takeoverWord(w, this.#slot)) === w) return this.#acquired(true);
        continue;
      }
      return w;
    }
  }

  /**
   * Acquires the mutex, blocking the thread. Returns { recovered } (true: the previous holder
   * is gone and what the lock protects may be half updated). Throws ShmError ERR_LOCK_TIMEOUT.
   */
  lock(timeoutMs) {
    const timeout = validateTimeout(timeoutMs);
    this.#usable();
    if (this.#held) throw new ShmError('ERR_LOCK_TIMEOUT', 'This handle already holds the mutex (it is not recursive)');
    for (let i = 0; i < SPINS; i++) {
      const r = this.#attempt(false);
      if (typeof r === 'object') return r;
    }
    const start = performance.now();
    let checked = -Infinity;
    for (;;) {
      // The gone rule reads /proc for a holder in another process: at most once per period.
      const now = performance.now();
      const checkGone = now - checked >= RECHECK_MS;
      if (checkGone) checked = now;
      const r = this.#attempt(checkGone);
      if (typeof r === 'object') return r;
      const left = timeout - (performance.now() - start);
      if (left <= 0) throw timedOut(timeout);
      Atomics.add(this.#u32, WAITERS, 1);
      try {
        if (native.addon) futex.wait(this.#i32, LOCK, r, Math.min(left, RECHECK_MS));
        else Atomics.wait(this.#i32, LOCK, r | 0, Math.min(left, RECHECK_MS));
      } finally {
        Atomics.sub(this.#u32, WAITERS, 1);
      }
    }
  }

  /** Acquires the mutex if it is free (or its holder is gone): { recovered }, else false. */
  tryLock() {
    this.#usable();
    if (this.#held) return false;
    const r = this.#attempt(true);
    return typeof r === 'object' ? r : false;
  }

  /**
   * Like lock() without blocking the event loop. Tasks of one thread that share a handle wait
   * for each other. Resolves { recovered }; rejects with ShmError ERR_LOCK_TIMEOUT.
   */
  lockAsync(timeoutMs) {
    const timeout = validateTimeout(timeoutMs);
    this.#usable();
    return this.#lockAsync(timeout);
  }

  async #lockAsync(timeout) {
    const start = performance.now();
    let checked = -Infinity;
    for (;;) {
      this.#usable();
      const now = performance.now();
      const checkGone = now - checked >= RECHECK_MS;
      if (checkGone) checked = now;
      const r = this.#attempt(checkGone);
      if (typeof r === 'object') return r;
      const left = timeout - (performance.now() - start);
      if (left <= 0) throw timedOut(timeout);
      const ms = Math.min(left, RECHECK_MS);
      Atomics.add(this.#u32, WAITERS, 1);
      try {
        if (native.addon) {
          await futex.waitAsync(this.#i32, LOCK, r, ms);
        } else {
          const w = Atomics.waitAsync(this.#i32, LOCK, r | 0, ms);
          if (w.async) await w.value;
        }
      } finally {
        Atomics.sub(this.#u32, WAITERS, 1);
      }
    }
  }

  /**
   * Releases the mutex and declares what it protects consistent (clears a recovery in
   * progress). Throws ShmError ERR_NOT_OWNER when this handle does not hold it.
   */
  unlock() {
    this.#usable();
    this.#release(true);
  }

  #release(consistent) {
    if (!this.#held) throw notOwner('unlock() of a mutex this handle does not hold');
    this.#held = false;
    const w = Atomics.load(this.#u32, LOCK);
    if (!isHeld(w) || ownerOf(w) !== this.#slot) throw notOwner('The mutex was taken over from this handle (presumed gone)');
    if (consistent) Atomics.store(this.#u32, RECOVERING, 0);
    else Atomics.store(this.#u32, RECOVERING, 1);
    if (Atomics.compareExchange(this.#u32, LOCK, w, releasedWord(w)) !== w) {
      throw notOwner('The mutex was taken over from this handle (presumed gone)');
    }
    this.#wake();
  }

  // Releases a lock whose holder is gone without declaring anything consistent.
  #abandon(w) {
    Atomics.store(this.#u32, RECOVERING, 1);
    if (Atomics.compareExchange(this.#u32, LOCK, w, releasedWord(w)) === w) this.#wake();
  }

  #wake() {
    if (Atomics.load(this.#u32, WAITERS) === 0) return;
    if (native.addon) futex.wake(this.#i32, LOCK, 1);
    else Atomics.notify(this.#i32, LOCK, 1);
  }

  /**
   * Runs fn({ recovered }) holding the mutex and releases it after (after the promise settles
   * when fn returns one; an async function is waited for with lockAsync()). If fn throws or
   * rejects, the mutex is released without declaring a recovery finished.
   */
  withLock(fn) {
    if (typeof fn !== 'function') throw v.invalidType('fn', 'a function', fn);
    this.#usable();
    const settle = (p) => Promise.resolve(p).then(
      (value) => { this.unlock(); return value; },
      (err) => { this.#releaseIfHeld(); throw err; },
    );
    if (fn.constructor && fn.constructor.name === 'AsyncFunction') {
      return this.lockAsync().then((info) => {
        let p;
        try {
          p = fn(info);
        } catch (e) {
          this.#releaseIfHeld();
          throw e;
        }
        return settle(p);
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
    if (r !== null && typeof r === 'object' && typeof r.then === 'function') return settle(r);
    this.unlock();
    return r;
  }

  #releaseIfHeld() {
    if (!this.#closed && this.#held) this.#release(Atomics.load(this.#u32, RECOVERING) === 0);
  }

  /**
   * Releases the handle's owner slot (and closes its segment). Closing while holding the
   * mutex abandons it: it is released with a recovery pending, so the next acquirer is told
   * recovered: true. Idempotent.
   */
  close() {
    if (this.#closed) return;
    if (this.#held) {
      this.#held = false;
      const w = Atomics.load(this.#u32, LOCK);
      if (isHeld(w) && ownerOf(w) === this.#slot) this.#abandon(w);
    }
    this.#closed = true;
    this.#owners.unwatch(this.#token);
    this.#owners.release(this.#slot);
    if (this.#segment) this.#segment.close();
  }
}

if (typeof Symbol.dispose === 'symbol') Mutex.prototype[Symbol.dispose] = Mutex.prototype.close;
Object.defineProperty(Mutex, 'BYTES', { value: C.SYNC_REGION_BYTES, enumerable: true });

module.exports = { Mutex };
