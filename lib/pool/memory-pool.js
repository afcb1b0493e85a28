'use strict';
// MemoryPool: blocks of several size classes in one region (docs/format.md §17, "Memory pool
// (kind 3)"). allocate(size) takes a free block of the smallest class that holds `size` bytes,
// or of a larger class when that one is exhausted; the handle names the block wherever it is
// sent, and any handle of the pool, in any thread or process, reopens it (view), takes it over
// or frees it. The classes' blocks are one array of block records, class after class, so the
// block protocol, the owner table and the reclaim of gone holders' blocks are core.js's.
const { C, W } = require('../layout/layout');
const v = require('../base/validate');
const { poolError, timeoutOf, asyncOptions, exhausted, stampHeader, checkHeader, INDEX } = require('./core');
const { PoolHandle, make, placeNew } = require('./handle');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const ALIGN = C.POOL_BLOCK_ALIGN;
const CLASSES = C.POOL_CLASSES_OFFSET / WORD;
const CLASS_WORDS = W.POOL_CLASS.WORDS;

const strideOf = (size) => Math.ceil(size / ALIGN) * ALIGN;
const totalOf = (classes) => classes.reduce((n, c) => n + c.count, 0);
const dataOffset = (total) => C.POOL_MEMORY_BLOCKS_OFFSET + total * ALIGN;
const bytesFor = (classes) => classes.reduce((n, c) => n + c.count * strideOf(c.size), dataOffset(totalOf(classes)));

// Why a class list is refused, or null: 1 to POOL_MAX_CLASSES classes of strictly growing sizes
// (1 to 2^30 bytes), each of at least one block, at most POOL_MAX_BLOCKS blocks in all.
function shapeProblem(classes) {
  if (classes.length < 1 || classes.length > C.POOL_MAX_CLASSES) return `${classes.length} classes (1 to ${C.POOL_MAX_CLASSES} allowed)`;
  for (let c = 0; c < classes.length; c++) {
    const { size, count } = classes[c];
    if (!(size >= 1 && size <= C.POOL_MAX_BLOCK_SIZE) || !(count >= 1)) return `class ${c}: ${count} blocks of ${size} bytes`;
    if (c > 0 && size <= classes[c - 1].size) return `class ${c}: size ${size} does not exceed the previous class's ${classes[c - 1].size}`;
  }
  const total = totalOf(classes);
  if (total > C.POOL_MAX_BLOCKS) return `${total} blocks in all (at most ${C.POOL_MAX_BLOCKS})`;
  return null;
}

/**
 * Validates the classes: an array of { size, count }; returns a plain copy. `name` names them in
 * messages: 'options.classes' (create's option) or 'classes' (bytesFor's argument).
 */
function validateClasses(classes, name) {
  if (!Array.isArray(classes)) throw v.invalidType(name, 'an array of { size, count }', classes);
  // Array.from, not map: map skips the holes of a sparse array, which would reach the checks
  // below as undefined; Array.from gives each hole to validateObject, which names it.
  const copy = Array.from(classes, (c, i) => {
    v.validateObject(c, `${name}[${i}]`);
    v.validateKeys(c, `${name}[${i}]`, ['size', 'count']);
    v.validateInteger(c.size, `${name}[${i}].size`, 1, C.POOL_MAX_BLOCK_SIZE);
    v.validateInteger(c.count, `${name}[${i}].count`, 1, C.POOL_MAX_BLOCKS);
    return { size: c.size, count: c.count };
  });
  const problem = shapeProblem(copy);
  if (problem !== null) throw v.rangeError(`The "${name}" argument is not allowed: ${problem}`);
  return copy;
}

/**
 * The class table of the memory pool at `byteOffset`, checked against its header (ERR_BAD_MAGIC
 * and the like for a region that is no memory pool, ERR_CORRUPT when the shape checksum does not
 * match or the two disagree). The checksum alone vouches for the sizes of the classes below the
 * largest; the order and sum checks below are all a pool made before the checksum gets.
 */
function readClasses(buffer, byteOffset) {
  const shape = checkHeader(buffer, byteOffset, C.POOL_KIND_MEMORY);
  const n = shape.classCount;
  const table = new Uint32Array(buffer, byteOffset, CLASSES + C.POOL_MAX_CLASSES * CLASS_WORDS);
  const classes = [];
  for (let i = 0; i < Math.min(n, C.POOL_MAX_CLASSES); i++) {
    classes.push({
      size: Atomics.load(table, CLASSES + i * CLASS_WORDS + W.POOL_CLASS.BLOCK_SIZE),
      count: Atomics.load(table, CLASSES + i * CLASS_WORDS + W.POOL_CLASS.COUNT),
    });
  }
  const problem = n > C.POOL_MAX_CLASSES ? `${n} classes` : shapeProblem(classes);
  if (problem !== null) throw poolError('ERR_CORRUPT', `Memory pool class table: ${problem}`);
  if (totalOf(classes) !== shape.blockCount || classes[n - 1].size !== shape.blockSize) {
    throw poolError('ERR_CORRUPT', `Memory pool header: ${shape.blockCount} blocks of up to ${shape.blockSize} bytes; the class table says otherwise`);
  }
  return classes;
}

