'use strict';
// What the handles of the message structures (SpscRing, MpmcQueue, Stack, PriorityQueue,
// Broadcast) share: a handle is made only by its class's create() or open() (the constructor
// checks a token that only make() passes), it knows the segment or SharedArrayBuffer its region
// lives in and where, a construction that fails closes the segment it was given, and a closed
// handle refuses everything with ERR_CLOSED. The region's bytes and what is done with them are
// each class's own: a subclass's constructor calls super(token, where, what) and then reads and
// checks its region, and its close() releases what it holds before calling super.close(); what
// must still touch the region once the handle counts as closed (ending its pending Promise-form
// calls, which takes back their waits from the shared words) goes in closing_(), which close()
// runs before it releases the memory.
const v = require('../base/validate');
const region = require('./region');
const { holdBuffer, releaseBuffer } = require('../segment/segment');

const kInternal = Symbol('shmstore.msg.internal');
const OPEN_KEYS = ['name', 'path', 'buffer', 'byteOffset'];

/**
 * new Class(token, where, ...args) for `where`, region.place()'s result. If the constructor
 * throws, the segment `where` opened is closed (the region stays as it was). The pools' handles
 * use it too, with their own token.
 */
function construct(Class, token, where, ...args) {
  // Held while the handle is open (its close() releases it): another handle's segment closing
  // must leave this handle's shared memory in place (segment.js, holdBuffer).
  const buffer = where.segment ? where.segment.buffer : where.buffer;
  holdBuffer(buffer);
  try {
    return new Class(token, where, ...args);
  } catch (e) {
    releaseBuffer(buffer);
    if (where.segment) where.segment.close();
    throw e;
  }
}

/** A new handle of `Class` on `where`; `args` go to the constructor (see construct()). */
function make(Class, where, ...args) {
  return construct(Class, kInternal, where, ...args);
}

class RegionHandle {
  #segment;
  #buffer;
  #byteOffset;
  #what;
  #closed = false;

  /** @private Use the class's create() or open(). `what` names the structure in ERR_CLOSED. */
  constructor(token, where, what) {
    const name = new.target.name;
    if (token !== kInternal) throw new TypeError(`${name} cannot be constructed directly: use ${name}.create() or ${name}.open()`);
    this.#segment = where.segment;
    this.#buffer = where.segment ? where.segment.buffer : where.buffer;
    this.#byteOffset = where.byteOffset;
    this.#what = what;
  }

  /** Opens an existing region of the class's kind (its header gives the shape). */
  static open(options) {
    v.validateObject(options, 'options');
    return make(this, region.place(options, { create: false, keys: OPEN_KEYS, bytes: null }));
  }

  get buffer() {
    this.usable_();
    return this.#buffer;
  }

  get byteOffset() {
    return this.#byteOffset;
  }

  get closed() {
    return this.#closed;
  }

  /** @private Throws ERR_CLOSED once the handle is closed (every operation's first step). */
  usable_() {
    if (this.#closed) throw region.closedError(this.#what);
  }

  /** Closes the handle (and the segment it opened); the region stays for other handles. Idempotent. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.closing_();
    releaseBuffer(this.#buffer); // held by construct()
    if (this.#segment) this.#segment.close();
  }

  /**
   * @private Runs in close() once the handle counts as closed (usable_() throws ERR_CLOSED) and
   * while its memory is still the region's: once the segment this handle opened is closed, its
   * pages are private zeros (segment.js), and a word stored there (a sleeping flag put down, a
   * waiter count taken back) would not reach the other parties. Subclasses end their pending
   * calls here.
   */
  closing_() {}
}

if (typeof Symbol.dispose === 'symbol') {
  RegionHandle.prototype[Symbol.dispose] = function dispose() {
    this.close();
  };
}

module.exports = { RegionHandle, make, construct };
