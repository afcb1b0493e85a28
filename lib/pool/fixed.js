'use strict';
// The pools of equal blocks (docs/format.md §17): the buffer pool (kind 1) and the object pool
// (kind 2) share one format and this class; they differ in the names of their options and in
// what an acquire hands out (buffer-pool.js, object-pool.js). The block protocol is core.js.
const { C } = require('../layout/layout');
const v = require('../base/validate');
const { poolError, timeoutOf, asyncOptions, exhausted, stampHeader, checkHeader, INDEX } = require('./core');
const { PoolHandle, make, placeNew } = require('./handle');

const ALIGN = C.POOL_BLOCK_ALIGN;
/** @private The subclasses' hook: the object an acquire returns for block `index`. */
const kBlock = Symbol('shmstore.pool.block');

// The shape of a pool handle, read by the subclasses' getters (blockSize/blockCount,
// recordSize/capacity), which are accessors on the prototype so that a write cannot make a handle
// report a shape its region does not have. Set in FixedPool's static block, the only place that
// can read its private fields.
let sizeOf;
let countOf;

const strideOf = (blockSize) => Math.ceil(blockSize / ALIGN) * ALIGN;
const dataOffset = (blockCount) => C.POOL_BLOCKS_OFFSET + blockCount * ALIGN;
const bytesFor = (blockCount, blockSize) => dataOffset(blockCount) + blockCount * strideOf(blockSize);

// A subclass declares static KIND_ (format.md §17), NAME_ (for messages) and OPTIONS_: the names of
// its size and count options, e.g. { size: 'blockSize', count: 'blockCount' }.
class FixedPool extends PoolHandle {
  #core;
  #cursor = 0;
  #views;
  #data;
  #stride;
  #size;
  #count;
  #batch;

  static {
    sizeOf = (pool) => pool.#size;
    countOf = (pool) => pool.#count;
  }

  /** @private Use create() or open(). */
  constructor(token, where, shape) {
    super(token, where);
    const Class = new.target;
    if (shape) stampHeader(this.buffer, where.byteOffset, Class.KIND_, shape.size, shape.count, 0);
    const { blockSize, blockCount } = checkHeader(this.buffer, where.byteOffset, Class.KIND_);
    if (blockCount < 1 || blockCount > C.POOL_MAX_BLOCKS || blockSize < 1 || blockSize > C.POOL_MAX_BLOCK_SIZE) {
      throw poolError('ERR_CORRUPT', `Pool header: ${blockCount} blocks of ${blockSize} bytes`);
    }
    this.#size = blockSize;
    this.#count = blockCount;
    // A blocked acquire asks to be woken once half the blocks, at most POOL_WAKE_BATCH_MAX, were
    // freed (format.md §17, "Waiting"): a consumer releasing handed-off blocks one by one then
    // wakes the producer once per batch, and the producer takes the batch without sleeping.
    this.#batch = Math.max(1, Math.min(C.POOL_WAKE_BATCH_MAX, blockCount >>> 1));
    this.#stride = strideOf(blockSize);
    this.#data = where.byteOffset + dataOffset(blockCount);
    this.#views = new Array(blockCount);
    // Last: the owner record is claimed only once nothing else can fail.
    this.#core = this.attach_(bytesFor(blockCount, blockSize), C.POOL_BLOCKS_OFFSET, blockCount);
  }

