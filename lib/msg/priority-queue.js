'use strict';
// PriorityQueue: a bounded priority queue (docs/format.md §15, "Priority queue") in a segment or a
// SharedArrayBuffer: a binary heap (pq-heap.js) guarded by a robust Mutex of §13 that lives in
// the queue's own bytes. FIFO among equal priorities (a sequence number breaks ties). One store
// of a node's state word is the commit point of an enqueue (QUEUED) and of a dequeue (FREE); the
// heap and the free list are derived from the nodes, so when the mutex reports that its holder
// died (recovered: true), the next holder rebuilds them before anything else. Within one handle,
// enqueues go in in call order (so equal priorities keep the calls' order) and dequeues take in
// call order: one called while Promise forms of the same side are pending queues behind them
// (async-fifo.js), and the try and blocking forms first let those complete as far as they can now.
const { C, W } = require('../layout/layout');
const v = require('../base/validate');
const { Mutex, kRelease } = require('../sync/mutex');
const region = require('./region');
const { RegionHandle, make } = require('./handle');
const codec = require('./codec');
const { msgError } = require('./errors');
const { Spinner, timeoutOf, asyncOptions, timedOut, blockUntil, wakeWaiters } = require('./park');
const { AsyncFifo, endPending } = require('./async-fifo');
const { Heap, partsOf } = require('./pq-heap');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const F64 = Float64Array.BYTES_PER_ELEMENT;
const CTL = C.PQ_CONTROL_OFFSET / WORD;
const NEXT_SEQ = CTL + W.PQ_CONTROL.NEXT_SEQ;
const ORDER = CTL + W.PQ_CONTROL.ORDER;
const REBUILDS = CTL + W.PQ_CONTROL.REBUILDS;
const ENQUEUED = CTL + W.PQ_CONTROL.ENQUEUED;
const DEQUEUED = CTL + W.PQ_CONTROL.DEQUEUED;
const DEQUEUE_WAITERS = CTL + W.PQ_CONTROL.DEQUEUE_WAITERS;
const ENQUEUE_WAITERS = CTL + W.PQ_CONTROL.ENQUEUE_WAITERS;
const NODE_HEADER = C.PQ_NODE_HEADER_BYTES;
const N = W.PQ_NODE;
const TAG_SHIFT = C.MSG_TAG_SHIFT;
const LENGTH_MASK = C.MSG_LENGTH_MASK;
const TAG_UTF8 = C.MSG_TAG_UTF8;
const TAG_LATIN1 = C.MSG_TAG_LATIN1;
const RECHECK_MS = C.PQ_RECHECK_MS;
const MAX_BYTES = 2 ** 31;
const DEFAULT_MESSAGE_BYTES = 232; // a 256-byte node
const SPINS = 20;
const NONE = Symbol('none');
const ORDERS = { min: C.PQ_ORDER_MIN, max: C.PQ_ORDER_MAX };
const CREATE_KEYS = ['name', 'path', 'buffer', 'byteOffset', 'size', 'capacity', 'messageBytes', 'order'];

const strideOf = (messageBytes) => Math.ceil((NODE_HEADER + messageBytes) / C.PQ_NODE_ALIGN) * C.PQ_NODE_ALIGN;
const bytesFor = (capacity, messageBytes) => partsOf(capacity, strideOf(messageBytes)).end;

const LIMITS = Object.freeze({
  minCapacity: C.PQ_MIN_CAPACITY, maxCapacity: C.PQ_MAX_CAPACITY, maxMessageBytes: C.PQ_MAX_MESSAGE_BYTES,
  maxBytes: MAX_BYTES, bytesFor, what: 'priority queue', noun: 'priority queue', unit: 'nodes',
});

function orderOf(order) {
  if (order === undefined) return C.PQ_ORDER_MAX;
  if (!Object.hasOwn(ORDERS, order)) throw v.invalidType('options.order', "'min' or 'max'", order);
  return ORDERS[order];
}

function validatePriority(priority) {
  if (typeof priority !== 'number') throw v.invalidType('priority', 'of type number', priority);
  // One message for NaN and both infinities (a bound such as ">= -Infinity" would not say why).
  if (!Number.isFinite(priority)) throw v.rangeError(`The "priority" argument must be a finite number. Received ${priority}`);
}

class PriorityQueue extends RegionHandle {
  #u32;
  #buf;
  #messageBytes;
  #heap;
  #mutex;
  #waits;
  #capacity;
  #enqueues; // this handle's pending enqueueAsync() calls, in call order (async-fifo.js)
  #dequeues; // its pending dequeueAsync() calls, in call order
  // The polling budgets of the blocking enqueues and dequeues (park.js): each role learns its own.
  #enqueueSpinner = new Spinner();
  #dequeueSpinner = new Spinner();
  // Whether an attempt may succeed, read without the mutex (the count as a snapshot): a ride
  // through the other side's pause (park.js rideFor()) tries only then, rather than taking the
  // mutex that side needs at every look.
  #notEmpty = () => this.#heap.count > 0;
  #notFull = () => this.#heap.count < this.#capacity;

