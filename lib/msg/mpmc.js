'use strict';
// MpmcQueue: a bounded lock-free multi-producer multi-consumer queue (docs/format.md §15) in a
// segment or a SharedArrayBuffer, in the manner of Vyukov's bounded queue (a sequence word per
// slot; a CAS on the tail or head position claims a slot), made robust: every handle has an
// owner record of §6 and an intent record naming the position it is producing or consuming, so
// that when a party dies (SIGKILL, a terminated worker) between claiming a slot and finishing it,
// the others find the slot, see its claimer gone and finish it (mpmc-slots.js). A message in
// such a slot is lost, never duplicated: `queue.skipped` counts them. Within one handle, enqueues
// complete in call order and dequeues take messages in call order: one called while Promise forms
// of the same side are pending queues behind them (async-fifo.js).
const { threadId } = require('worker_threads');
const { C, W } = require('../layout/layout');
const { OwnerTable, identityOf } = require('../ownership/owners');
const { addLatency } = require('./latency');
const region = require('./region');
const { RegionHandle, make } = require('./handle');
const { msgError, batchUnderWay } = require('./errors');
const { waitOnSlot } = require('./mpmc-wait');
const { Spinner, timeoutOf, asyncOptions, timedOut, wakeWaiters } = require('./park');
const { AsyncFifo, endPending } = require('./async-fifo');
const S = require('./mpmc-slots');
const B = require('./mpmc-batch');
const { pushOne, popOne, peekOne, CLOSED, NONE } = require('./mpmc-single');
const v = require('../base/validate');
const short = require('./short-text');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const CTL = C.MPMC_CONTROL_OFFSET / WORD;
const PRODUCED = CTL + W.MPMC_CONTROL.PRODUCED;
const CONSUMED = CTL + W.MPMC_CONTROL.CONSUMED;
const CONSUMER_WAITERS = CTL + W.MPMC_CONTROL.CONSUMER_WAITERS;
const PRODUCER_WAITERS = CTL + W.MPMC_CONTROL.PRODUCER_WAITERS;
const { TAIL, HEAD } = S;
const OWNERS = C.MPMC_OWNERS_OFFSET / WORD;
const SLOTS = C.MPMC_SLOTS_OFFSET;
const SLOT_HEADER = C.MPMC_SLOT_HEADER_BYTES;
const RECHECK_MS = C.MPMC_RECHECK_MS;
const TAG_UTF8 = C.MSG_TAG_UTF8;
const MAX_BYTES = 2 ** 31;
const DEFAULT_MESSAGE_BYTES = 248; // a 256-byte slot
const SPINS = 50; // attempts before a waiting party parks
// Polling budgets (ms; park.js's Spinner), one per side of a handle, so that what one role's waits
// achieve does not set the other's. A consumer waits for a producer's next claim, which a batch
// producer publishes only after writing all of it (64 short strings take some 5 µs here): it polls
// that long or not at all (its probe once every 16 waits too), as a shorter poll could never meet
// a batch and would only take the budget down to nothing for good. A producer waits for room, in a
// batch for the slots it has left (up to 64, which a running consumer frees at some 0.1 to 0.3 µs
// each): up to 20 µs, and not below 5 µs while it polls.
const TAKE_SPIN_MS = 0.005;
const ROOM_SPIN_MS = 0.02;
const CLOSED_WORD = CTL + W.MPMC_CONTROL.CLOSED;
// Internal methods for lib/msg/channel.js.
const kClosable = Symbol('shmstore.MpmcQueue.closable');
const kPrepare = Symbol('shmstore.MpmcQueue.prepare');
const kPush = Symbol('shmstore.MpmcQueue.push');
const kPushPrepared = Symbol('shmstore.MpmcQueue.pushPrepared');
const kCheckString = Symbol('shmstore.MpmcQueue.checkString');
const kPopBatch = Symbol('shmstore.MpmcQueue.popBatch');
// The region's words, for lib/msg/channel.js and the tests: a read-only accessor under a Symbol
// of the package, not a field a user could overwrite (every path of the handle reads the private
// field, so what a user does to the handle object cannot move where it reads and writes).
const kWords = Symbol('shmstore.MpmcQueue.words');
const CREATE_KEYS = ['name', 'path', 'buffer', 'byteOffset', 'size', 'capacity', 'messageBytes', 'startPosition'];