class MemoryPool extends PoolHandle {
  #core;
  #u32;
  // Per class: { size, count, first (block index), data (byte offset), stride, cursor }.
  #classes;
  // Per block: its class.
  #classOf;
  #views;

  /** @private Use MemoryPool.create() or MemoryPool.open(). */
  constructor(token, where, classes) {
    super(token, where);
    const buffer = this.buffer;
    if (classes) {
      const table = new Uint32Array(buffer, where.byteOffset, CLASSES + C.POOL_MAX_CLASSES * CLASS_WORDS);
      classes.forEach((c, i) => {
        Atomics.store(table, CLASSES + i * CLASS_WORDS + W.POOL_CLASS.BLOCK_SIZE, c.size);
        Atomics.store(table, CLASSES + i * CLASS_WORDS + W.POOL_CLASS.COUNT, c.count);
      });
      // After the class table: the header's shape checksum covers it.
      stampHeader(buffer, where.byteOffset, C.POOL_KIND_MEMORY, classes[classes.length - 1].size, totalOf(classes), classes.length);
    }
    const read = readClasses(buffer, where.byteOffset);
    this.#layOut(read, where.byteOffset);
    const total = totalOf(read);
    // Last: the owner record is claimed only once nothing else can fail.
    this.#core = this.attach_(bytesFor(read), C.POOL_MEMORY_BLOCKS_OFFSET, total);
    this.#u32 = this.#core.u32;
  }

