'use strict';
// BufferPool: `blockCount` fixed-size blocks in a segment or a SharedArrayBuffer (docs/format.md
// §17), for payloads handed between threads and processes without a copy: a party acquires a
// block, fills it in place and passes its handle (a u32) through a queue; the receiver reads the
// block in place and releases it. Each block's state word names its holder's owner record (§6),
// so the blocks of a holder that is gone (a killed process, a terminated worker) are found and
// reclaimed by anyone. No free list: acquire scans the state words from where this handle last
// found one, and one CAS takes a block; there is no window in which a block is neither free nor
// recorded as held, so a crash at any instant leaks nothing.
const { threadId } = require('worker_threads');
const { C, W } = require('../layout/layout');
const v = require('../base/validate');
const { OwnerTable, identityOf, GONE } = require('../ownership/owners');
const { place } = require('../msg/region');
// The msg room's error helper: a ShmError with the stable code and its numeric status.
const { msgError: poolError } = require('../msg/errors');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const HDR = C.POOL_HEADER_OFFSET / WORD;
const MAGIC = HDR + W.POOL_HEADER.MAGIC;
const KIND = HDR + W.POOL_HEADER.KIND;
const VERSION = HDR + W.POOL_HEADER.VERSION;
const BLOCK_SIZE = HDR + W.POOL_HEADER.BLOCK_SIZE;
const BLOCK_COUNT = HDR + W.POOL_HEADER.BLOCK_COUNT;
const OWNERS = C.POOL_OWNERS_OFFSET / WORD;
const RECORDS = C.POOL_BLOCKS_OFFSET / WORD;
const RECORD_WORDS = W.POOL_BLOCK.WORDS;
const STATE = W.POOL_BLOCK.STATE;
const HOLDER = C.POOL_HOLDER_MASK;
const GEN_SHIFT = C.POOL_GEN_SHIFT;
const INDEX = C.POOL_INDEX_MASK;
const ALIGN = C.POOL_BLOCK_ALIGN;
const CREATE_KEYS = ['name', 'path', 'buffer', 'byteOffset', 'size', 'blockSize', 'blockCount'];
const OPEN_KEYS = ['name', 'path', 'buffer', 'byteOffset'];
const kInternal = Symbol('shmstore.BufferPool.internal');
// An exhausted acquire runs the reclaim pass, which may read /proc for each holder of another
// process: at most once per this many ms per handle, so that a party spinning on tryAcquire()
// while the others hold every block does not turn into a stream of /proc reads.
const AUTO_RECLAIM_MS = 50;

const strideOf = (blockSize) => Math.ceil(blockSize / ALIGN) * ALIGN;
const dataOffset = (blockCount) => C.POOL_BLOCKS_OFFSET + blockCount * ALIGN;
const bytesFor = (blockCount, blockSize) => dataOffset(blockCount) + blockCount * strideOf(blockSize);
// The generation after `gen`: 1..POOL_GEN_MAX, wrapping to 1 (0 is "never acquired").
const nextGen = (gen) => (gen >= C.POOL_GEN_MAX ? 1 : gen + 1);
const stateOf = (gen, holder) => ((gen << GEN_SHIFT) | holder) >>> 0;
// State `s` with its holder replaced (0: freed; the generation stays).
const withHolder = (s, holder) => ((s & ~HOLDER) | holder) >>> 0;

const sameRecord = (a, b) => a.pid === b.pid && a.tid === b.tid && a.startTime === b.startTime &&
  a.bootId === b.bootId && a.state === b.state;

function validateShape(blockCount, blockSize) {
  v.validateInteger(blockCount, 'options.blockCount', 1, C.POOL_MAX_BLOCKS);
  v.validateInteger(blockSize, 'options.blockSize', 1, C.POOL_MAX_BLOCK_SIZE);
}

