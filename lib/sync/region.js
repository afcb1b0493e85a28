'use strict';
// What every kind of sync region shares (docs/format.md §13): placing a region in a segment or a
// SharedArrayBuffer, stamping and checking its header, the owner slot of a handle (claimed,
// adopted from a gone owner, watched by the addon) and the judgement of a slot named by a word.
const { threadId } = require('worker_threads');
const { types } = require('util');
const { C, W, STATUS } = require('../layout/layout');
const { ShmError } = require('../base/errors');
const v = require('../base/validate');
const { Segment, OPEN_WAIT_MS, openWhenSized, waitForStamp, holdBuffer, releaseBuffer } = require('../segment/segment');
const { OwnerTable, identityOf, GONE } = require('../ownership/owners');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const HDR = C.SYNC_HEADER_OFFSET / WORD;
const MAGIC = HDR + W.SYNC_HEADER.MAGIC;
const KIND = HDR + W.SYNC_HEADER.KIND;
const VERSION = HDR + W.SYNC_HEADER.VERSION;
const STATE = C.SYNC_STATE_OFFSET / WORD;
const OWNERS = C.SYNC_OWNERS_OFFSET / WORD;
const SLOT_TABLE = C.SYNC_SLOT_TABLE_OFFSET / WORD;
const SLOT_TABLE_WORDS = C.SYNC_SLOT_TABLE_BYTES / WORD;
const ALIGN = C.UNIT;

const KIND_NAMES = {
  [C.SYNC_KIND_MUTEX]: 'mutex',
  [C.SYNC_KIND_RWLOCK]: 'rwlock',
  [C.SYNC_KIND_CONDITION]: 'condition',
  [C.SYNC_KIND_SEMAPHORE]: 'semaphore',
  [C.SYNC_KIND_BARRIER]: 'barrier',
  [C.SYNC_KIND_WAITGROUP]: 'waitgroup',
};

/** A ShmError with its numeric status. */
function shmError(code, message) {
  return new ShmError(code, message, { status: STATUS[code] });
}

/** The timeout argument of every wait: a number of ms >= 0 (Infinity allowed), default Infinity. */
function validateTimeout(timeoutMs, name = 'timeoutMs') {
  if (timeoutMs !== undefined) v.validateNumber(timeoutMs, name, { min: 0, allowInfinity: true });
  return timeoutMs === undefined ? Infinity : timeoutMs;
}

/** The options argument of the async waits: { signal? }; returns the signal or undefined. */
function validateSignal(options) {
  if (options === undefined) return undefined;
  v.validateObject(options, 'options');
  v.validateKeys(options, 'options', ['signal']);
  const { signal } = options;
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw v.invalidType('options.signal', 'an AbortSignal', signal);
  return signal;
}

/** A count argument: an integer in min..SYNC_MAX_COUNT, `dflt` when undefined. */
function validateCount(n, name, dflt, min = 1) {
  if (n === undefined) return dflt;
  v.validateInteger(n, name, min, C.SYNC_MAX_COUNT);
  return n;
}

/**
 * Validates the options of X.create/X.open and maps the region: { buffer, byteOffset, segment,
 * deadline }. `bytes` is the region size of the kind, `extraKeys` the kind's own creation
 * options. `deadline` (a performance.now() time) is set for an open by name or path only: the
 * end of its wait for its creator, which began with the wait for the size and goes on, in
 * stamp(), for the creator's stamp (one bound for both, OPEN_WAIT_MS); undefined otherwise.
 */
