'use strict';
// What the handles of every pool kind (FixedPool: BufferPool and ObjectPool; MemoryPool) share:
// a handle is made only by its class's create() or open() (the constructor checks a token that
// only make() passes), it knows the segment or SharedArrayBuffer its region lives in and where,
// a construction that fails closes the segment it was given, and attach_() checks that the
// region fits and claims the handle's owner record (core.js). Reclaim and close are the block
// protocol's; the geometry of the blocks and what an acquire hands out are each kind's own.
const { C, W } = require('../layout/layout');
const v = require('../base/validate');
const { place } = require('../msg/region');
const { construct } = require('../msg/handle');
const { releaseBuffer } = require('../segment/segment');
const { PoolCore, poolError } = require('./core');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const OPEN_KEYS = ['name', 'path', 'buffer', 'byteOffset'];
// The byte of a pool's magic from the region's start: what an opener by name waits for (place()).
const MAGIC_AT = C.POOL_HEADER_OFFSET + W.POOL_HEADER.MAGIC * WORD;
const kInternal = Symbol('shmstore.pool.internal');

/**
 * A new handle of `Class` on `where` (place()'s result); `args` go to the constructor. If the
 * constructor throws, the segment `where` opened is closed (the region stays as it was).
 */
function make(Class, where, ...args) {
  return construct(Class, kInternal, where, ...args);
}

/**
 * Where a new pool of `bytes` bytes goes (create()'s options, whose keys may be `keys`): a new
 * segment (zero already) or a SharedArrayBuffer, whose region is zero-filled here.
 */
function placeNew(options, keys, bytes) {
  const where = place(options, { create: true, keys, bytes });
  if (where.buffer) new Uint8Array(where.buffer, where.byteOffset, bytes).fill(0);
  return where;
}

class PoolHandle {
  #segment;
  #buffer;
  #byteOffset;
  #core = null;

  /** @private Use the class's create() or open(). */
  constructor(token, where) {
    const name = new.target.name;
    if (token !== kInternal) throw new TypeError(`${name} cannot be constructed directly: use ${name}.create() or ${name}.open()`);
    this.#segment = where.segment;
    this.#buffer = where.segment ? where.segment.buffer : where.buffer;
    this.#byteOffset = where.byteOffset;
  }

  /** Opens an existing pool of the class's kind (its header gives the shape). */
  static open(options) {
    v.validateObject(options, 'options');
    return make(this, place(options, { create: false, keys: OPEN_KEYS, bytes: null, magicAt: MAGIC_AT }), null);
  }

  /**
   * @private Checks that the region's `bytes` fit in the memory, then claims this handle's owner
   * record over the `blockCount` block records at byte `recordsOffset` of the region. Returns the
   * PoolCore (the subclass keeps it for its hot paths).
   */
  attach_(bytes, recordsOffset, blockCount) {
    const at = this.#byteOffset;
    if (at + bytes > this.#buffer.byteLength) {
      throw poolError('ERR_BAD_SIZE', `The pool needs ${bytes} bytes at ${at}; the memory holds ${this.#buffer.byteLength}`);
    }
    const u32 = new Uint32Array(this.#buffer, at, recordsOffset / WORD + blockCount * W.POOL_BLOCK.WORDS);
    const core = new PoolCore(u32, recordsOffset, blockCount);
    core.claim();
    this.#core = core;
    return core;
  }

  get buffer() {
    return this.#buffer;
  }

  get byteOffset() {
    return this.#byteOffset;
  }

  get closed() {
    return this.#core.closed;
  }

  /** Frees the blocks whose holder is gone (the gone rule of §6); returns how many. */
  reclaim() {
    return this.#core.reclaim();
  }

  /** Frees the blocks this handle holds, gives up its owner record and closes its segment. */
  close() {
    if (this.#core.closed) return;
    this.#core.close();
    releaseBuffer(this.#buffer); // held by construct() (lib/msg/handle.js)
    if (this.#segment) this.#segment.close();
  }
}

if (typeof Symbol.dispose === 'symbol') {
  PoolHandle.prototype[Symbol.dispose] = function dispose() {
    this.close();
  };
}

module.exports = { PoolHandle, make, placeNew };