class BufferPool {
  #segment;
  #buffer;
  #byteOffset;
  #u32;
  #owners;
  #self;
  #slot = 0;
  #token = 0;
  #cursor = 0;
  #views;
  #data;
  #stride;
  #closed = false;
  #lastReclaim = -Infinity;
  blockSize;
  blockCount;

  /** @private Use BufferPool.create() or BufferPool.open(). */
  constructor(token, where, shape) {
    if (token !== kInternal) throw new TypeError('BufferPool cannot be constructed directly: use BufferPool.create() or BufferPool.open()');
    this.#segment = where.segment;
    this.#buffer = where.segment ? where.segment.buffer : where.buffer;
    this.#byteOffset = where.byteOffset;
    try {
      const head = new Uint32Array(this.#buffer, where.byteOffset, W.POOL_HEADER.WORDS);
      if (shape) {
        Atomics.store(head, KIND, C.POOL_KIND_BUFFER);
        Atomics.store(head, VERSION, C.POOL_FORMAT_VERSION);
        Atomics.store(head, BLOCK_SIZE, shape.blockSize);
        Atomics.store(head, BLOCK_COUNT, shape.blockCount);
        Atomics.store(head, MAGIC, C.POOL_MAGIC);
      }
      if (Atomics.load(head, MAGIC) !== C.POOL_MAGIC) throw poolError('ERR_BAD_MAGIC', 'Not a pool (bad magic: not created yet?)');
      if (Atomics.load(head, KIND) !== C.POOL_KIND_BUFFER) {
        throw poolError('ERR_BAD_MAGIC', `The pool is of kind ${Atomics.load(head, KIND)}, not a buffer pool`);
      }
      const version = Atomics.load(head, VERSION);
      if (version !== C.POOL_FORMAT_VERSION) throw poolError('ERR_BAD_VERSION', `Pool version ${version}, expected ${C.POOL_FORMAT_VERSION}`);
      const blockSize = Atomics.load(head, BLOCK_SIZE);
      const blockCount = Atomics.load(head, BLOCK_COUNT);
      if (blockCount < 1 || blockCount > C.POOL_MAX_BLOCKS || blockSize < 1 || blockSize > C.POOL_MAX_BLOCK_SIZE) {
        throw poolError('ERR_CORRUPT', `Pool header: ${blockCount} blocks of ${blockSize} bytes`);
      }
      const bytes = bytesFor(blockCount, blockSize);
      if (where.byteOffset + bytes > this.#buffer.byteLength) {
        throw poolError('ERR_BAD_SIZE', `The pool needs ${bytes} bytes at ${where.byteOffset}; the memory holds ${this.#buffer.byteLength}`);
      }
      this.blockSize = blockSize;
      this.blockCount = blockCount;
      this.#stride = strideOf(blockSize);
      this.#data = where.byteOffset + dataOffset(blockCount);
      this.#views = new Array(blockCount);
      this.#u32 = new Uint32Array(this.#buffer, where.byteOffset, dataOffset(blockCount) / WORD);
      this.#owners = new OwnerTable(this.#u32, OWNERS, C.POOL_OWNER_SLOTS);
      this.#self = identityOf(process.pid, threadId);
      this.#claim();
    } catch (e) {
      if (this.#segment) this.#segment.close();
      throw e;
    }
  }

  // Takes an owner record for this handle: a free one, or (all taken) one whose owner is gone,
  // after giving back that owner's blocks. Blocks still naming the record just taken were a
  // previous owner's (this handle holds none yet): they are freed before anything is acquired.
  #claim() {
    let slot = this.#owners.claim(this.#self);
    if (slot === 0) {
      this.reclaim();
      slot = this.#owners.adopt(this.#self);
      if (slot === 0) throw poolError('ERR_TOO_MANY_HANDLES', `All ${C.POOL_OWNER_SLOTS - 1} owner slots of the pool are in use`);
    }
    this.#slot = slot;
    this.#freeHeldBy(slot);
    this.#token = this.#owners.watch(slot, this.#self);
  }

  #stateWord(index) {
    return RECORDS + index * RECORD_WORDS + STATE;
  }