function place(options, { create, bytes, what, extraKeys = [] }) {
  v.validateObject(options, 'options');
  const keys = create ? ['name', 'path', 'buffer', 'byteOffset', 'size', ...extraKeys] : ['name', 'path', 'buffer', 'byteOffset'];
  v.validateKeys(options, 'options', keys);
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
  const need = byteOffset + bytes;
  if (options.buffer !== undefined) {
    if (!types.isSharedArrayBuffer(options.buffer)) throw v.invalidType('options.buffer', 'a SharedArrayBuffer', options.buffer);
    if (options.size !== undefined) throw v.typeError('"options.size" applies only to a segment (name or path)');
    if (options.buffer.byteLength < need) {
      throw v.rangeError(`The "options.buffer" argument must hold at least ${need} bytes. Received ${options.buffer.byteLength}`);
    }
    return { buffer: options.buffer, byteOffset, segment: null, deadline: undefined };
  }
  const target = options.name !== undefined ? { name: options.name } : { path: options.path };
  let segment;
  let deadline;
  if (create) {
    let size = need;
    if (options.size !== undefined) {
      v.validateInteger(options.size, 'options.size', need, Segment.MAX_SIZE);
      size = options.size;
    }
    segment = Segment.create({ ...target, size });
  } else {
    // A creator makes its segment with 0 bytes, sizes it next and then stamps the region: an
    // opener in between waits for the size rather than take the segment for one too small, and
    // then, where only the creator may stamp (a barrier), for the stamp, OPEN_WAIT_MS in all. It
    // waits for as many bytes as the region needs: a creator that grows its segment in steps may
    // be seen with part of its size. (Only the region is used: a mapping that holds it is not
    // taken again when the segment grows later.)
    deadline = performance.now() + OPEN_WAIT_MS;
    segment = openWhenSized(target, deadline, need);
    if (segment.size < need) {
      segment.close();
      throw shmError('ERR_BAD_SIZE', `The segment holds ${segment.size} bytes, a ${what} at ${byteOffset} needs ${need}`);
    }
  }
  return { buffer: segment.buffer, byteOffset, segment, deadline };
}

/**
 * Stamps an unstamped region as `kind` and checks the header of a stamped one (format.md §13,
 * "Stamping"). `init(u32)` writes the kind's creation parameters: it runs only in the stamper
 * that claims the region (CAS of `kind` from 0), before the magic is stored. `exclusive` (a
 * create with parameters) refuses a region that another stamper claimed: ERR_SHM_EXISTS.
 * `zeroValid` (the default) says the kind's zero bytes are a valid object, so any opener may
 * stamp or complete a stamp; without it an opener leaves an unstamped region to its creator:
 * it waits for the creator's stamp until `deadline` (place()'s, an open by name or path), and
 * refuses the region (ERR_BAD_MAGIC) if it is still unstamped then, or at once without a
 * deadline (a SharedArrayBuffer is the caller's: its creator has returned). `version` is the
 * kind's format version (a condition's, a barrier's and a waitgroup's differ from the other
 * kinds').
 */
function stamp(u32, kind, { init, exclusive = false, zeroValid = true, version = C.SYNC_FORMAT_VERSION, deadline } = {}) {
  const name = KIND_NAMES[kind];
  if (Atomics.load(u32, MAGIC) === 0) {
    // A creator with parameters claims with the CREATING mark and drops it once they are written:
    // an opener that completed its stamp meanwhile would run on the parameters' zero bytes, and
    // have what it did overwritten by them.
    const claim = init ? (kind | C.SYNC_KIND_CREATING) >>> 0 : kind;
    if ((init || zeroValid) && Atomics.compareExchange(u32, KIND, 0, claim) === 0) {
      if (init) {
        init(u32);
        Atomics.store(u32, KIND, kind);
      }
      Atomics.store(u32, VERSION, version);
      Atomics.compareExchange(u32, MAGIC, 0, C.SYNC_MAGIC);
    } else if (exclusive) {
      throw shmError('ERR_SHM_EXISTS', `The region already holds a sync object (kind ${Atomics.load(u32, KIND)})`);
    } else if (zeroValid && Atomics.load(u32, KIND) === kind) {
      // Another opener stamps the same values: completing its stamp is harmless.
      if (Atomics.load(u32, VERSION) === 0) Atomics.store(u32, VERSION, version);
      Atomics.compareExchange(u32, MAGIC, 0, C.SYNC_MAGIC);
    } else if (Atomics.load(u32, KIND) !== 0) {
      // Another stamper finishes in a few stores: only one that died midway makes this wait
      // its whole bound. An opener by name or path has one bound for its size and its stamp.
      waitForStamp(u32, MAGIC, deadline ?? performance.now() + OPEN_WAIT_MS);
    } else if (deadline === undefined || waitForStamp(u32, MAGIC, deadline) === 0) {
      // A kind only its creator stamps (it has parameters). An opener by name or path waited for
      // the stamp: the creator sizes the segment before it stamps the region, so an opener may
      // come in between; once the magic is there, so are the parameters, stored before it. A
      // region still unstamped at the deadline, or one of a SharedArrayBuffer (never waited for:
      // its creator has returned), holds no such object.
      const waited = deadline !== undefined ? ` (nothing stamped it within ${OPEN_WAIT_MS} ms of the open)` : '';
      throw shmError('ERR_BAD_MAGIC', `The region holds no ${name} yet: create it first${waited}`);
    }
  } else if (exclusive) {
    throw shmError('ERR_SHM_EXISTS', `The region already holds a sync object (kind ${Atomics.load(u32, KIND)})`);
  }
  if (Atomics.load(u32, MAGIC) !== C.SYNC_MAGIC) throw shmError('ERR_BAD_MAGIC', 'Not a sync region (bad magic)');
  const found = Atomics.load(u32, KIND);
  if (found !== kind) {
    throw shmError('ERR_BAD_MAGIC', `The sync region is not a ${name} (it is a ${KIND_NAMES[found] || `kind ${found}`})`);
  }
  const stamped = Atomics.load(u32, VERSION);
  if (stamped !== version) throw shmError('ERR_BAD_VERSION', `Sync region version ${stamped}, expected ${version}`);
}

