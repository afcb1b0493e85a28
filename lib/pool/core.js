'use strict';
// The block protocol every pool kind shares (docs/format.md §17): an owner table of §6 records,
// one state word per block (its holder's owner record and a generation, moved by one CAS), the
// reclaim pass that frees the blocks of holders that are gone, and waiting for a free block (the
// Promise-form waits of a handle in call order, with one waiting loop: the segment room's AsyncFifo).
// A kind gives the geometry (where the block records start, how many there are) and, for each
// acquire, the range of blocks it may take; the views of the blocks are the kind's business.
//
// No free list: acquire scans the state words of its range, and one CAS takes a block; there is
// no window in which a block is neither free nor recorded as held, so a crash at any instant
// leaks nothing.
const { threadId } = require('worker_threads');
const { C, S, W } = require('../layout/layout');
const v = require('../base/validate');
const { xxh32 } = require('../base/xxhash');
const { OwnerTable, identityOf, sameRecord, GONE } = require('../ownership/owners');
const { Spinner, spinFor, park, parkAsync, wakeAll, timeoutOf, asyncOptions } = require('../msg/park');
const { AsyncFifo } = require('../segment/async-fifo');

// The msg room's error helper: a ShmError with the stable code and its numeric status.
const { msgError: poolError } = require('../msg/errors');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const HDR = C.POOL_HEADER_OFFSET / WORD;
const WAITERS = HDR + W.POOL_HEADER.WAITERS;
const RELEASED = HDR + W.POOL_HEADER.RELEASED;
const WANTED = HDR + W.POOL_HEADER.WANTED;
const FREED = HDR + W.POOL_HEADER.FREED;
const OWNERS = C.POOL_OWNERS_OFFSET / WORD;
const RECORD_WORDS = W.POOL_BLOCK.WORDS;
const STATE = W.POOL_BLOCK.STATE;
const LENGTH = W.POOL_BLOCK.LENGTH;
const HOLDER = C.POOL_HOLDER_MASK;
const GEN_SHIFT = C.POOL_GEN_SHIFT;
const INDEX = C.POOL_INDEX_MASK;
const RECHECK_MS = C.POOL_RECHECK_MS;
const BATCH_WAIT_MS = C.POOL_BATCH_WAIT_MS;
// How long a blocked acquire polls before it sleeps (ms), at most and at least (msg/park.js's
// Spinner: halved after a poll that ended in a sleep, down to none, then probing at the floor;
// doubled after one that got a block). Not the queues' few microseconds: the party that frees the
// block a producer waits for is often a consumer that was itself just woken, and a wake-up takes
// 10 to 90 µs on a busy VM. A poll shorter than that cannot bridge it: the producer sleeps while
// its consumer wakes, the consumer runs dry while the producer wakes, and the two may go on waking
// each other twice per window of blocks. Measured with the two processes of a 1 MiB hand-off on a
// core each of a busy 2-core VM: 0.005 to 0.019 futex waits per hand-off of the producer with a
// 5 µs poll, 0.000 to 0.001 with this one. The floor is a quarter of the maximum so that a probe
// can still outlast a short wake-up. When both sides share one core, polling only keeps it from
// the releaser: every poll is lost and the budget falls to nothing within three waits.
const SPIN_MAX_MS = 0.1;
const SPIN_MIN_MS = SPIN_MAX_MS / 4;
// An exhausted acquire runs the reclaim pass, which may read /proc for each holder of another
// process: at most once per this many ms per handle, so that a party spinning on tryAcquire()
// while the others hold every block does not turn into a stream of /proc reads.
const AUTO_RECLAIM_MS = 50;

// The generation after `gen`: 1..POOL_GEN_MAX, wrapping to 1 (0 is "never acquired").
const nextGen = (gen) => (gen >= C.POOL_GEN_MAX ? 1 : gen + 1);
const stateOf = (gen, holder) => ((gen << GEN_SHIFT) | holder) >>> 0;
// State `s` with its holder replaced (0: freed; the generation stays).
const withHolder = (s, holder) => ((s & ~HOLDER) | holder) >>> 0;

class PoolCore {
  u32;
  #i32;
  #records;
  #owners;
  #self;
  #token = 0;
  #lastReclaim = -Infinity;
  #spinner = new Spinner(SPIN_MAX_MS, SPIN_MIN_MS); // how long this handle polls before it parks
  #pending; // this handle's pending Promise-form waits, in call order, with one waiting loop
  slot = 0;
  blockCount;
  closed = false;