  // Frees every block whose holder is owner record `slot`; returns how many.
  #freeHeldBy(slot) {
    let n = 0;
    for (let i = 0; i < this.blockCount; i++) {
      const w = this.#stateWord(i);
      const s = Atomics.load(this.#u32, w);
      if ((s & HOLDER) === slot && Atomics.compareExchange(this.#u32, w, s, withHolder(s, 0)) === s) n++;
    }
    return n;
  }

  /** Creates a pool: a new segment (exclusive), or a pool in a SharedArrayBuffer. */
  static create(options) {
    v.validateObject(options, 'options');
    if (options.blockSize === undefined) throw v.typeError('The "options.blockSize" argument is required');
    if (options.blockCount === undefined) throw v.typeError('The "options.blockCount" argument is required');
    validateShape(options.blockCount, options.blockSize);
    const bytes = bytesFor(options.blockCount, options.blockSize);
    const where = place(options, { create: true, keys: CREATE_KEYS, bytes });
    if (where.buffer) new Uint8Array(where.buffer, where.byteOffset, bytes).fill(0);
    return new BufferPool(kInternal, where, { blockSize: options.blockSize, blockCount: options.blockCount });
  }

  /** Opens an existing pool (the header gives its shape). */
  static open(options) {
    v.validateObject(options, 'options');
    return new BufferPool(kInternal, place(options, { create: false, keys: OPEN_KEYS, bytes: null }), null);
  }

  /** The bytes a pool of `blockCount` blocks of `blockSize` bytes takes. */
  static bytesFor(blockCount, blockSize) {
    validateShape(blockCount, blockSize);
    return bytesFor(blockCount, blockSize);
  }

  get buffer() {
    return this.#buffer;
  }

  get byteOffset() {
    return this.#byteOffset;
  }

  get closed() {
    return this.#closed;
  }

  #usable() {
    if (this.#closed) throw poolError('ERR_CLOSED', 'The pool is closed');
  }

  #viewOf(index) {
    let view = this.#views[index];
    if (view === undefined) {
      view = new Uint8Array(this.#buffer, this.#data + index * this.#stride, this.blockSize);
      this.#views[index] = view;
    }
    return view;
  }

  // One scan over every block from the cursor: the handle of the block taken, or 0.
  #scan() {
    const u32 = this.#u32;
    const n = this.blockCount;
    let i = this.#cursor;
    for (let k = 0; k < n; k++, i = i + 1 === n ? 0 : i + 1) {
      const w = this.#stateWord(i);
      const s = Atomics.load(u32, w);
      if ((s & HOLDER) !== 0) continue;
      const gen = nextGen(s >>> GEN_SHIFT);
      if (Atomics.compareExchange(u32, w, s, stateOf(gen, this.#slot)) === s) {
        this.#cursor = i + 1 === n ? 0 : i + 1;
        return stateOf(gen, i);
      }
    }
    return 0;
  }

  /**
   * Takes a free block: { handle, view } (the view is the block in place), or null if none is
   * free, even after reclaiming the blocks of gone holders (done at most every AUTO_RECLAIM_MS).
   */
  tryAcquire() {
    this.#usable();
    let handle = this.#scan();
    if (handle === 0) {
      const now = performance.now();
      if (now - this.#lastReclaim >= AUTO_RECLAIM_MS) {
        this.#lastReclaim = now;
        if (this.reclaim() > 0) handle = this.#scan();
      }
    }
    return handle === 0 ? null : { handle, view: this.#viewOf(handle & INDEX) };
  }

  /** As tryAcquire(), but throws ERR_POOL_EXHAUSTED when no block is free. */
  acquire() {
    const got = this.tryAcquire();
    if (got === null) throw poolError('ERR_POOL_EXHAUSTED', `All ${this.blockCount} blocks of the pool are held`);
    return got;
  }

  // The block index and state word of `handle` if it names a block held now; throws otherwise.
  #held(handle, what) {
    if (typeof handle !== 'number') throw v.invalidType('handle', 'of type number', handle);
    if (!Number.isInteger(handle) || handle <= 0 || handle > 0xffffffff) {
      throw poolError('ERR_BAD_HANDLE', `${what}: ${v.describe(handle)} is not a pool handle`);
    }
    const index = handle & INDEX;
    if (index >= this.blockCount) {
      throw poolError('ERR_BAD_HANDLE', `${what}: handle ${handle} names block ${index}; the pool has ${this.blockCount}`);
    }
    const s = Atomics.load(this.#u32, this.#stateWord(index));
    if ((s & HOLDER) === 0 || s >>> GEN_SHIFT !== handle >>> GEN_SHIFT) {
      throw poolError('ERR_BAD_HANDLE', `${what}: handle ${handle} does not name a held block (released already, reclaimed, or not of this pool)`);
    }
    return { index, s };
  }

  /** The block of a held handle, in place (the same Uint8Array each time). */
  view(handle) {
    this.#usable();
    return this.#viewOf(this.#held(handle, 'view').index);
  }

  // Moves a held block to holder `holder` (0 frees it): retries while other holders change hands.
  #move(handle, holder, what) {
    this.#usable();
    for (;;) {
      const { index, s } = this.#held(handle, what);
      const w = this.#stateWord(index);
      if (Atomics.compareExchange(this.#u32, w, s, withHolder(s, holder)) === s) return index;
    }
  }

  /** Gives a block back to the pool (from any handle of any thread or process). */
  release(handle) {
    this.#move(handle, 0, 'release');
  }

  /**
   * Makes this handle the holder of a block another party acquired (a receiver taking over a
   * handed-off block): if this handle's owner dies, the block is reclaimed. Returns its view.
   */
  take(handle) {
    return this.#viewOf(this.#move(handle, this.#slot, 'take'));
  }

  /** Frees the blocks whose holder is gone (the gone rule of §6); returns how many. */
  reclaim() {
    this.#usable();
    // A verdict is judged after reading a block's state and reused for later blocks only while
    // the record still reads the same: a record taken over since (a new owner that may hold
    // blocks now) is judged again, so no block of a live holder is ever freed.
    const verdicts = new Map();
    let n = 0;
    for (let i = 0; i < this.blockCount; i++) {
      const w = this.#stateWord(i);
      const s = Atomics.load(this.#u32, w);
      const holder = s & HOLDER;
      if (holder === 0 || holder === this.#slot) continue;
      let gone = true; // a holder no owner record can be (a damaged word) holds nothing anyone can release
      if (holder < C.POOL_OWNER_SLOTS) {
        const record = this.#owners.read(holder);
        let v = verdicts.get(holder);
        if (v === undefined || !sameRecord(v.record, record)) {
          v = { record, gone: this.#owners.status(holder, this.#self) === GONE };
          verdicts.set(holder, v);
        }
        gone = v.gone;
      }
      if (gone && Atomics.compareExchange(this.#u32, w, s, withHolder(s, 0)) === s) n++;
    }
    return n;
  }

  /** { blockCount, free, held, mine }: a snapshot of the state words (not one instant). */
  stats() {
    this.#usable();
    let held = 0;
    let mine = 0;
    for (let i = 0; i < this.blockCount; i++) {
      const holder = Atomics.load(this.#u32, this.#stateWord(i)) & HOLDER;
      if (holder !== 0) held++;
      if (holder === this.#slot) mine++;
    }
    return { blockCount: this.blockCount, free: this.blockCount - held, held, mine };
  }

  /** Frees the blocks this handle holds, gives up its owner record and closes its segment. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#freeHeldBy(this.#slot);
    this.#owners.unwatch(this.#token);
    this.#owners.release(this.#slot);
    if (this.#segment) this.#segment.close();
  }
}

if (typeof Symbol.dispose === 'symbol') BufferPool.prototype[Symbol.dispose] = BufferPool.prototype.close;

module.exports = { BufferPool };