/**
 * A handle's view of a mapped region: its words (`u32`, `i32`), the segment it opened (if any),
 * and, for kinds with owners, its owner slot.
 */
class Region {
  constructor(where, bytes, what) {
    this.buffer = where.buffer;
    this.byteOffset = where.byteOffset;
    this.segment = where.segment;
    this.what = what;
    const words = bytes / WORD;
    this.u32 = new Uint32Array(where.buffer, where.byteOffset, words);
    this.i32 = new Int32Array(where.buffer, where.byteOffset, words);
    this.owners = null;
    this.self = null;
    this.slot = 0;
    this.token = 0;
    this.closed = false;
    // The sleepers this handle's async waits have registered on the kind's `sleepers` word
    // (`asleepWord`) and not yet taken off: close() takes them off while the region is mapped.
    this.asleep = 0;
    this.asleepWord = 0;
    // The queues of this handle's pending async waits (wait.js AsyncWaits): close() rejects what
    // they hold at once.
    this.waits = [];
    // Held until close() or abort(): another handle's segment closing must leave this handle's
    // shared memory in place (segment.js, holdBuffer).
    holdBuffer(where.buffer);
    this.held = true;
  }

  /** The word index of field `f` of the kind's record. */
  static field(f) {
    return STATE + f;
  }

  /** The word index of slot `o` in per-slot table `t` (0 or 1). */
  static slotWord(t, o) {
    return SLOT_TABLE + t * SLOT_TABLE_WORDS + o;
  }

  /**
   * Claims an owner slot for this handle. `onAdopt(slot)` runs when the slot was adopted from a
   * gone owner (whose holds the kind must then give back). The slot is watched at once, before
   * anything else runs: a thread terminated from then on leaves its record marked dead by the
   * addon, never a live-looking record that nobody releases. If watching or `onAdopt` throws,
   * the slot is given back before the error propagates.
   */
  claim(onAdopt) {
    const owners = new OwnerTable(this.u32, OWNERS, C.SYNC_OWNER_SLOTS);
    const self = identityOf(process.pid, threadId);
    let slot = owners.claim(self);
    let adopted = false;
    if (slot === 0) {
      slot = owners.adopt(self);
      if (slot === 0) {
        throw shmError('ERR_TOO_MANY_HANDLES', `All ${C.SYNC_OWNER_SLOTS - 1} owner slots of the ${this.what} are in use`);
      }
      adopted = true;
    }
    this.owners = owners;
    this.self = self;
    this.slot = slot;
    try {
      this.token = owners.watch(slot, self);
      if (adopted && onAdopt) onAdopt(slot);
    } catch (e) {
      this.owners.leave(this.slot, this.token);
      throw e;
    }
  }

  /**
   * Whether the owner of slot `o`, named by a word of the region, is gone for this handle: a
   * damaged slot number, the gone rule of §6, or this handle's own slot when `mine` is false
   * (then the word was left by the slot's previous owner).
   */
  gone(o, mine) {
    if (o === this.slot) return !mine;
    if (o === 0 || o >= C.SYNC_OWNER_SLOTS) return true;
    return this.owners.status(o, this.self) === GONE;
  }

  /**
   * Whether the record of slot `o` names this handle's thread (its process and thread ids). A
   * guard is never held across a call, and a thread runs one call at a time: a guard that names
   * a slot of this thread's was left by damage, and waiting for it would wait for nobody.
   */
  ofThisThread(o) {
    if (o === 0 || o >= C.SYNC_OWNER_SLOTS) return false;
    const { pid, tid } = this.owners.read(o);
    return pid === this.self.pid && tid === this.self.tid;
  }

  usable() {
    if (this.closed) throw shmError('ERR_CLOSED', `The ${this.what} is closed`);
  }