const strideOf = (messageBytes) => Math.ceil((SLOT_HEADER + messageBytes) / C.MPMC_SLOT_ALIGN) * C.MPMC_SLOT_ALIGN;
const bytesFor = (capacity, messageBytes) => SLOTS + capacity * strideOf(messageBytes);

const LIMITS = Object.freeze({
  minCapacity: C.MPMC_MIN_CAPACITY, maxCapacity: C.MPMC_MAX_CAPACITY, maxMessageBytes: C.MPMC_MAX_MESSAGE_BYTES,
  maxBytes: MAX_BYTES, bytesFor, what: 'MPMC queue', noun: 'queue', unit: 'slots',
});

class MpmcQueue extends RegionHandle {
  #i32;
  #buf;
  #mask;
  #strideWords;
  #messageBytes;
  #owners;
  #self;
  #slot = 0;
  #token = 0;
  #rolesAt = 0;
  #producePosAt = 0;
  #consumePosAt = 0;
  #lastRepair = -Infinity;
  #closable = false;
  #waits; // what park.js and mpmc-wait.js see of the queue
  // Whether a batch enqueue of this handle is preparing and writing values (#pushMany()): it keeps
  // them prepared in the handle's scratch (io.tags, io.payloads, io.packedAt, the run text) while
  // it runs a value's toJSON, so the handle's other enqueues refuse to start meanwhile
  // (#checkProducer()). Not while the batch serves the handle's pending enqueueAsync() calls first
  // (drained()): nothing of it is prepared yet, and code run there (a promise hook as a call's
  // promise resolves) enqueues as it would beside a single enqueue, its message before the
  // batch's. The scratch holds nothing between two attempts (B.pushMany() clears it).
  #batching = false;
  #enqueues; // this handle's pending enqueueAsync() calls, in call order (async-fifo.js)
  #dequeues; // its pending dequeueAsync() calls, in call order
  #io; // the state mpmc-batch.js works on
  #takeSpinner = new Spinner(TAKE_SPIN_MS, TAKE_SPIN_MS); // a consumer's polls before it parks
  #roomSpinner = new Spinner(ROOM_SPIN_MS, TAKE_SPIN_MS); // a producer's
  #repair = () => this.#maybeRepair();
  #wakeConsumers = () => wakeWaiters(this.#u32, this.#i32, CONSUMER_WAITERS, PRODUCED);
  #wakeProducers = () => wakeWaiters(this.#u32, this.#i32, PRODUCER_WAITERS, CONSUMED);
  #u32; // the region's words
  #capacity;