  /**
   * `u32` spans the region from its header to the end of the block records, which start at byte
   * `recordsOffset` of the region; `blockCount` block records in all.
   */
  constructor(u32, recordsOffset, blockCount) {
    this.u32 = u32;
    this.#i32 = new Int32Array(u32.buffer, u32.byteOffset, u32.length);
    this.#records = recordsOffset / WORD;
    this.blockCount = blockCount;
    this.#owners = new OwnerTable(u32, OWNERS, C.POOL_OWNER_SLOTS);
    this.#self = identityOf(process.pid, threadId);
    this.#pending = new AsyncFifo(0, this.#loopWait());
  }

  // Takes an owner record for this handle: a free one, or (all taken) one whose owner is gone,
  // after giving back that owner's blocks. Blocks still naming the record just taken were a
  // previous owner's (this handle holds none yet): they are freed before anything is acquired.
  // A free record whose actor word a reclaim pass holds is left alone (see reclaim()).
  claim() {
    let slot = this.#owners.claim(this.#self, { yieldToActor: true });
    if (slot === 0) {
      this.reclaim();
      slot = this.#owners.adopt(this.#self, { yieldToActor: true });
      if (slot === 0) throw poolError('ERR_TOO_MANY_HANDLES', `All ${C.POOL_OWNER_SLOTS - 1} owner slots of the pool are in use`);
    }
    this.slot = slot;
    // Watched before anything else runs: a thread terminated from then on leaves its record
    // marked dead by the addon, never a live-looking record that nobody releases.
    try {
      this.#token = this.#owners.watch(slot, this.#self);
      this.#freeHeldBy(slot);
    } catch (e) {
      this.#owners.leave(this.slot, this.#token);
      throw e;
    }
  }

  stateWord(index) {
    return this.#records + index * RECORD_WORDS + STATE;
  }

  /** The length word of block `index` (written by a memory pool's allocate; 0 in other kinds). */
  lengthWord(index) {
    return this.#records + index * RECORD_WORDS + LENGTH;
  }

  usable() {
    if (this.closed) throw poolError('ERR_CLOSED', 'The pool is closed');
  }