  /** An async wait of this handle registered on the sleepers word `index` and sleeps. */
  sleeping(index) {
    this.asleep++;
    this.asleepWord = index;
  }

  /**
   * An async wait's sleep ended: whether its registration is still its own to take off (false
   * once close() took it off).
   */
  awake() {
    if (this.closed) return false;
    this.asleep--;
    return true;
  }

  /**
   * The first step of close(), before the kind gives back what the handle holds: the pending
   * async waits reject with ERR_CLOSED now, not when their loop's sleep ends (up to a recheck
   * period later), and the futex waits of their loops end with them (AsyncWaits.end), so that
   * the wake-up of what the kind gives back reaches the other waiters, not this handle's loop.
   * A loop stops at the end of its sleep without touching the region again. Returns the queues
   * whose loop slept, for close().
   */
  endWaits() {
    if (this.waits.length === 0) return [];
    // An error of its own for each pending wait (AsyncFifo#failAll()).
    const closed = () => shmError('ERR_CLOSED', `The ${this.what} is closed`);
    return this.waits.filter((w) => w.end(closed));
  }

  /**
   * Releases the owner slot (if any) and the segment (if this handle opened one). The sleepers of
   * pending async waits are taken off first: a segment this handle opened is released by the
   * close, and a wait that took itself off when its sleep ends would write to memory that no
   * longer holds the shared word. A loop of `slept` (endWaits()) may have taken a wake-up that
   * its waits, gone now, never used, and its stop never passes on (the handle is closed by
   * then): it is passed on here, while the shared words are still mapped.
   */
  close(slept = []) {
    this.closed = true;
    if (this.asleep !== 0) {
      Atomics.sub(this.u32, this.asleepWord, this.asleep);
      this.asleep = 0;
    }
    for (const w of slept) w.passOnAtClose();
    if (this.owners) this.owners.leave(this.slot, this.token);
    this.release();
    if (this.segment) this.segment.close();
  }

  /** Closes the segment of a handle whose construction failed. */
  abort() {
    this.release();
    if (this.segment) this.segment.close();
  }

  /** Ends the constructor's holdBuffer, once. */
  release() {
    if (!this.held) return;
    this.held = false;
    releaseBuffer(this.buffer);
  }
}

// What a kind does at close() before its owner slot is released (gives back its holds).
const kOnClose = Symbol('shmstore.sync.onClose');
let regionOf;

/**
 * The base of every kind's handle: maps and stamps the region (closing the segment again if
 * that fails), and has the members every kind shares. A kind reads its Region with
 * regionOf(this) after super() and, if it has owners, claims its slot then.
 */
class SyncObject {
  #r;

  static {
    regionOf = (o) => o.#r;
  }

  constructor(where, bytes, what, kind, stampOptions) {
    const r = new Region(where, bytes, what);
    try {
      stamp(r.u32, kind, { ...stampOptions, deadline: where.deadline });
    } catch (e) {
      r.abort();
      throw e;
    }
    this.#r = r;
  }

  /** The SharedArrayBuffer the region lives in (the segment's, or the one given). */
  get buffer() {
    this.#r.usable();
    return this.#r.buffer;
  }

  get byteOffset() {
    return this.#r.byteOffset;
  }

  get closed() {
    return this.#r.closed;
  }

  /**
   * Closes the handle: its pending async waits end, then the kind's own step, then its owner slot
   * and segment. Idempotent.
   */
  close() {
    const r = this.#r;
    if (r.closed) return;
    const slept = r.endWaits();
    if (this[kOnClose]) this[kOnClose]();
    r.close(slept);
  }
}

/** Claims the owner slot of a new handle's region, closing the segment again if that fails. */
function claimOrAbort(r, onAdopt) {
  try {
    r.claim(onAdopt);
  } catch (e) {
    r.abort();
    throw e;
  }
}

/** The statics and the dispose of a kind: X.BYTES and X.regionBytes (its region size). */
function defineKind(Class, bytes) {
  if (typeof Symbol.dispose === 'symbol') Class.prototype[Symbol.dispose] = Class.prototype.close;
  Object.defineProperty(Class, 'BYTES', { value: bytes, enumerable: true });
  Object.defineProperty(Class, 'regionBytes', { value: bytes, enumerable: true });
}

module.exports = {
  Region, SyncObject, regionOf: (o) => regionOf(o), kOnClose, claimOrAbort, defineKind, place, stamp, shmError,
  validateTimeout, validateSignal, validateCount,
};