  /** @private Use PriorityQueue.create() or PriorityQueue.open(). */
  constructor(token, where) {
    super(token, where, 'priority queue');
    const buffer = this.buffer;
    const at = where.byteOffset;
    const h = region.checkShape(buffer, at, C.MSG_KIND_PRIORITY_QUEUE, LIMITS);
    const { bytes } = h;
    this.#capacity = h.capacity;
    this.#messageBytes = h.messageBytes;
    const u32 = new Uint32Array(buffer, at, bytes / WORD);
    this.#u32 = u32;
    const order = Atomics.load(u32, ORDER);
    if (order !== C.PQ_ORDER_MIN && order !== C.PQ_ORDER_MAX) throw msgError('ERR_CORRUPT', `Priority queue order ${order}`);
    const f64 = new Float64Array(buffer, at, bytes / F64);
    this.#heap = new Heap(u32, f64, h.capacity, strideOf(h.messageBytes), order === C.PQ_ORDER_MAX);
    this.#buf = Buffer.from(buffer, at, bytes);
    this.#waits = { u32, i32: new Int32Array(buffer, at, bytes / WORD), usable: () => this.usable_() };
    this.#enqueues = new AsyncFifo(this.#waits, ENQUEUE_WAITERS, DEQUEUED, NONE, RECHECK_MS);
    this.#dequeues = new AsyncFifo(this.#waits, DEQUEUE_WAITERS, ENQUEUED, NONE, RECHECK_MS);
    const mutexAt = { buffer, byteOffset: at + C.PQ_MUTEX_OFFSET };
    this.#mutex = Mutex.open(mutexAt);
  }

  /** Creates a priority queue: a new segment (exclusive), or one in a SharedArrayBuffer. */
  static create(options) {
    region.validateCreateOptions(options);
    const { messageBytes, bytes } = region.createShape(options, LIMITS, DEFAULT_MESSAGE_BYTES);
    const order = orderOf(options.order);
    const where = region.place(options, { create: true, keys: CREATE_KEYS, bytes });
    const buffer = where.segment ? where.segment.buffer : where.buffer;
    // Everything but the header: the control block, the nodes free, the mutex (a §13 region
    // created on zero bytes); then the header with the magic last, so that an opener that sees the
    // magic finds the mutex made.
    new Uint32Array(buffer, where.byteOffset, C.PQ_HEAP_OFFSET / WORD).fill(0, W.MSG_HEADER.WORDS);
    const u32 = new Uint32Array(buffer, where.byteOffset, bytes / WORD);
    Atomics.store(u32, ORDER, order);
    new Heap(u32, null, options.capacity, strideOf(messageBytes), false).init();
    Mutex.create({ buffer, byteOffset: where.byteOffset + C.PQ_MUTEX_OFFSET }).close();
    region.stamp(buffer, where.byteOffset, C.MSG_KIND_PRIORITY_QUEUE, options.capacity, messageBytes);
    try {
      return make(PriorityQueue, where);
    } catch (e) {
      Atomics.store(u32, C.MSG_HEADER_OFFSET / WORD + W.MSG_HEADER.MAGIC, 0);
      throw e;
    }
  }

  /** The bytes a priority queue of `capacity` nodes takes; options { messageBytes, order } (order changes nothing). */
  static bytesFor(capacity, options) {
    const messageBytes = region.messageBytesOption(options, DEFAULT_MESSAGE_BYTES, ['messageBytes', 'order']);
    region.validateShape(capacity, messageBytes, LIMITS, 'capacity');
    return bytesFor(capacity, messageBytes);
  }

  /** @private The bytes of the shape create() `options` ask for (their names in messages: the registry's create). */
  static bytesForOptions_(options) {
    return region.createShape(options, LIMITS, DEFAULT_MESSAGE_BYTES).bytes;
  }

  /** The number of nodes the region was created with (read-only: the region fixes it). */
  get capacity() {
    return this.#capacity;
  }

  get messageBytes() {
    return this.#messageBytes;
  }

  /** 'max' (larger priorities first) or 'min'. */
  get order() {
    return this.#heap.max ? 'max' : 'min';
  }