  // Frees every block whose holder is owner record `slot`; returns how many.
  #freeHeldBy(slot) {
    let n = 0;
    for (let i = 0; i < this.blockCount; i++) {
      const w = this.stateWord(i);
      const s = Atomics.load(this.u32, w);
      if ((s & HOLDER) === slot && Atomics.compareExchange(this.u32, w, s, withHolder(s, 0)) === s) n++;
    }
    if (n > 0) this.#wake(n);
    return n;
  }

  // After `n` blocks were freed: wakes the parties waiting for a free block, if any registered and
  // as many frees as they asked for were counted since (format.md §17, "Waiting"). With no waiter
  // a free writes nothing here: the state word was its one write.
  #wake(n) {
    const u32 = this.u32;
    if (Atomics.load(u32, WAITERS) === 0) return;
    if (Atomics.add(u32, FREED, n) + n < Atomics.load(u32, WANTED)) return;
    this.#wakeUp();
  }

  // The wake-up: takes every registration back (`waiters` to 0) and, if there was one, wakes
  // every sleeper. A party may do it at any time, a free or none: every sleeper then looks again
  // and registers again if it still finds nothing, as after any wake-up.
  #wakeUp() {
    const u32 = this.u32;
    if (Atomics.exchange(u32, WAITERS, 0) !== 0) {
      // Reset before `released` moves: a party that registers after that move counts from 0.
      Atomics.store(u32, WANTED, 0);
      Atomics.store(u32, FREED, 0);
      Atomics.add(u32, RELEASED, 1);
      wakeAll(this.#i32, RELEASED);
    }
  }

  // Registers a sleeper that asks to be woken after `batch` frees: `wanted` becomes the smallest
  // batch any registered sleeper asked for (0: none asked, the first free wakes).
  #register(batch) {
    const u32 = this.u32;
    Atomics.add(u32, WAITERS, 1);
    for (;;) {
      const w = Atomics.load(u32, WANTED);
      if ((w !== 0 && w <= batch) || Atomics.compareExchange(u32, WANTED, w, batch) === w) return;
    }
  }

  /**
   * One scan of blocks [lo, hi) starting at `from`: the handle of the block taken (never 0), or
   * 0 when every one is held.
   */
  scan(lo, hi, from) {
    const u32 = this.u32;
    let i = from;
    for (let k = lo; k < hi; k++, i = i + 1 === hi ? lo : i + 1) {
      const w = this.stateWord(i);
      const s = Atomics.load(u32, w);
      if ((s & HOLDER) !== 0) continue;
      const gen = nextGen(s >>> GEN_SHIFT);
      if (Atomics.compareExchange(u32, w, s, stateOf(gen, this.slot)) === s) return stateOf(gen, i);
    }
    return 0;
  }

  /**
   * attempt() once more after the reclaim pass, if it found nothing and the pass is due (at most
   * every AUTO_RECLAIM_MS) and freed a block. attempt() returns a handle or 0.
   */
  withReclaim(attempt) {
    const handle = attempt();
    if (handle !== 0) return handle;
    const now = performance.now();
    if (now - this.#lastReclaim < AUTO_RECLAIM_MS) return 0;
    this.#lastReclaim = now;
    return this.reclaim() > 0 ? attempt() : 0;
  }

  // Waiting for a free block (format.md §17, "Waiting"): read `released`, register in `waiters`
  // (and the batch asked for in `wanted`), try, sleep while `released` is unchanged. Reading
  // `released` before registering is what makes a wake-up impossible to lose: a releaser that
  // misses this registration (another releaser took the count back to 0 first) follows one that
  // bumped `released` after it was read here. A sleep lasts at most RECHECK_MS, after which the
  // attempt (and its reclaim pass, which frees the blocks of holders that died) runs again; a
  // sleep that asked for a batch of more than one free lasts at most BATCH_WAIT_MS, and the
  // sleeps after one that ended so ask for one. After a sleep the attempt runs once before the
  // next registration.

  /**
   * Runs attempt() (a handle or 0) until it gets a handle or `timeout` ms pass: the handle or 0.
   * A sleep asks to be woken after `batch` frees (1: the first).
   */
  block(attempt, timeout, batch = 1) {
    const first = attempt();
    if (first !== 0 || timeout <= 0) return first;
    const deadline = performance.now() + timeout;
    // A block released within the polling budget is taken without a system call on either side.
    const spun = spinFor(attempt, 0, this.#spinner, timeout);
    if (spun !== 0) return spun;
    const u32 = this.u32;
    let ask = batch;
    for (;;) {
      const seen = Atomics.load(u32, RELEASED);
      this.#register(ask);
      const h = attempt();
      if (h !== 0) return h;
      const left = deadline - performance.now();
      if (left <= 0) return 0;
      const ms = Math.min(left, ask > 1 ? BATCH_WAIT_MS : RECHECK_MS);
      park(this.#i32, RELEASED, seen, ms);
      // Not woken (the sleep ran out, or ended early): from now on the first free wakes.
      if (Atomics.load(u32, RELEASED) === seen) ask = 1;
      this.usable();
      // Try before registering again: a waiter woken with its batch free takes a block without
      // leaving a registration behind, which would cost a later free a futex wake for nobody.
      const woken = attempt();
      if (woken !== 0) return woken;
    }
  }

  /**
   * Like block() without blocking the event loop, in call order with this handle's other pending
   * calls (segment/async-fifo.js): resolves with the handle attempt() got, or 0 once `timeout` ms
   * passed; rejects with what attempt() throws, signal.reason when it aborts, or ERR_CLOSED when
   * the handle closes first. A block free now, with no call pending, is taken at once without
   * registering: a registration that nobody sleeps on makes the next free pay a futex wake, once
   * per hand-off for a producer on the event loop.
   */
  blockAsync(attempt, timeout, signal) {
    return this.#pending.run(attempt, timeout, signal);
  }

  // The wait of this handle's one waiting loop (AsyncFifo), for every pending blockAsync() call:
  // the protocol of block() with a batch of 1 (the first free wakes it) and no polling. prepare()
  // reads `released` and registers; the loop serves the calls head first; park() sleeps on
  // `released` as read, at most RECHECK_MS, after which the head's attempt (and its reclaim pass)
  // runs again. After a wake-up the loop serves before it registers again (lookAfterWake): a
  // wake-up that brought the head its block leaves no registration behind. One registration and
  // one futex wait for all the pending calls of the handle, where each call had its own (a
  // watcher thread of the addon each, as a watcher holds one wait per word). A loop that stops
  // has no wake-up to pass on: a wake-up wakes every sleeper of the pool, not one.
  #loopWait() {
    const u32 = this.u32;
    const i32 = this.#i32;
    return {
      lookAfterWake: true,
      prepare: () => {
        const seen = Atomics.load(u32, RELEASED);
        this.#register(1);
        return seen;
      },
      park: async (seen) => {
        await parkAsync(i32, RELEASED, seen, RECHECK_MS);
        this.usable();
      },
      // The last pending call left (timed out, aborted, rejected by close()) while the loop
      // sleeps: the wake-up ends its sleep now, and takes its registration back, so that no futex
      // wait keeps the event loop alive (or a worker from exiting) until the recheck and no later
      // free pays a futex wake for it. The registration cannot be taken back alone (`waiters`
      // does not say whose it holds, and a free may have taken it already); the other sleepers
      // wake too, and register again. A count a free took back already has its wake-up on the
      // way. close() calls this (through failAll) before its segment is released.
      unpark: () => this.#wakeUp(),
    };
  }

  // The state of the block of `handle` (index: handle & INDEX) if the handle names a block held
  // now; throws otherwise.
  held(handle, what) {
    if (typeof handle !== 'number') throw v.invalidType('handle', 'of type number', handle);
    if (!Number.isInteger(handle) || handle <= 0 || handle > 0xffffffff) {
      throw poolError('ERR_BAD_HANDLE', `${what}: ${v.describe(handle)} is not a pool handle`);
    }
    const index = handle & INDEX;
    if (index >= this.blockCount) {
      throw poolError('ERR_BAD_HANDLE', `${what}: handle ${handle} names block ${index}; the pool has ${this.blockCount}`);
    }
    const s = Atomics.load(this.u32, this.stateWord(index));
    if ((s & HOLDER) === 0 || s >>> GEN_SHIFT !== handle >>> GEN_SHIFT) {
      throw poolError('ERR_BAD_HANDLE', `${what}: handle ${handle} does not name a held block (released already, reclaimed, or not of this pool)`);
    }
    return s;
  }

  // Moves a held block to holder `holder` (0 frees it): retries while other holders change
  // hands. Returns the block index.
  // `check(index)`, when given, runs on the held block before each CAS and may throw to refuse.
  #move(handle, holder, what, check) {
    this.usable();
    for (;;) {
      const s = this.held(handle, what);
      const index = handle & INDEX;
      if (check !== undefined) check(index);
      if (Atomics.compareExchange(this.u32, this.stateWord(index), s, withHolder(s, holder)) === s) return index;
    }
  }

  /** Frees a held block (any handle may); wakes the waiters. Returns the block index. */
  release(handle, what = 'release') {
    const index = this.#move(handle, 0, what);
    this.#wake(1);
    return index;
  }

  /**
   * Makes this handle the holder of a held block; returns the block index. `check(index)`, if
   * given, may refuse the block (throw) before it changes hands.
   */
  take(handle, check) {
    return this.#move(handle, this.slot, 'take', check);
  }

  /** Frees the blocks whose holder is gone (the gone rule of §6); returns how many. */
  reclaim() {
    this.usable();
    // Verdicts on each holder's record, reused for later blocks only while the record still reads
    // the same (a record taken over since, by a new owner that may hold blocks by now, is judged
    // again), so no block of a live holder is ever freed. The verdict is on that reading, not on
    // the record read again: a holder that frees its blocks and closes meanwhile leaves a released
    // record, which reads as gone, and a new handle of its thread writes the very record of the
    // reading again.
    const verdicts = new Map();
    let n = 0;
    for (let i = 0; i < this.blockCount; i++) {
      const w = this.stateWord(i);
      const s = Atomics.load(this.u32, w);
      const holder = s & HOLDER;
      if (holder === 0 || holder === this.slot) continue;
      if (holder >= C.POOL_OWNER_SLOTS) {
        // A damaged word: no owner record holds the block, and nobody can release it.
        if (Atomics.compareExchange(this.u32, w, s, withHolder(s, 0)) === s) n++;
        continue;
      }
      // Judged first without the actor word, so that live holders' records are only read.
      if (this.#gone(verdicts, holder) && this.#freeIfGone(verdicts, w, holder)) n++;
    }
    if (n > 0) this.#wake(n);
    return n;
  }

  // Frees the block of state word `w` if it names `holder` and holder's record is gone, both read
  // holding the record's actor word (format.md §17, "Reclaim pass"). Meanwhile no new owner can
  // take the record (a pool's claimers yield to its actor) or adopt it, and its owner's close
  // frees its blocks before it releases the record: a state naming `holder` read now is the
  // judged owner's, and the CAS from it fails if that block changed hands since. (Read before the
  // actor word, it could be a block another party held then and a new owner of the record took
  // since: take() keeps the generation, so the state would read as it did.)
  #freeIfGone(verdicts, w, holder) {
    if (!this.#owners.takeActor(holder, this.#self)) return false; // another acts on it: a later pass
    try {
      const s = Atomics.load(this.u32, w);
      if ((s & HOLDER) !== holder || !this.#gone(verdicts, holder)) return false;
      return Atomics.compareExchange(this.u32, w, s, withHolder(s, 0)) === s;
    } finally {
      this.#owners.dropActor(holder);
    }
  }

  // Whether the owner of record `holder`, read now, is gone: the verdict on an earlier reading of
  // the same fields, else one made now.
  #gone(verdicts, holder) {
    const record = this.#owners.read(holder);
    let verdict = verdicts.get(holder);
    if (verdict === undefined || !sameRecord(verdict.record, record)) {
      verdict = { record, gone: this.#owners.status(holder, this.#self, record) === GONE };
      verdicts.set(holder, verdict);
    }
    return verdict.gone;
  }

  /** { count, free, held, mine } over blocks [lo, hi): a snapshot of the state words (not one instant). */
  count(lo, hi) {
    let held = 0;
    let mine = 0;
    for (let i = lo; i < hi; i++) {
      const holder = Atomics.load(this.u32, this.stateWord(i)) & HOLDER;
      if (holder !== 0) held++;
      if (holder === this.slot) mine++;
    }
    return { count: hi - lo, free: hi - lo - held, held, mine };
  }

  /**
   * Frees this handle's blocks, gives up its owner record and rejects its pending Promise-form
   * calls with ERR_CLOSED. Idempotent.
   */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.#freeHeldBy(this.slot);
    this.#owners.leave(this.slot, this.#token);
    // The pending Promise-form calls reject now, not at their loop's next look (up to a recheck
    // period later), and the loop's registration goes while the region is still mapped.
    this.#pending.failAll(() => poolError('ERR_CLOSED', 'The pool is closed'));
  }
}

const MAGIC = HDR + W.POOL_HEADER.MAGIC;
const KIND = HDR + W.POOL_HEADER.KIND;
const VERSION = HDR + W.POOL_HEADER.VERSION;
const BLOCK_SIZE = HDR + W.POOL_HEADER.BLOCK_SIZE;
const BLOCK_COUNT = HDR + W.POOL_HEADER.BLOCK_COUNT;
const CLASS_COUNT = HDR + W.POOL_HEADER.CLASS_COUNT;
const CHECKSUM = HDR + W.POOL_HEADER.CHECKSUM;
const SEAL = HDR + W.POOL_HEADER.SEAL;
const KIND_NAMES = { [C.POOL_KIND_BUFFER]: 'a buffer pool', [C.POOL_KIND_OBJECT]: 'an object pool', [C.POOL_KIND_MEMORY]: 'a memory pool' };
const HB = S.POOL_HEADER;
const TABLE_BYTES = C.POOL_MAX_CLASSES * S.POOL_CLASS.SIZE;
const hex = (x) => `0x${x.toString(16).padStart(8, '0')}`;

// The bytes from a region's start that its header and shape checksum span: the header, and in
// kind 3 the class table too.
const shapeSpan = (kind) => (kind === C.POOL_KIND_MEMORY ? C.POOL_CLASSES_OFFSET + TABLE_BYTES : C.POOL_HEADER_OFFSET + HB.SIZE);

// The shape checksum of the pool of `kind` at `byteOffset` (format.md §17, "The shape checksum"):
// XXH32, seed 0, of header bytes `kind` to `blockCount` and `classCount`, then in kind 3 the
// whole class table, its unused slots included. These are written once, by the creator, before
// the magic; the magic itself (checked on its own, stamped after this) and the words the block
// protocol moves (`waiters`, `released`, `wanted`, `freed`) are left out. The blocks' places
// follow from these bytes alone, so a pool whose checksum holds lays them out as its creator did.
function shapeChecksum(buffer, byteOffset, kind) {
  const region = new Uint8Array(buffer, byteOffset, shapeSpan(kind));
  const head = region.subarray(C.POOL_HEADER_OFFSET + HB.KIND, C.POOL_HEADER_OFFSET + HB.WAITERS);
  const count = region.subarray(C.POOL_HEADER_OFFSET + HB.CLASS_COUNT, C.POOL_HEADER_OFFSET + HB.CLASS_COUNT + WORD);
  const table = kind === C.POOL_KIND_MEMORY ? region.subarray(C.POOL_CLASSES_OFFSET) : region.subarray(0, 0);
  const image = new Uint8Array(head.length + count.length + table.length);
  image.set(head);
  image.set(count, head.length);
  image.set(table, head.length + count.length);
  return xxh32(image, 0, image.length, 0) >>> 0;
}

/**
 * Stamps the header of a pool being created (zero-filled; in kind 3 its class table written
 * already): every field, the shape checksum, the seal that says it is set, then the magic.
 */
function stampHeader(buffer, byteOffset, kind, blockSize, blockCount, classCount) {
  const head = new Uint32Array(buffer, byteOffset, W.POOL_HEADER.WORDS);
  Atomics.store(head, KIND, kind);
  Atomics.store(head, VERSION, C.POOL_FORMAT_VERSION);
  Atomics.store(head, BLOCK_SIZE, blockSize);
  Atomics.store(head, BLOCK_COUNT, blockCount);
  Atomics.store(head, CLASS_COUNT, classCount);
  Atomics.store(head, CHECKSUM, shapeChecksum(buffer, byteOffset, kind));
  Atomics.store(head, SEAL, C.POOL_SEAL);
  Atomics.store(head, MAGIC, C.POOL_MAGIC);
}

// The shape checksum when the seal says the pool has one. Seal and checksum both 0: a pool made
// before the checksum existed, read unchecked as before (by the range and order checks of its
// kind alone). Any other seal, or a checksum without its seal, is damage too.
function checkShape(buffer, byteOffset, head, kind) {
  const seal = Atomics.load(head, SEAL);
  const stored = Atomics.load(head, CHECKSUM);
  const what = kind === C.POOL_KIND_MEMORY ? 'header or class table' : 'header';
  if (seal === C.POOL_SEAL) {
    const computed = shapeChecksum(buffer, byteOffset, kind);
    if (stored === computed) return;
    throw poolError('ERR_CORRUPT', `The pool's shape checksum does not match (stored ${hex(stored)}, computed ${hex(computed)}): its ${what} was damaged, and its blocks would be laid out elsewhere than its creator put them; close every handle of it and create the pool again`);
  }
  if (seal !== 0 || stored !== 0) {
    throw poolError('ERR_CORRUPT', `The pool's header seal is damaged (${hex(seal)}, expected ${hex(C.POOL_SEAL)}, or 0 with no checksum; the checksum reads ${hex(stored)}): its shape cannot be trusted; close every handle of it and create the pool again`);
  }
}

/**
 * Checks the header (and, in kind 3, the shape checksum's class table) of the pool of `kind` at
 * `byteOffset`; returns { blockSize, blockCount, classCount }.
 */
function checkHeader(buffer, byteOffset, kind) {
  const head = new Uint32Array(buffer, byteOffset, W.POOL_HEADER.WORDS);
  if (Atomics.load(head, MAGIC) !== C.POOL_MAGIC) throw poolError('ERR_BAD_MAGIC', 'Not a pool (bad magic: not created yet?)');
  const k = Atomics.load(head, KIND);
  if (k !== kind) throw poolError('ERR_BAD_MAGIC', `The pool is ${KIND_NAMES[k] || `of unknown kind ${k}`}, not ${KIND_NAMES[kind]}`);
  const version = Atomics.load(head, VERSION);
  if (version !== C.POOL_FORMAT_VERSION) throw poolError('ERR_BAD_VERSION', `Pool version ${version}, expected ${C.POOL_FORMAT_VERSION}`);
  if (byteOffset + shapeSpan(kind) > buffer.byteLength) {
    throw poolError('ERR_BAD_SIZE', `The pool's header needs ${shapeSpan(kind)} bytes at ${byteOffset}; the memory holds ${buffer.byteLength}`);
  }
  checkShape(buffer, byteOffset, head, kind);
  return { blockSize: Atomics.load(head, BLOCK_SIZE), blockCount: Atomics.load(head, BLOCK_COUNT), classCount: Atomics.load(head, CLASS_COUNT) };
}

function exhausted(what, timeout) {
  const waited = timeout > 0 ? ` within ${timeout} ms` : '';
  return poolError('ERR_POOL_EXHAUSTED', `${what}: no free block${waited}`);
}

module.exports = { PoolCore, poolError, timeoutOf, asyncOptions, exhausted, stampHeader, checkHeader, shapeChecksum, INDEX };