  // `prefix` is 'options.' for create(), whose shape is named options, and '' for bytesFor(),
  // whose shape is its positional arguments (blockCount, blockSize; capacity, recordSize).
  static #validateShape(count, size, prefix) {
    v.validateInteger(count, `${prefix}${this.OPTIONS_.count}`, 1, C.POOL_MAX_BLOCKS);
    v.validateInteger(size, `${prefix}${this.OPTIONS_.size}`, 1, C.POOL_MAX_BLOCK_SIZE);
  }

  /** Creates a pool: a new segment (exclusive), or a pool in a SharedArrayBuffer. */
  static create(options) {
    v.validateObject(options, 'options');
    const { size: sizeKey, count: countKey } = this.OPTIONS_;
    for (const k of [sizeKey, countKey]) {
      if (options[k] === undefined) throw v.typeError(`The "options.${k}" argument is required`);
    }
    const bytes = this.bytesForOptions_(options);
    const where = placeNew(options, ['name', 'path', 'buffer', 'byteOffset', 'size', sizeKey, countKey], bytes);
    return make(this, where, { size: options[sizeKey], count: options[countKey] });
  }

  /** @private The bytes of the shape create() `options` ask for (their names in messages: the registry's create). */
  static bytesForOptions_(options) {
    const { size: sizeKey, count: countKey } = this.OPTIONS_;
    FixedPool.#validateShape.call(this, options[countKey], options[sizeKey], 'options.');
    return bytesFor(options[countKey], options[sizeKey]);
  }

  /** The bytes a pool of `count` blocks of `size` bytes takes. */
  static bytesFor(count, size) {
    FixedPool.#validateShape.call(this, count, size, '');
    return bytesFor(count, size);
  }

  /** @private The bytes of block `index`, in place (the same Uint8Array each time). */
  viewOf_(index) {
    let view = this.#views[index];
    if (view === undefined) {
      view = new Uint8Array(this.buffer, this.#data + index * this.#stride, this.#size);
      this.#views[index] = view;
    }
    return view;
  }

  // One scan from the cursor (the block after the one this handle last took).
  #attempt = () => {
    const handle = this.#core.scan(0, this.#count, this.#cursor);
    if (handle !== 0) {
      const next = (handle & INDEX) + 1;
      this.#cursor = next === this.#count ? 0 : next;
    }
    return handle;
  };

  #tryOnce = () => this.#core.withReclaim(this.#attempt);

  #got(handle) {
    return handle === 0 ? null : this[kBlock](handle, handle & INDEX);
  }

  /**
   * Takes a free block now, or returns null if none is free, even after reclaiming the blocks
   * of gone holders (done at most every 50 ms per handle).
   */
  tryAcquire() {
    this.#core.usable();
    return this.#got(this.#tryOnce());
  }

  /**
   * Takes a free block, blocking the thread until one is released (for worker threads; it
   * blocks the event loop on the main thread). ERR_POOL_EXHAUSTED when none became free within
   * `timeoutMs` (default: wait forever; 0: do not wait).
   */
  acquire(timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.#core.usable();
    const got = this.#got(this.#core.block(this.#tryOnce, timeout, this.#batch));
    if (got === null) throw exhausted(`${this.constructor.NAME_}.acquire()`, timeout);
    return got;
  }

  /**
   * Like acquire() without blocking the event loop; options { timeoutMs, signal }. A call that
   * cannot take a block at once waits behind the earlier pending calls of this handle, served in
   * call order by one waiting loop (core.js blockAsync()); close() rejects them at once.
   */
  async acquireAsync(options) {
    const { timeout, signal } = asyncOptions(options);
    this.#core.usable();
    const handle = await this.#core.blockAsync(this.#tryOnce, timeout, signal);
    // A close() since the block was taken freed it (it may be another's now): ERR_CLOSED.
    this.#core.usable();
    const got = this.#got(handle);
    if (got === null) throw exhausted(`${this.constructor.NAME_}.acquireAsync()`, timeout);
    return got;
  }

  /** @private The block index of a held handle (throws ERR_BAD_HANDLE otherwise). */
  indexOf_(handle, what) {
    this.#core.usable();
    this.#core.held(handle, what);
    return handle & INDEX;
  }

  /** The block of a held handle, in place (the same Uint8Array each time). */
  view(handle) {
    return this.viewOf_(this.indexOf_(handle, 'view'));
  }

  /** Gives a block back to the pool (from any handle of any thread or process); wakes a waiter. */
  release(handle) {
    this.#core.release(handle);
  }

  /**
   * Makes this handle the holder of a block another party acquired (a receiver taking over a
   * handed-off block): if this handle's owner dies, the block is reclaimed. Returns its view.
   */
  take(handle) {
    return this.viewOf_(this.#core.take(handle));
  }

  /** { <count option>, free, held, mine }: a snapshot of the state words (not one instant). */
  stats() {
    this.#core.usable();
    const { count, free, held, mine } = this.#core.count(0, this.#count);
    return { [this.constructor.OPTIONS_.count]: count, free, held, mine };
  }
}

module.exports = { FixedPool, kBlock, sizeOf, countOf };