  #layOut(classes, byteOffset) {
    let first = 0;
    let data = byteOffset + dataOffset(totalOf(classes));
    this.#classes = classes.map((c) => {
      const k = { size: c.size, count: c.count, first, data, stride: strideOf(c.size), cursor: first };
      first += c.count;
      data += c.count * k.stride;
      return k;
    });
    this.#classOf = new Uint8Array(first);
    this.#classes.forEach((k, i) => this.#classOf.fill(i, k.first, k.first + k.count));
    this.#views = new Array(first);
  }

  /**
   * Creates a pool: a new segment (exclusive), or a pool in a SharedArrayBuffer. `classes` is an
   * array of { size, count }, sizes strictly growing.
   */
  static create(options) {
    v.validateObject(options, 'options');
    if (options.classes === undefined) throw v.typeError('The "options.classes" argument is required');
    const classes = validateClasses(options.classes, 'options.classes');
    const where = placeNew(options, ['name', 'path', 'buffer', 'byteOffset', 'size', 'classes'], bytesFor(classes));
    return make(MemoryPool, where, classes);
  }

  /** @private The bytes of the classes create() `options` ask for (their names in messages: the registry's create). */
  static bytesForOptions_(options) {
    return bytesFor(validateClasses(options.classes, 'options.classes'));
  }

  /** The bytes a pool of these classes takes. */
  static bytesFor(classes) {
    return bytesFor(validateClasses(classes, 'classes'));
  }

  /** Classes of sizes minSize, 2 × minSize, ... up to maxSize (powers of two), `count` blocks each. */
  static powersOfTwo(minSize, maxSize, count) {
    v.validateInteger(minSize, 'minSize', 1, C.POOL_MAX_BLOCK_SIZE);
    v.validateInteger(maxSize, 'maxSize', minSize, C.POOL_MAX_BLOCK_SIZE);
    v.validateInteger(count, 'count', 1, C.POOL_MAX_BLOCKS);
    const classes = [];
    for (let size = minSize; size <= maxSize; size *= 2) classes.push({ size, count });
    return validateClasses(classes, 'classes');
  }

  /** The classes: [{ size, count }], smallest first. */
  get classes() {
    return this.#classes.map((k) => ({ size: k.size, count: k.count }));
  }

  /** The largest size allocate() takes. */
  get maxSize() {
    return this.#classes[this.#classes.length - 1].size;
  }

  // The view of `length` bytes of block `index` (the same Uint8Array while the length is the same).
  #viewOf(index, length) {
    let view = this.#views[index];
    if (view === undefined || view.length !== length) {
      const k = this.#classes[this.#classOf[index]];
      view = new Uint8Array(this.buffer, k.data + (index - k.first) * k.stride, length);
      this.#views[index] = view;
    }
    return view;
  }

  // The length the allocate of held block `index` recorded (format.md §17): at most its class's
  // size, which is all its holder ever stores there. A larger one is damage, refused with
  // ERR_CORRUPT: a view of it would reach past the block, into the next one or out of the region.
  #recorded(index, what) {
    const length = Atomics.load(this.#u32, this.#core.lengthWord(index));
    const { size } = this.#classes[this.#classOf[index]];
    if (length > size) throw poolError('ERR_CORRUPT', `${what}: block ${index} records a length of ${length} bytes; its class holds ${size}`);
    return length;
  }

  // The first class whose blocks hold `size` bytes (the caller checked size <= maxSize).
  #classFor(size) {
    let c = 0;
    while (this.#classes[c].size < size) c++;
    return c;
  }

  // One scan of class c, then of each larger class: a handle or 0.
  #scanFrom(c) {
    for (let i = c; i < this.#classes.length; i++) {
      const k = this.#classes[i];
      const handle = this.#core.scan(k.first, k.first + k.count, k.cursor);
      if (handle !== 0) {
        const next = (handle & INDEX) + 1;
        k.cursor = next === k.first + k.count ? k.first : next;
        return handle;
      }
    }
    return 0;
  }

  #validateSize(size) {
    if (typeof size !== 'number') throw v.invalidType('size', 'of type number', size);
    v.validateInteger(size, 'size', 1, this.maxSize);
  }

  // The attempt of one allocate for class c and up: a scan, and the reclaim pass (at most every
  // 50 ms per handle) when it finds nothing. A handle or 0.
  #attemptFor(c) {
    return () => this.#core.withReclaim(() => this.#scanFrom(c));
  }

  // { handle, view } for a handle taken for `size` bytes, or null for 0.
  #got(handle, size) {
    if (handle === 0) return null;
    const index = handle & INDEX;
    // The holder records the length, so that view(handle) anywhere gives the same bytes.
    Atomics.store(this.#u32, this.#core.lengthWord(index), size);
    return { handle, view: this.#viewOf(index, size) };
  }

  /**
   * A block of at least `size` bytes: { handle, view } (the view is exactly `size` bytes, in
   * place), or null when that class and every larger one are exhausted, even after reclaiming
   * the blocks of gone holders.
   */
  tryAllocate(size) {
    this.#core.usable();
    this.#validateSize(size);
    return this.#got(this.#core.withReclaim(() => this.#scanFrom(this.#classFor(size))), size);
  }

  // Waiting (format.md §17, "Waiting"): one wake word, `released`, for every class. A free of
  // any block wakes every waiter, and a waiter whose classes are all still held registers and
  // sleeps again. A word per class would spare those rechecks, but a free of class k would then
  // have to wake the words of classes 0..k (a waiter takes any class that fits), the header has
  // no room for 32 more words on lines of their own (a format change), and a recheck is one scan
  // of the waiter's classes' state words, cheap beside the futex wake that precedes it.

  /**
   * As tryAllocate(), blocking the thread until a block that fits is freed (for worker threads;
   * it blocks the event loop on the main thread). ERR_POOL_EXHAUSTED when none became free within
   * `timeoutMs` (default: wait forever; 0: do not wait). A size no class holds is a RangeError
   * at once.
   */
  allocate(size, timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.#core.usable();
    this.#validateSize(size);
    const got = this.#got(this.#core.block(this.#attemptFor(this.#classFor(size)), timeout), size);
    if (got === null) throw exhausted(`MemoryPool.allocate(${size})`, timeout);
    return got;
  }

  /**
   * Like allocate() without blocking the event loop; options { timeoutMs, signal }. A call that
   * cannot take a block at once waits behind the earlier pending calls of this handle, whatever
   * their sizes, served in call order by one waiting loop (core.js blockAsync()): a later call is
   * not tried while an earlier one finds no fitting block. close() rejects them at once.
   */
  async allocateAsync(size, options) {
    const { timeout, signal } = asyncOptions(options);
    this.#core.usable();
    this.#validateSize(size);
    const handle = await this.#core.blockAsync(this.#attemptFor(this.#classFor(size)), timeout, signal);
    // A close() since the block was taken freed it (it may be another's now): ERR_CLOSED, before
    // the length is recorded.
    this.#core.usable();
    const got = this.#got(handle, size);
    if (got === null) throw exhausted(`MemoryPool.allocateAsync(${size})`, timeout);
    return got;
  }

  /** The bytes of a held handle (of any party), in place: as many as its allocate asked for. */
  view(handle) {
    this.#core.usable();
    this.#core.held(handle, 'view');
    const index = handle & INDEX;
    return this.#viewOf(index, this.#recorded(index, 'view'));
  }

  /** Frees a block (from any handle of any thread or process). */
  free(handle) {
    this.#core.release(handle, 'free');
  }

  /** Makes this handle the holder of a block another party allocated; returns its view. */
  take(handle) {
    // The length is checked before the block changes hands: a take refused changes nothing.
    let length = 0;
    const index = this.#core.take(handle, (i) => { length = this.#recorded(i, 'take'); });
    return this.#viewOf(index, length);
  }

  /**
   * { blockCount, free, held, mine, classes: [{ size, count, free, held, mine }] }: a snapshot of
   * the state words (not one instant).
   */
  stats() {
    this.#core.usable();
    const classes = this.#classes.map((k) => ({ size: k.size, ...this.#core.count(k.first, k.first + k.count) }));
    const sum = (f) => classes.reduce((n, k) => n + k[f], 0);
    return { blockCount: this.#core.blockCount, free: sum('free'), held: sum('held'), mine: sum('mine'), classes };
  }
}

module.exports = { MemoryPool, readClasses };
