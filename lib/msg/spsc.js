'use strict';
// SpscRing: a wait-free single-producer single-consumer ring (docs/format.md §15) in a segment or
// a SharedArrayBuffer. Two modes over the same control block: variable-size records (strings,
// bytes, JSON values: spsc-records.js, codec.js) in a byte ring, or fixed-size elements copied
// straight between the ring and the caller's typed arrays (spsc-elements.js). The same bytes as
// src/msg/spsc.h. This file is the handle: its arguments, its modes and its blocking forms; the
// handle's state, its index stores and its waiting are spsc-core.js's. Within one handle, enqueues
// complete in call order and dequeues take messages in call order: one called while Promise forms
// of the same side are pending queues behind them (async-fifo.js, with the ring's sleeping-flag
// wait), and the try and blocking forms first let those complete as far as they can now.
const { C } = require('../layout/layout');
const { addLatency } = require('./latency');
const { msgError, batchUnderWay } = require('./errors');
const v = require('../base/validate');
const region = require('./region');
const { RegionHandle, make } = require('./handle');
const records = require('./spsc-records');
const elements = require('./spsc-elements');
const { timeoutOf, asyncOptions, timedOut } = require('./park');
const { AsyncFifo, endPending } = require('./async-fifo');
const {
  TAIL, HEAD, CONSUMER_SLEEPING, PRODUCER_SLEEPING, DATA, DATA_WORD, PARK_MS, bytesFor, makeCore, checkedUsed, ownIndex, publish, discard, block,
} = require('./spsc-core');

const NONE = Symbol('none');

const CREATE_KEYS = ['name', 'path', 'buffer', 'byteOffset', 'size', 'capacity', 'elementSize', 'startPosition'];

// `capacityName`: 'options.capacity' for create(), 'capacity' for bytesFor()'s first argument.
function validateShape(capacity, elementSize, capacityName) {
  if (elementSize === 0) {
    region.validateCapacity(capacity, capacityName, C.SPSC_MIN_BYTES);
    return;
  }
  v.validateInteger(elementSize, 'options.elementSize', 1, C.SPSC_MAX_ELEMENT_BYTES);
  region.validateCapacity(capacity, capacityName, 2);
  if (capacity * elementSize > C.MSG_MAX_CAPACITY) {
    throw v.rangeError(`A ring of ${capacity} elements of ${elementSize} bytes exceeds ${C.MSG_MAX_CAPACITY} bytes of data`);
  }
}

class SpscRing extends RegionHandle {
  #r; // the state (spsc-core.js makeCore)
  // The prepared message of the synchronous enqueues (tryEnqueue, enqueue), written before
  // anything else can prepare one (#ownPrepared()); enqueueAsync, which waits between, prepares
  // its own.
  #sync = { tag: 0, payload: '', length: 0 };
  // Whether a batch enqueue of this handle is writing (#pushMany()): it leaves records written and
  // not yet published past the tail, and JSON texts of its values in the state, while it runs a
  // value's toJSON, so the handle's other enqueues refuse to start meanwhile (#checkProducer()).
  // Not while the batch serves the handle's pending enqueueAsync() calls first (drained()): it has
  // written nothing yet, and code run there (a promise hook as a call's promise resolves) enqueues
  // as it would beside a single enqueue, its message before the batch's.
  #batching = false;
  #enqueues; // this handle's pending enqueueAsync() calls, in call order (async-fifo.js)
  #dequeues; // its pending dequeueAsync() and dequeueIntoAsync() calls, in call order