  /** @private Use MpmcQueue.create() or MpmcQueue.open(). */
  constructor(token, where, shape) {
    super(token, where, 'queue');
    const buffer = this.buffer;
    const at = where.byteOffset;
    const h = region.checkShape(buffer, at, C.MSG_KIND_MPMC, LIMITS, shape);
    const { bytes } = h;
    this.#capacity = h.capacity;
    this.#mask = h.capacity - 1;
    this.#messageBytes = h.messageBytes;
    this.#strideWords = strideOf(h.messageBytes) / WORD;
    this.#u32 = new Uint32Array(buffer, at, bytes / WORD);
    this.#i32 = new Int32Array(buffer, at, bytes / WORD);
    this.#buf = Buffer.from(buffer, at, bytes);
    // What park.js, mpmc-wait.js and mpmc-slots.js see of the queue.
    this.#waits = {
      u32: this.#u32, i32: this.#i32, capacity: h.capacity, usable: () => this.usable_(), seqIndex_: (pos) => this.seqIndex_(pos),
    };
    this.#enqueues = new AsyncFifo(this.#waits, PRODUCER_WAITERS, CONSUMED, NONE, RECHECK_MS);
    this.#dequeues = new AsyncFifo(this.#waits, CONSUMER_WAITERS, PRODUCED, NONE, RECHECK_MS);
    this.#owners = new OwnerTable(this.#u32, OWNERS, C.MPMC_OWNER_SLOTS);
    this.#self = identityOf(process.pid, threadId);
    this.#claim();
  }

  #claim() {
    const owners = this.#owners;
    let slot = owners.claim(this.#self, { spread: C.MPMC_INTENT_SPREAD });
    if (slot === 0) {
      // A full table: a gone owner's record is taken over (its intent zeroed) only once every
      // position its intent names is finished (format.md §15, "Parties that are gone").
      slot = owners.adopt(this.#self, { check: (o) => S.finishOwnerIntent(this.#waits, owners, this.#self, o) });
      if (slot === 0) throw msgError('ERR_TOO_MANY_HANDLES', `All ${C.MPMC_OWNER_SLOTS - 1} owner slots of the queue are in use`);
    }
    this.#slot = slot;
    this.#rolesAt = S.intentWord(slot, S.ROLES);
    this.#producePosAt = S.intentWord(slot, S.PRODUCE_POS);
    this.#consumePosAt = S.intentWord(slot, S.CONSUME_POS);
    Atomics.store(this.#u32, this.#rolesAt, 0);
    Atomics.store(this.#u32, S.intentWord(slot, S.EXTRA), 0);
    this.#token = owners.watch(slot, this.#self);
    const staged = new Uint8Array(short.SCRATCH_BYTES);
    this.#io = {
      usable: this.#waits.usable,
      u32: this.#u32, buf: this.#buf, messageBytes: this.#messageBytes, capacity: this.#capacity, mask: this.#mask,
      slotsWord: SLOTS / WORD, strideWords: this.#strideWords, closedWord: CLOSED_WORD, rolesAt: this.#rolesAt,
      producePosAt: this.#producePosAt, consumePosAt: this.#consumePosAt, extraAt: S.intentWord(slot, S.EXTRA),
      tags: new Array(B.MAX_CLAIM).fill(0), payloads: new Array(B.MAX_CLAIM).fill(undefined),
      packedAt: new Int32Array(B.MAX_CLAIM), prepared: 0, error: null, salvaged: 0,
      stagedBytes: staged, stagedWords: new Uint32Array(staged.buffer), stagedLength: 0,
      run: undefined, readRun: undefined,
    };
  }

  /** Creates a queue: a new segment (exclusive), or a queue in a SharedArrayBuffer. */
  static create(options) {
    region.validateCreateOptions(options);
    const { messageBytes, bytes } = region.createShape(options, LIMITS, DEFAULT_MESSAGE_BYTES);
    const start = region.startPositionOf(options);
    const where = region.place(options, { create: true, keys: CREATE_KEYS, bytes });
    const buffer = where.segment ? where.segment.buffer : where.buffer;
    // Everything but the header, then the header (magic last) in the constructor.
    const u32 = new Uint32Array(buffer, where.byteOffset, SLOTS / WORD);
    u32.fill(0, C.MSG_HEADER_OFFSET / WORD);
    Atomics.store(u32, TAIL, start);
    Atomics.store(u32, HEAD, start);
    const slots = new Uint32Array(buffer, where.byteOffset + SLOTS, (bytes - SLOTS) / WORD);
    const stride = strideOf(messageBytes) / WORD;
    for (let k = 0; k < options.capacity; k++) {
      const p = (start + k) >>> 0;
      Atomics.store(slots, (p & (options.capacity - 1)) * stride, S.seqOf(p, 0));
    }
    return make(MpmcQueue, where, { capacity: options.capacity, messageBytes });
  }

  static bytesFor(capacity, options) {
    const messageBytes = region.messageBytesOption(options, DEFAULT_MESSAGE_BYTES);
    region.validateShape(capacity, messageBytes, LIMITS, 'capacity');
    return bytesFor(capacity, messageBytes);
  }

  /** @private The bytes of the shape create() `options` ask for (their names in messages: the registry's create). */
  static bytesForOptions_(options) {
    return region.createShape(options, LIMITS, DEFAULT_MESSAGE_BYTES).bytes;
  }

  /** @private The u32 index of position `pos`'s sequence word. */
  seqIndex_(pos) {
    return SLOTS / WORD + (pos & this.#mask) * this.#strideWords;
  }

  /** @private The region's words (lib/msg/channel.js, tests). */
  get [kWords]() {
    return this.#u32;
  }

  /** The number of slots the region was created with (read-only: the region fixes it). */
  get capacity() {
    return this.#capacity;
  }

  get messageBytes() {
    return this.#messageBytes;
  }

  /** Messages queued or being written or read (a snapshot: others move it meanwhile). */
  get size() {
    this.usable_();
    const n = S.diff(Atomics.load(this.#u32, TAIL), Atomics.load(this.#u32, HEAD));
    return Math.max(0, Math.min(n, this.#capacity));
  }

  /** Slots finished for gone parties: { writes } never delivered, { reads } lost or delivered to the dead consumer. */
  get skipped() {
    this.usable_();
    return { writes: Atomics.load(this.#u32, S.SKIPPED_WRITES), reads: Atomics.load(this.#u32, S.SKIPPED_READS) };
  }

  // At most once per RECHECK_MS: finish the slots of gone parties that block the queue.
  #maybeRepair() {
    const now = performance.now();
    if (now - this.#lastRepair < RECHECK_MS) return false;
    this.#lastRepair = now;
    return S.repairStuck(this.#waits, this.#owners, this.#self) > 0;
  }

  // ---- producing ---------------------------------------------------------------------------

  // The first check of every enqueue: the handle is open, and it is not called from code that a
  // batch enqueue of the handle runs while it prepares its values (a value's toJSON; ERR_IN_USE,
  // nothing changed): a batch there would prepare its values over the outer one's, and every
  // enqueue is refused, as a ring's are, so that the rule is one for every structure.
  #checkProducer() {
    this.usable_();
    if (this.#batching) throw batchUnderWay('queue');
  }

  #prepare(value) {
    this.#checkProducer();
    return B.prepareChecked(value, 'value', this.#messageBytes);
  }

  // One attempt (mpmc-single.js): true, false (full) or CLOSED.
  // First, code may have run since the call's first check (the value's toJSON, a promise hook
  // while the handle's pending calls were served) and closed the handle, whose memory may no
  // longer be the region's (a segment's pages swapped for private zeros): ERR_CLOSED, nothing
  // written.
  #push(tag, payload) {
    this.usable_();
    return pushOne(this.#io, tag, payload, this.#closable, this.#repair, this.#wakeConsumers);
  }

  /** @private For channel.js: sends fail once the channel is closed. */
  [kClosable]() {
    this.#closable = true;
  }

  /** @private For channel.js: a checked message ({ tag, payload }). */
  [kPrepare](value) {
    return this.#prepare(value);
  }

  /**
   * @private For channel.js: the tag to send string `value` with (kPush), its text staged in the
   * handle's words when `stage` (the channel's caller keeps the tag in a local and no code that
   * could stage another runs before its kPush: its pending sends are none), else checked only.
   */
  [kCheckString](value, stage) {
    return B.checkText(value, TAG_UTF8, this.#messageBytes, stage ? this.#io : null);
  }

  /** @private For channel.js: one attempt; true, false (full) or CLOSED. */
  [kPush](tag, payload) {
    return this.#push(tag, payload);
  }

  /**
   * @private For channel.js: enqueues prepared messages batch.tags/payloads[batch.sent..batch.end-1]
   * as there is room now (batch claims), moving batch.sent past them; false once closed
   * (mpmc-batch.js pushPrepared()).
   */
  [kPushPrepared](batch) {
    return B.pushPrepared(this.#io, batch, this.#closable, this.#repair, this.#wakeConsumers);
  }

  /** @private For channel.js: appends up to `max` queued messages to `out` (batch claims); how many. */
  [kPopBatch](out, max) {
    return B.popMany(this.#io, out, max, this.#repair, this.#wakeProducers);
  }

  // A string's tag, its text staged in the handle's words when no enqueueAsync() is pending
  // (B.checkText(): serving pending calls may run code that stages another).
  #checkString(value) {
    return B.checkText(value, TAG_UTF8, this.#messageBytes, this.#enqueues.idle ? this.#io : null);
  }

  /** Enqueues `value` if there is room now (after the handle's pending enqueueAsync() calls). Returns whether it did. */
  tryEnqueue(value) {
    this.#checkProducer();
    // A string goes as itself: its tag alone is prepared (no shared object written per message).
    if (typeof value === 'string') {
      const tag = this.#checkString(value);
      return this.#enqueues.drained() && this.#push(tag, value);
    }
    // Taken out of the prepared object, the thread's one reused object, before anything else runs:
    // serving pending enqueueAsync() calls may run code (a promise hook, an abort signal's getter)
    // that prepares another message of the thread.
    const p = B.prepareChecked(value, 'value', this.#messageBytes);
    const tag = p.tag;
    const payload = p.payload;
    return this.#enqueues.drained() && this.#push(tag, payload);
  }

  /** Enqueues `value`, blocking the thread while the queue is full. ERR_QUEUE_TIMEOUT after timeoutMs. */
  enqueue(value, timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.#checkProducer();
    // As tryEnqueue() prepares it.
    let tag;
    let payload = value;
    if (typeof value === 'string') {
      tag = this.#checkString(value);
    } else {
      const p = B.prepareChecked(value, 'value', this.#messageBytes);
      tag = p.tag;
      payload = p.payload;
    }
    // The first attempt here, the wait in a method of its own: the closure it needs (and the
    // context its captured variables would live in from the start of the call) is made only
    // when the queue is full.
    if (this.#enqueues.drained() && this.#push(tag, payload)) return;
    this.#enqueueWait(tag, payload, timeout);
  }

  #enqueueWait(tag, payload, timeout) {
    const attempt = () => (this.#enqueues.drained() && this.#push(tag, payload) ? true : NONE);
    const r = this.#block(PRODUCER_WAITERS, CONSUMED, attempt, timeout);
    if (r === NONE) throw timedOut('enqueue()', timeout);
  }

  /**
   * Like enqueue() without blocking the event loop; options { timeoutMs, signal }. After the
   * handle's pending enqueueAsync() calls (call order): at once when none is pending.
   */
  enqueueAsync(value, options) {
    const { timeout, signal } = asyncOptions(options);
    const { tag, payload } = this.#prepare(value);
    return this.#enqueues.run(() => (this.#push(tag, payload) ? true : NONE), timeout, signal)
      .then((r) => { if (r === NONE) throw timedOut('enqueueAsync()', timeout); });
  }

  #checkBatch(values) {
    this.#checkProducer();
    if (!Array.isArray(values)) throw v.invalidType('values', 'an Array', values);
  }

  /**
   * Enqueues the values of an array in order, as many as there is room for now, claiming up to
   * 64 slots with one CAS of the tail. Returns how many (a prefix of `values`).
   */
  tryEnqueueBatch(values) {
    this.#checkBatch(values);
    if (!this.#enqueues.drained()) return 0;
    return this.#pushMany(values, 0);
  }

  // One attempt of a batch, once the handle's pending enqueueAsync() calls are served: enqueues
  // values[from..] while there is room (B.pushMany()), the handle's other enqueues refused
  // meanwhile (#batching). Returns the index after the last value enqueued.
  #pushMany(values, from) {
    this.#batching = true;
    try {
      return B.pushMany(this.#io, values, from, false, this.#repair, this.#wakeConsumers);
    } finally {
      this.#batching = false;
    }
  }

  /**
   * Enqueues every value of an array in order, blocking while the queue is full.
   * ERR_QUEUE_TIMEOUT after timeoutMs (the error's `enqueued` says how many were enqueued).
   */
  enqueueBatch(values, timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.#checkBatch(values);
    // The first attempt here, the wait in a method of its own (as in enqueue()).
    const i = this.#enqueues.drained() ? this.#pushMany(values, 0) : 0;
    if (i < values.length) this.#enqueueBatchWait(values, i, timeout);
  }

  #enqueueBatchWait(values, i, timeout) {
    // Waits for room for the rest (up to one claim's worth), not for one slot (mpmc-wait.js).
    const ahead = Math.min(values.length - i, B.MAX_CLAIM, this.#capacity >>> 1) - 1;
    const r = this.#block(PRODUCER_WAITERS, CONSUMED, () => {
      if (!this.#enqueues.drained()) return NONE;
      i = this.#pushMany(values, i);
      return i === values.length ? true : NONE;
    }, timeout, ahead);
    if (r === NONE) {
      const e = timedOut('enqueueBatch()', timeout);
      e.enqueued = i;
      throw e;
    }
  }

  // ---- consuming ---------------------------------------------------------------------------

  // One attempt (mpmc-single.js): the next message, or NONE when empty.
  #pop() {
    return popOne(this.#io, this.#repair, this.#wakeProducers);
  }

  /** Dequeues the next message (after the handle's pending dequeueAsync() calls), or returns undefined when the queue is empty. */
  tryDequeue() {
    this.usable_();
    if (!this.#dequeues.drained()) return undefined;
    const r = this.#pop();
    return r === NONE ? undefined : r;
  }

  /**
   * The message the next dequeue would take now, without taking it, or undefined when the queue
   * is empty (or its first message is still being written). After the handle's pending
   * dequeueAsync() calls took what they could, as tryDequeue() (undefined while some are left).
   * A snapshot: with other consumers, the message may be taken by one of them before the caller
   * looks at it, so what the caller's next dequeue gets may be another message.
   */
  peek() {
    this.usable_();
    if (!this.#dequeues.drained()) return undefined;
    const r = peekOne(this.#io, this.#repair);
    return r === NONE ? undefined : r;
  }

  /** Dequeues, blocking the thread while the queue is empty. ERR_QUEUE_TIMEOUT after timeoutMs. */
  dequeue(timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.usable_();
    // The first attempt here, the wait in a method of its own (as in enqueue()).
    if (this.#dequeues.drained()) {
      const first = this.#pop();
      if (first !== NONE) return first;
    }
    return this.#dequeueWait(timeout);
  }

  #dequeueWait(timeout) {
    const attempt = () => (this.#dequeues.drained() ? this.#pop() : NONE);
    const r = this.#block(CONSUMER_WAITERS, PRODUCED, attempt, timeout);
    if (r === NONE) throw timedOut('dequeue()', timeout);
    return r;
  }

  #checkMax(max) {
    this.usable_();
    if (max === undefined) return Infinity;
    v.validateInteger(max, 'max', 1, Number.MAX_SAFE_INTEGER);
    return max;
  }

  /**
   * Dequeues the messages there are now, at most `max` (default: all), claiming up to 64 slots
   * with one CAS of the head. Returns them in order in an array (empty when the queue is empty).
   */
  tryDequeueBatch(max) {
    const limit = this.#checkMax(max);
    const out = [];
    if (this.#dequeues.drained()) B.popMany(this.#io, out, limit, this.#repair, this.#wakeProducers);
    return out;
  }

  /** Like tryDequeueBatch(), blocking the thread until at least one message arrives. ERR_QUEUE_TIMEOUT after timeoutMs. */
  dequeueBatch(max, timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    const limit = this.#checkMax(max);
    const out = [];
    const attempt = () => (this.#dequeues.drained() && B.popMany(this.#io, out, limit, this.#repair, this.#wakeProducers) > 0 ? out : NONE);
    if (attempt() !== NONE) return out;
    const r = this.#block(CONSUMER_WAITERS, PRODUCED, attempt, timeout);
    if (r === NONE) throw timedOut('dequeueBatch()', timeout);
    return out;
  }

  /**
   * Like dequeue() without blocking the event loop; options { timeoutMs, signal }. After the
   * handle's pending dequeueAsync() calls (call order).
   */
  dequeueAsync(options) {
    const { timeout, signal } = asyncOptions(options);
    this.usable_();
    return this.#dequeues.run(() => this.#pop(), timeout, signal)
      .then((r) => { if (r === NONE) throw timedOut('dequeueAsync()', timeout); return r; });
  }

  // ---- waiting -----------------------------------------------------------------------------

  // Waits for attempt(): polls the slot it waits for, then sleeps (mpmc-wait.js).
  #block(waiters, word, attempt, timeout, ahead = 0) {
    const watch = waiters === CONSUMER_WAITERS ? HEAD : TAIL;
    const spinner = waiters === CONSUMER_WAITERS ? this.#takeSpinner : this.#roomSpinner;
    return waitOnSlot(this.#waits, spinner, watch, waiters, word, attempt, NONE, timeout, SPINS, RECHECK_MS, ahead);
  }

  /** Releases the handle's owner slot (and closes its segment); the queue stays. Idempotent. */
  close() {
    if (this.closed) return;
    Atomics.store(this.#u32, this.#rolesAt, 0);
    this.#owners.leave(this.#slot, this.#token);
    super.close();
  }

  /** @private Its pending Promise-form calls end with ERR_CLOSED while the region is still mapped. */
  closing_() {
    endPending(() => this.usable_(), this.#enqueues, this.#dequeues);
  }
}
Object.defineProperty(MpmcQueue, 'SLOTS_OFFSET', { value: SLOTS, enumerable: true });

// Opt-in latency histograms (lib/msg/latency.js).
addLatency(MpmcQueue, ['tryEnqueue', 'enqueue', 'tryDequeue', 'dequeue', 'peek'],
  ['enqueueAsync', 'dequeueAsync']);

module.exports = {
  MpmcQueue, TAKE_SPIN_MS, ROOM_SPIN_MS, SPINS, CLOSED, kWords, kClosable, kPrepare, kCheckString, kPush, kPushPrepared, kPopBatch,
};