  /** Messages queued (a snapshot). */
  get size() {
    this.usable_();
    return Math.min(this.#heap.count, this.#capacity);
  }

  /** How many times the heap was rebuilt after a holder of its mutex died (wraps at 2^32). */
  get rebuilds() {
    this.usable_();
    return Atomics.load(this.#u32, REBUILDS);
  }

  // Takes the mutex, and rebuilds the heap first if its last holder died. Every caller releases
  // it with #unlock() when its section ran through and with #abandon() when the section threw:
  // what withLock() does, without the closure it takes (made on every call).
  #lock() {
    if (this.#mutex.lock().recovered) {
      try {
        this.#heap.rebuild();
      } catch (e) {
        this.#abandon();
        throw e;
      }
    }
  }

  // Releases the mutex, declaring the queue consistent (a recovery finished).
  #unlock() {
    this.#mutex.unlock();
  }

  // Releases the mutex after a section that threw, leaving a pending recovery pending (the next
  // holder rebuilds), as withLock() does.
  #abandon() {
    if (this.#mutex.held) this.#mutex[kRelease]();
  }

  // Refuses a string whose UTF-8 form is longer than messageBytes. A string of at most
  // messageBytes / 3 units fits whatever it encodes to, and is not counted.
  #checkString(text) {
    const length = codec.encodedLength(text, this.#messageBytes);
    if (length > this.#messageBytes) throw codec.tooLarge(length, this.#messageBytes);
  }

  // The checked message of a value other than a string: codec.prepare()'s object, shared by the
  // thread and reused by its next call, so a caller takes the tag and payload out of it before
  // anything else runs (serving pending enqueues can run code that prepares another).
  #prepare(value) {
    const p = codec.prepare(value, 'value', this.#messageBytes);
    const length = codec.encodedLength(p.payload, this.#messageBytes);
    if (length > this.#messageBytes) throw codec.tooLarge(length, this.#messageBytes);
    return p;
  }

  // One attempt: false when full. First, code may have run since the call's first check (the
  // value's toJSON, a promise hook while the handle's pending calls were served) and closed the
  // handle, whose memory may no longer be the region's (a segment's pages swapped for private
  // zeros): ERR_CLOSED, nothing written.
  #push(tag, payload, priority) {
    this.usable_();
    this.#lock();
    let done;
    try {
      done = this.#insert(tag, payload, priority);
    } catch (e) {
      this.#abandon();
      throw e;
    }
    this.#unlock();
    if (done) wakeWaiters(this.#u32, this.#waits.i32, DEQUEUE_WAITERS, ENQUEUED);
    return done;
  }

  // With the mutex held: writes the message into a free node and adds its entry; false when full.
  // The node's state store is the commit point (format.md §15); what the mutex alone guards
  // (nextSeq, the node's other words) is written with plain stores, ordered before the release.
  #insert(tag, payload, priority) {
    const heap = this.#heap;
    const u32 = this.#u32;
    heap.heal();
    if (heap.countHeld() >= this.#capacity) return false;
    const n = heap.takeFree();
    if (n < 0) return false;
    const at = heap.nodeAt(n);
    const seq = u32[NEXT_SEQ];
    u32[NEXT_SEQ] = (seq + 1) >>> 0;
    const w = at / WORD;
    u32[w + N.RECORD] = codec.writeRecord(this.#buf, at + NODE_HEADER, tag, payload, u32);
    u32[w + N.SEQ] = seq;
    heap.f64[heap.nodeF64(n)] = priority;
    Atomics.store(u32, w + N.STATE, C.PQ_NODE_QUEUED); // the commit point
    heap.insert(n, priority, seq);
    return true;
  }

  // One attempt: the first message (removed unless `keep`), or NONE when empty.
  #pop(keep) {
    this.#lock();
    let r;
    try {
      r = this.#first(keep);
    } catch (e) {
      this.#abandon();
      throw e;
    }
    this.#unlock();
    if (r !== NONE && !keep) wakeWaiters(this.#u32, this.#waits.i32, ENQUEUE_WAITERS, DEQUEUED);
    return r;
  }

  // With the mutex held: the first message, removed unless `keep`; NONE when empty.
  #first(keep) {
    const heap = this.#heap;
    heap.heal();
    if (heap.countHeld() === 0) return NONE;
    const n = heap.rootNode();
    if (n < 0) return NONE;
    const at = heap.nodeAt(n);
    const w = at / WORD;
    const record = this.#u32[w + N.RECORD];
    const length = record & LENGTH_MASK;
    if (length > this.#messageBytes) throw codec.corrupt(`a priority queue node record of ${length} bytes`);
    const tag = record >>> TAG_SHIFT;
    // One-byte text, the common case, without a call through the codec.
    const value = tag === TAG_LATIN1 ? codec.latin1(this.#buf, at + NODE_HEADER, length) : codec.decode(this.#buf, at + NODE_HEADER, length, tag);
    if (keep) return value;
    Atomics.store(this.#u32, w + N.STATE, C.PQ_NODE_FREE); // the commit point
    heap.removeRoot(n);
    return value;
  }

  /**
   * Enqueues `value` with `priority` (a finite number) if there is room now (after the handle's
   * pending enqueueAsync() calls). Returns whether it did.
   */
  tryEnqueue(value, priority) {
    this.usable_();
    validatePriority(priority);
    // A string goes as itself: nothing is prepared for it but its check.
    if (typeof value === 'string') {
      this.#checkString(value);
      return this.#enqueues.drained() && this.#push(TAG_UTF8, value, priority);
    }
    const p = this.#prepare(value);
    const tag = p.tag;
    const payload = p.payload;
    return this.#enqueues.drained() && this.#push(tag, payload, priority);
  }

  /** Enqueues, blocking the thread while the queue is full. ERR_QUEUE_TIMEOUT after timeoutMs. */
  enqueue(value, priority, timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.usable_();
    validatePriority(priority);
    let tag = TAG_UTF8;
    let payload = value;
    if (typeof value === 'string') {
      this.#checkString(value);
    } else {
      const p = this.#prepare(value);
      tag = p.tag;
      payload = p.payload;
    }
    // The first attempt here, the wait in a method of its own: the closure it needs (and the
    // context its captured variables would live in from the start of the call) is made only
    // when the queue is full.
    if (this.#enqueues.drained() && this.#push(tag, payload, priority)) return;
    this.#enqueueWait(tag, payload, priority, timeout);
  }

  #enqueueWait(tag, payload, priority, timeout) {
    const attempt = () => (this.#enqueues.drained() && this.#push(tag, payload, priority) ? true : NONE);
    const r = blockUntil(this.#waits, ENQUEUE_WAITERS, DEQUEUED, attempt, NONE, timeout, SPINS, RECHECK_MS, this.#enqueueSpinner, this.#notFull);
    if (r === NONE) throw timedOut('enqueue()', timeout);
  }

  /**
   * Like enqueue() without blocking the event loop; options { timeoutMs, signal }. After the
   * handle's pending enqueueAsync() calls (call order): at once when none is pending.
   */
  enqueueAsync(value, priority, options) {
    const { timeout, signal } = asyncOptions(options);
    this.usable_();
    validatePriority(priority);
    const { tag, payload } = this.#prepare(value);
    return this.#enqueues.run(() => (this.#push(tag, payload, priority) ? true : NONE), timeout, signal)
      .then((r) => { if (r === NONE) throw timedOut('enqueueAsync()', timeout); });
  }

  /**
   * Dequeues the first message (by order, then FIFO), after the handle's pending dequeueAsync()
   * calls, or returns undefined when empty.
   */
  tryDequeue() {
    this.usable_();
    if (!this.#dequeues.drained()) return undefined;
    const r = this.#pop(false);
    return r === NONE ? undefined : r;
  }

  /** Dequeues, blocking the thread while the queue is empty. ERR_QUEUE_TIMEOUT after timeoutMs. */
  dequeue(timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.usable_();
    // The first attempt here, the wait in a method of its own (as in enqueue()).
    if (this.#dequeues.drained()) {
      const first = this.#pop(false);
      if (first !== NONE) return first;
    }
    return this.#dequeueWait(timeout);
  }

  #dequeueWait(timeout) {
    const attempt = () => (this.#dequeues.drained() ? this.#pop(false) : NONE);
    const r = blockUntil(this.#waits, DEQUEUE_WAITERS, ENQUEUED, attempt, NONE, timeout, SPINS, RECHECK_MS, this.#dequeueSpinner, this.#notEmpty);
    if (r === NONE) throw timedOut('dequeue()', timeout);
    return r;
  }

  /**
   * Like dequeue() without blocking the event loop; options { timeoutMs, signal }. After the
   * handle's pending dequeueAsync() calls (call order).
   */
  dequeueAsync(options) {
    const { timeout, signal } = asyncOptions(options);
    this.usable_();
    return this.#dequeues.run(() => this.#pop(false), timeout, signal)
      .then((r) => { if (r === NONE) throw timedOut('dequeueAsync()', timeout); return r; });
  }

  /**
   * The first message without removing it, or undefined when empty. The handle's pending
   * dequeueAsync() calls are served first (call order): a message they are about to take is not
   * shown.
   */
  peek() {
    this.usable_();
    if (!this.#dequeues.drained()) return undefined;
    const r = this.#pop(true);
    return r === NONE ? undefined : r;
  }

  /** Releases the handle (its mutex handle and segment); the queue stays. Idempotent. */
  close() {
    if (this.closed) return;
    this.#mutex.close();
    super.close();
  }

  /** @private Its pending Promise-form calls end with ERR_CLOSED while the region is still mapped. */
  closing_() {
    endPending(() => this.usable_(), this.#enqueues, this.#dequeues);
  }
}

module.exports = { PriorityQueue };