  /** @private Use SpscRing.create() or SpscRing.open(). */
  constructor(token, where, shape) {
    super(token, where, 'ring');
    const buffer = this.buffer;
    const at = where.byteOffset;
    if (shape) region.stamp(buffer, at, C.MSG_KIND_SPSC, shape.capacity, shape.elementSize);
    const h = region.checkHeader(buffer, at, C.MSG_KIND_SPSC);
    const bytes = bytesFor(h.capacity, h.elementSize);
    // The shapes create() allows, as the C++ ring checks them (SpscRing::ValidShape): records of
    // at least SPSC_MIN_BYTES, or at least 2 elements.
    if (h.elementSize > C.SPSC_MAX_ELEMENT_BYTES || (h.elementSize === 0 && h.capacity < C.SPSC_MIN_BYTES) ||
        (h.elementSize !== 0 && h.capacity < 2) || bytes - DATA > C.MSG_MAX_CAPACITY) {
      throw msgError('ERR_CORRUPT', `SPSC ring header: capacity ${h.capacity}, element size ${h.elementSize}`);
    }
    if (at + bytes > buffer.byteLength) {
      throw msgError('ERR_BAD_SIZE', `The ring needs ${bytes} bytes at ${at}; the memory holds ${buffer.byteLength}`);
    }
    this.#r = makeCore(buffer, at, h.capacity, h.elementSize);
    const w = { u32: this.#r.u32, i32: this.#r.i32, usable: () => this.usable_(), closed: () => this.closed };
    // The producer sleeps on `head` (room), the consumer on `tail` (a message).
    this.#enqueues = AsyncFifo.flagged(w, PRODUCER_SLEEPING, HEAD, NONE, PARK_MS);
    this.#dequeues = AsyncFifo.flagged(w, CONSUMER_SLEEPING, TAIL, NONE, PARK_MS);
  }

  /**
   * Creates a ring: a new segment (exclusive), or a ring in a SharedArrayBuffer. `capacity` is
   * the data bytes (variable-size messages) or the number of elements (with `elementSize`).
   */
  static create(options) {
    v.validateObject(options, 'options');
    const elementSize = options.elementSize ?? 0;
    if (options.capacity === undefined) throw v.typeError('The "options.capacity" argument is required');
    validateShape(options.capacity, elementSize, 'options.capacity');
    let start = 0;
    if (options.startPosition !== undefined) {
      v.validateInteger(options.startPosition, 'options.startPosition', 0, 2 ** 32 - 1);
      start = elementSize ? options.startPosition : options.startPosition & ~3;
    }
    const where = region.place(options, { create: true, keys: CREATE_KEYS, bytes: bytesFor(options.capacity, elementSize) });
    const buffer = where.segment ? where.segment.buffer : where.buffer;
    // The indices first, the header (magic last) in the constructor: an opener sees a whole ring.
    const u32 = new Uint32Array(buffer, where.byteOffset, DATA_WORD);
    Atomics.store(u32, TAIL, start);
    Atomics.store(u32, HEAD, start);
    Atomics.store(u32, CONSUMER_SLEEPING, 0);
    Atomics.store(u32, PRODUCER_SLEEPING, 0);
    return make(SpscRing, where, { capacity: options.capacity, elementSize });
  }

  static bytesFor(capacity, options) {
    let elementSize = 0;
    if (options !== undefined) {
      v.validateObject(options, 'options');
      v.validateKeys(options, 'options', ['elementSize']);
      elementSize = options.elementSize ?? 0;
    }
    validateShape(capacity, elementSize, 'capacity');
    return bytesFor(capacity, elementSize);
  }

  /** @private The bytes of the shape create() `options` ask for (their names in messages: the registry's create). */
  static bytesForOptions_(options) {
    const elementSize = options.elementSize ?? 0;
    validateShape(options.capacity, elementSize, 'options.capacity');
    return bytesFor(options.capacity, elementSize);
  }

  get capacity() {
    return this.#r.capacity;
  }

  get elementSize() {
    return this.#r.elementSize;
  }

  /** The largest message in bytes (variable-size mode); 0 in element mode. */
  get maxMessageBytes() {
    return this.#r.maxMessage;
  }

  /** Elements queued (element mode), or bytes in use (variable-size mode). */
  get size() {
    this.usable_();
    return checkedUsed(this.#r, (Atomics.load(this.#r.u32, TAIL) - Atomics.load(this.#r.u32, HEAD)) >>> 0);
  }

  // ---- producer ----------------------------------------------------------------------------

  // The first check of every enqueue: the handle is open, and it is not called from code that a
  // batch enqueue of the handle runs while it writes (a value's toJSON; ERR_IN_USE: it would write
  // at the published tail, over the batch's records written since; nothing is changed).
  #checkProducer() {
    this.usable_();
    if (this.#batching) throw batchUnderWay('ring');
  }

  // Checks and prepares a value: { tag, payload, length } for a record (in `into` when given),
  // or a Uint8Array of whole elements. Throws before anything is written.
  #prepare(value, into = undefined) {
    this.#checkProducer();
    return this.#r.elementSize ? elements.prepare(this.#r, value) : records.prepare(this.#r, value, into);
  }

  // block() of a blocking form of the side whose pending Promise-form calls are `fifo`: block()
  // ends by clearing the side's sleeping flag, which the side's waiting loop may have raised and
  // still park under; the loop is then woken to look again (and raise it again), or the other
  // side's next index store would find no flag and wake nobody until the loop's recheck.
  #blockBeside(fifo, r, flag, watch, seen, deadline) {
    const ok = block(r, flag, watch, seen, deadline);
    fifo.nudge();
    return ok;
  }

  // One attempt: writes the prepared message if there is room. Returns whether it did.
  // First, code may have run since the call's first check (the value's toJSON, a promise hook
  // while the handle's pending calls were served) and closed the handle, whose memory may no
  // longer be the region's (a segment's pages swapped for private zeros): ERR_CLOSED, nothing
  // written.
  #push(p) {
    this.usable_();
    const r = this.#r;
    if (r.elementSize) return elements.push(r, p);
    const next = records.write(r, p, ownIndex(r, TAIL));
    if (next < 0) return false;
    publish(r, next);
    return true;
  }

  // A synchronous enqueue's message prepared into the handle's one object #sync (no object per
  // message), as the call may keep it: #sync while no enqueueAsync() is pending, else a copy.
  // Serving pending calls may run code (a promise hook, an abort signal's getter) that enqueues
  // on this handle and writes #sync. Asked once the value is prepared: its toJSON may have left
  // calls pending (an enqueueAsync() on a full ring), and nothing else runs from here to the write.
  #ownPrepared(p) {
    if (p !== this.#sync || this.#enqueues.idle) return p;
    return { tag: p.tag, payload: p.payload, length: p.length };
  }

  /** Enqueues `value` if there is room now (after the handle's pending enqueueAsync() calls). Returns whether it did. */
  tryEnqueue(value) {
    const p = this.#ownPrepared(this.#prepare(value, this.#sync));
    const done = this.#enqueues.drained() && this.#push(p);
    this.#sync.payload = ''; // not kept alive by the handle
    return done;
  }

  // A batch's checks. Besides #checkProducer()'s: an enqueueBatch() keeps the JSON texts of its
  // values not yet written in the state (r.texts, r.textCount) from one attempt to the next, and a
  // batch started meanwhile would keep its own there, over them. No code of the caller runs
  // between two attempts (an attempt writes only once every pending enqueueAsync() was served, and
  // none can be added while it writes: #batching refuses it, so the next drained() has nothing to
  // serve), so this only keeps the rule whole.
  #checkBatch(values, what) {
    this.#checkProducer();
    if (this.#r.textCount > 0) throw batchUnderWay('ring');
    if (!Array.isArray(values)) throw v.invalidType('values', 'an Array', values);
    if (this.#r.elementSize) throw msgError('ERR_INVALID_ARG', `${what} needs a ring of variable-size messages (enqueue() takes many elements at once)`);
  }

  // One attempt of a batch, once the handle's pending enqueueAsync() calls are served: writes and
  // publishes values[from..] while they fit (records.pushMany()), the handle's other enqueues
  // refused meanwhile (#batching). Returns the index of the first value not enqueued.
  #pushMany(values, from, keep) {
    this.#batching = true;
    try {
      return records.pushMany(this.#r, this, values, from, keep);
    } finally {
      this.#batching = false;
    }
  }

  /**
   * Enqueues the values of an array in order, as many as fit now, published together. Returns
   * how many (a prefix of `values`).
   */
  tryEnqueueBatch(values) {
    this.#checkBatch(values, 'tryEnqueueBatch()');
    if (!this.#enqueues.drained()) return 0;
    return this.#pushMany(values, 0, false);
  }

  /**
   * Enqueues every value of an array in order, blocking while the ring is full; the values that
   * fit are published together. ERR_QUEUE_TIMEOUT after timeoutMs (the values before the one it
   * waited for stay enqueued; the error's `enqueued` says how many).
   */
  enqueueBatch(values, timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.#checkBatch(values, 'enqueueBatch()');
    const r = this.#r;
    // The JSON texts made for values that did not fit yet are kept for the next attempt, so that
    // each value's toJSON runs once however often the batch waits for room (#checkBatch() refuses
    // another batch of the handle while they are kept).
    try {
      let i = this.#enqueues.drained() ? this.#pushMany(values, 0, true) : 0;
      if (i === values.length) return;
      const deadline = performance.now() + timeout;
      for (;;) {
        const head = Atomics.load(r.u32, HEAD);
        if (this.#enqueues.drained()) i = this.#pushMany(values, i, true);
        if (i === values.length) return;
        if (!this.#blockBeside(this.#enqueues, r, PRODUCER_SLEEPING, HEAD, head, deadline)) {
          const e = timedOut('enqueueBatch()', timeout);
          e.enqueued = i;
          throw e;
        }
        this.usable_();
      }
    } finally {
      records.forgetTexts(r);
    }
  }

  /** Enqueues `value`, blocking the thread while the ring is full. ERR_QUEUE_TIMEOUT after timeoutMs. */
  enqueue(value, timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    const p = this.#ownPrepared(this.#prepare(value, this.#sync));
    try {
      if (this.#enqueues.drained() && this.#push(p)) return;
      const deadline = performance.now() + timeout;
      for (;;) {
        const head = Atomics.load(this.#r.u32, HEAD);
        if (this.#enqueues.drained() && this.#push(p)) return;
        if (!this.#blockBeside(this.#enqueues, this.#r, PRODUCER_SLEEPING, HEAD, head, deadline)) throw timedOut('enqueue()', timeout);
        this.usable_();
      }
    } finally {
      this.#sync.payload = '';
    }
  }

  /**
   * Like enqueue() without blocking the event loop; options { timeoutMs, signal }. After the
   * handle's pending enqueueAsync() calls (call order): at once when none is pending.
   */
  enqueueAsync(value, options) {
    const { timeout, signal } = asyncOptions(options);
    const p = this.#prepare(value);
    return this.#enqueues.run(() => (this.#push(p) ? true : NONE), timeout, signal)
      .then((r) => { if (r === NONE) throw timedOut('enqueueAsync()', timeout); });
  }

  // ---- consumer ----------------------------------------------------------------------------

  #pop() {
    return this.#r.elementSize ? elements.pop(this.#r) : records.pop(this.#r);
  }

  // One attempt of the Promise forms: the next message, or NONE.
  #popOrNone() {
    const value = this.#pop();
    return value === undefined ? NONE : value;
  }

  /** Dequeues the next message (after the handle's pending dequeueAsync() calls), or returns undefined when the ring is empty. */
  tryDequeue() {
    this.usable_();
    return this.#dequeues.drained() ? this.#pop() : undefined;
  }

  #checkMax(max, what) {
    this.usable_();
    if (this.#r.elementSize) throw msgError('ERR_INVALID_ARG', `${what} needs a ring of variable-size messages (dequeueInto() takes many elements at once)`);
    if (max === undefined) return Infinity;
    v.validateInteger(max, 'max', 1, Number.MAX_SAFE_INTEGER);
    return max;
  }

  /**
   * Dequeues the messages there are now, at most `max` (default: all), released together.
   * Returns them in order in an array (empty when the ring is empty).
   */
  tryDequeueBatch(max) {
    const limit = this.#checkMax(max, 'tryDequeueBatch()');
    const out = [];
    if (this.#dequeues.drained()) records.popMany(this.#r, out, limit);
    return out;
  }

  /** Like tryDequeueBatch(), blocking the thread until at least one message arrives. ERR_QUEUE_TIMEOUT after timeoutMs. */
  dequeueBatch(max, timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    const limit = this.#checkMax(max, 'dequeueBatch()');
    const r = this.#r;
    const out = [];
    if (this.#dequeues.drained() && records.popMany(r, out, limit) > 0) return out;
    const deadline = performance.now() + timeout;
    for (;;) {
      const tail = Atomics.load(r.u32, TAIL);
      if (this.#dequeues.drained() && records.popMany(r, out, limit) > 0) return out;
      if (!this.#blockBeside(this.#dequeues, r, CONSUMER_SLEEPING, TAIL, tail, deadline)) throw timedOut('dequeueBatch()', timeout);
      this.usable_();
    }
  }

  /**
   * The next message without removing it, or undefined when the ring is empty. The handle's
   * pending dequeueAsync() and dequeueIntoAsync() calls are served first: what peek() shows is
   * what the next take gets, not a message a pending call is about to take (while some are left,
   * nothing is there for peek() either).
   */
  peek() {
    this.usable_();
    if (!this.#dequeues.drained()) return undefined;
    const r = this.#r;
    if (r.elementSize) return elements.peek(r);
    const head = records.front(r);
    return head < 0 ? undefined : records.read(r, head);
  }

  /** Dequeues, blocking the thread while the ring is empty. ERR_QUEUE_TIMEOUT after timeoutMs. */
  dequeue(timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.usable_();
    const first = this.#dequeues.drained() ? this.#pop() : undefined;
    if (first !== undefined) return first;
    const deadline = performance.now() + timeout;
    for (;;) {
      const tail = Atomics.load(this.#r.u32, TAIL);
      const value = this.#dequeues.drained() ? this.#pop() : undefined;
      if (value !== undefined) return value;
      if (!this.#blockBeside(this.#dequeues, this.#r, CONSUMER_SLEEPING, TAIL, tail, deadline)) throw timedOut('dequeue()', timeout);
      this.usable_();
    }
  }

  /**
   * Like dequeue() without blocking the event loop; options { timeoutMs, signal }. After the
   * handle's pending dequeueAsync() and dequeueIntoAsync() calls (call order).
   */
  dequeueAsync(options) {
    const { timeout, signal } = asyncOptions(options);
    this.usable_();
    return this.#dequeues.run(() => this.#popOrNone(), timeout, signal)
      .then((r) => { if (r === NONE) throw timedOut('dequeueAsync()', timeout); return r; });
  }

  // ---- element mode: into the caller's typed array -----------------------------------------

  // The first checks of a dequeueInto() form: the handle is open and in element mode, and `target`
  // is one, before anything is taken off the ring. The target is looked at here only when pending
  // calls are to be served first (drained(), which takes elements for them) or when `eager` (a
  // Promise form throws its argument errors at once): with none pending, drained() runs nothing
  // and popInto()'s own look at it comes first, with the same errors, nothing taken before them;
  // a second look per call (sameTarget()) would cost about a fifth of a call.
  #checkTarget(target, eager) {
    this.usable_();
    if (!this.#r.elementSize) throw msgError('ERR_INVALID_ARG', 'dequeueInto() needs a ring of fixed-size elements (options.elementSize)');
    if (eager || !this.#dequeues.idle) elements.checkTarget(this.#r, target);
  }

  /** Element mode: dequeues up to as many elements as `target` holds; returns how many (0: empty). */
  tryDequeueInto(target) {
    this.#checkTarget(target, false);
    return this.#dequeues.drained() ? elements.popInto(this.#r, target) : 0;
  }

  /** Element mode: like tryDequeueInto(), blocking until at least one element arrives. */
  dequeueInto(target, timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.#checkTarget(target, false);
    const deadline = performance.now() + timeout;
    for (;;) {
      const tail = Atomics.load(this.#r.u32, TAIL);
      const n = this.#dequeues.drained() ? elements.popInto(this.#r, target) : 0;
      if (n > 0) return n;
      if (!this.#blockBeside(this.#dequeues, this.#r, CONSUMER_SLEEPING, TAIL, tail, deadline)) throw timedOut('dequeueInto()', timeout);
      this.usable_();
    }
  }

  /** Element mode: like dequeueInto() without blocking the event loop, in call order with dequeueAsync(). */
  dequeueIntoAsync(target, options) {
    const { timeout, signal } = asyncOptions(options);
    this.#checkTarget(target, true);
    return this.#dequeues.run(() => {
      const n = elements.popInto(this.#r, target);
      return n > 0 ? n : NONE;
    }, timeout, signal).then((n) => { if (n === NONE) throw timedOut('dequeueIntoAsync()', timeout); return n; });
  }

  /**
   * Consumer side: drops every message published up to now (the head moves to the tail) and
   * returns how much it dropped, as `size` counts it (bytes of records, or elements). The way on
   * after ERR_CORRUPT with `needsDiscard` true: damage that no read can get past (format.md §15,
   * "Damage"). Like every consumer operation, for the one consumer only.
   */
  discard() {
    this.usable_();
    return discard(this.#r);
  }

  /**
   * @private close() (of RegionHandle): this handle's pending Promise-form calls end at once with
   * ERR_CLOSED, while the region is still mapped (their wait's sleeping flag is put down).
   */
  closing_() {
    endPending(() => this.usable_(), this.#enqueues, this.#dequeues);
  }
}
Object.defineProperty(SpscRing, 'DATA_OFFSET', { value: DATA, enumerable: true });

// Opt-in latency histograms (lib/msg/latency.js).
addLatency(SpscRing, ['tryEnqueue', 'enqueue', 'tryDequeue', 'dequeue', 'peek', 'tryDequeueInto', 'dequeueInto'],
  ['enqueueAsync', 'dequeueAsync', 'dequeueIntoAsync']);

module.exports = { SpscRing };
