'use strict';
// Stack: a bounded lock-free LIFO (docs/format.md §15, "Stack") in a segment or a
// SharedArrayBuffer: a Treiber stack over a fixed array of nodes, with a second list of the free
// nodes, both protected from ABA by a tag in the head word (stack-lists.js). Every handle has an
// owner record of §6, and a node taken off a list is recorded as held by that record, so the
// node of a party that dies (SIGKILL, a terminated worker) between taking it and putting it back
// is given back by the others (reclaim()): at most that party's one message is lost, none is
// ever delivered twice. Within one handle, pushes complete in call order and pops take in call
// order (each the top at its turn): one called while Promise forms of the same side are pending
// queues behind them (async-fifo.js), and the try and blocking forms first let those complete as
// far as they can now.
// The module's own binding of Buffer: the global is an accessor of globalThis, which optimized
// code reads through a call each time.
const { Buffer } = require('buffer');
const { threadId } = require('worker_threads');
const { C, W } = require('../layout/layout');
const { OwnerTable, identityOf, GONE } = require('../ownership/owners');
const region = require('./region');
const { RegionHandle, make } = require('./handle');
const codec = require('./codec');
const { msgError } = require('./errors');
const { Spinner, timeoutOf, asyncOptions, timedOut, blockUntil, wakeWaiters } = require('./park');
const { AsyncFifo, endPending } = require('./async-fifo');
const L = require('./stack-lists');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const CTL = C.STACK_CONTROL_OFFSET / WORD;
const PUSHED = CTL + W.STACK_CONTROL.PUSHED;
const POPPED = CTL + W.STACK_CONTROL.POPPED;
const POP_WAITERS = CTL + W.STACK_CONTROL.POP_WAITERS;
const PUSH_WAITERS = CTL + W.STACK_CONTROL.PUSH_WAITERS;
const OWNERS = C.STACK_OWNERS_OFFSET / WORD;
const NODES = C.STACK_NODES_OFFSET;
const NODE_HEADER = C.STACK_NODE_HEADER_BYTES;
const RECORD = W.STACK_NODE.RECORD;
const TAG_SHIFT = C.MSG_TAG_SHIFT;
const LENGTH_MASK = C.MSG_LENGTH_MASK;
const TAG_UTF8 = C.MSG_TAG_UTF8;
const TAG_LATIN1 = C.MSG_TAG_LATIN1;
const RECHECK_MS = C.STACK_RECHECK_MS;
const MAX_BYTES = 2 ** 31;
const DEFAULT_MESSAGE_BYTES = 240; // a 256-byte node
const SPINS = 50; // attempts before a waiting party parks
const NONE = Symbol('none');
const CREATE_KEYS = ['name', 'path', 'buffer', 'byteOffset', 'size', 'capacity', 'messageBytes'];

const strideOf = (messageBytes) => Math.ceil((NODE_HEADER + messageBytes) / C.STACK_NODE_ALIGN) * C.STACK_NODE_ALIGN;
const bytesFor = (capacity, messageBytes) => NODES + capacity * strideOf(messageBytes);

const LIMITS = Object.freeze({
  minCapacity: C.STACK_MIN_CAPACITY, maxCapacity: C.STACK_MAX_CAPACITY, maxMessageBytes: C.STACK_MAX_MESSAGE_BYTES,
  maxBytes: MAX_BYTES, bytesFor, what: 'stack', noun: 'stack', unit: 'nodes',
});

class Stack extends RegionHandle {
  #buf;
  #messageBytes;
  #owners;
  #self;
  #slot = 0;
  #token = 0;
  #lastRepair = -Infinity;
  #waits;
  #pushes; // this handle's pending pushAsync() calls, in call order (async-fifo.js)
  #pops; // its pending popAsync() calls, in call order
  // The polling budgets of the blocking pushes and pops (park.js): each role learns its own.
  #pushSpinner = new Spinner();
  #popSpinner = new Spinner();
  // What stack-lists.js works on: { u32, u64, capacity, base, strideWords } (node n's words
  // start at base + n × strideWords).
  #r;
  #u32;
  #base;
  #strideWords;
  #capacity;

  /** @private Use Stack.create() or Stack.open(). */
  constructor(token, where) {
    super(token, where, 'stack');
    const buffer = this.buffer;
    const at = where.byteOffset;
    const h = region.checkShape(buffer, at, C.MSG_KIND_STACK, LIMITS);
    const { bytes } = h;
    this.#capacity = h.capacity;
    this.#messageBytes = h.messageBytes;
    const strideWords = strideOf(h.messageBytes) / WORD;
    const u32 = new Uint32Array(buffer, at, bytes / WORD);
    const i32 = new Int32Array(buffer, at, bytes / WORD);
    const u64 = new BigUint64Array(buffer, at, NODES / BigUint64Array.BYTES_PER_ELEMENT);
    const base = NODES / WORD - strideWords; // node n (1-based) starts at base + n × stride
    this.#r = { u32, u64, capacity: h.capacity, base, strideWords };
    this.#u32 = u32;
    this.#base = base;
    this.#strideWords = strideWords;
    this.#buf = Buffer.from(buffer, at, bytes);
    this.#waits = { u32, i32, usable: () => this.usable_() };
    this.#pushes = new AsyncFifo(this.#waits, PUSH_WAITERS, POPPED, NONE, RECHECK_MS);
    this.#pops = new AsyncFifo(this.#waits, POP_WAITERS, PUSHED, NONE, RECHECK_MS);
    this.#owners = new OwnerTable(u32, OWNERS, C.STACK_OWNER_SLOTS);
    this.#self = identityOf(process.pid, threadId);
    this.#claim();
  }

  #claim() {
    const owners = this.#owners;
    let slot = owners.claim(this.#self);
    const adopted = slot === 0;
    if (adopted) {
      slot = owners.adopt(this.#self);
      if (slot === 0) throw msgError('ERR_TOO_MANY_HANDLES', `All ${C.STACK_OWNER_SLOTS - 1} owner slots of the stack are in use`);
    }
    this.#slot = slot;
    this.#token = owners.watch(slot, this.#self);
    // The record of a gone owner was taken over: the nodes it held now look held by this live
    // handle, which holds none, so they go back to the free list at once.
    if (adopted) this.#reclaim();
  }

  /** Creates a stack: a new segment (exclusive), or a stack in a SharedArrayBuffer. */
  static create(options) {
    region.validateCreateOptions(options);
    const { messageBytes, bytes } = region.createShape(options, LIMITS, DEFAULT_MESSAGE_BYTES);
    const where = region.place(options, { create: true, keys: CREATE_KEYS, bytes });
    const buffer = where.segment ? where.segment.buffer : where.buffer;
    // Everything but the header, then the header with the magic last.
    new Uint32Array(buffer, where.byteOffset, NODES / WORD).fill(0, C.MSG_HEADER_OFFSET / WORD + W.MSG_HEADER.WORDS);
    const strideWords = strideOf(messageBytes) / WORD;
    const base = NODES / WORD - strideWords;
    L.init({
      u32: new Uint32Array(buffer, where.byteOffset, bytes / WORD),
      u64: new BigUint64Array(buffer, where.byteOffset, NODES / BigUint64Array.BYTES_PER_ELEMENT),
      capacity: options.capacity,
      base,
      strideWords,
    });
    region.stamp(buffer, where.byteOffset, C.MSG_KIND_STACK, options.capacity, messageBytes);
    return make(Stack, where);
  }

  /** The bytes a stack of `capacity` nodes takes; options { messageBytes }. */
  static bytesFor(capacity, options) {
    const messageBytes = region.messageBytesOption(options, DEFAULT_MESSAGE_BYTES);
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

  /**
   * Messages on the stack (a snapshot: others move it meanwhile): the depth of the top node
   * (stack-lists.js size()), in constant time, not the `stacked` count, which parties killed
   * between their change of the list and their move of the count leave off for good.
   */
  get size() {
    this.usable_();
    return L.size(this.#r);
  }

  /**
   * Messages lost with parties that were gone: { pushes } taken to be pushed and never pushed,
   * { pops } popped and never handed back (lost, or delivered to the party that died).
   */
  get lost() {
    this.usable_();
    return { pushes: Atomics.load(this.#r.u32, L.LOST_PUSHES), pops: Atomics.load(this.#r.u32, L.LOST_POPS) };
  }

  #reclaim() {
    return L.reclaim(this.#r, this.#slot, (o) => this.#owners.status(o, this.#self) === GONE);
  }

  /** Gives the nodes held by parties that are gone back to the free list now; returns how many. */
  reclaim() {
    this.usable_();
    const n = this.#reclaim();
    if (n > 0) wakeWaiters(this.#r.u32, this.#waits.i32, PUSH_WAITERS, POPPED);
    return n;
  }

  // ---- pushing -----------------------------------------------------------------------------

  // The checked message of a value other than a string, for a push: codec.prepare()'s object,
  // shared by the thread and reused by its next call, so a caller takes the tag and payload out
  // of it before anything else runs (serving pending pushes can run code that prepares another).
  #prepare(value) {
    const p = codec.prepare(value, 'value', this.#messageBytes);
    const length = codec.encodedLength(p.payload, this.#messageBytes);
    if (length > this.#messageBytes) throw codec.tooLarge(length, this.#messageBytes);
    return p;
  }

  // Refuses a string whose UTF-8 form is longer than messageBytes. A string of at most
  // messageBytes / 3 units fits whatever it encodes to, and is not counted.
  #checkString(text) {
    const length = codec.encodedLength(text, this.#messageBytes);
    if (length > this.#messageBytes) throw codec.tooLarge(length, this.#messageBytes);
  }

  // One attempt: takes a free node, writes the message and pushes the node; false when full
  // (after taking back, at most once per recheck period, the nodes of parties that are gone).
  // First, code may have run since the call's first check (the value's toJSON, a promise hook
  // while the handle's pending calls were served) and closed the handle, whose memory may no
  // longer be the region's (a segment's pages swapped for private zeros): ERR_CLOSED, nothing
  // written.
  #push(tag, payload) {
    this.usable_();
    const r = this.#r;
    let n = L.take(r, L.FREE_LIST, this.#slot);
    if (n === 0) {
      n = this.#takeAfterRepair();
      if (n === 0) return false;
    }
    const u32 = this.#u32;
    const at = this.#base + n * this.#strideWords;
    try {
      // A plain store, as the payload's: the CAS that announces the push orders them before it.
      u32[at + RECORD] = codec.writeRecord(this.#buf, at * WORD + NODE_HEADER, tag, payload, u32);
    } catch (e) {
      L.put(r, L.FREE_LIST, this.#slot, n);
      throw e;
    }
    L.put(r, L.STACK, this.#slot, n);
    wakeWaiters(u32, this.#waits.i32, POP_WAITERS, PUSHED);
    return true;
  }

  // The free list was empty: takes back the nodes of gone parties (at most once per recheck
  // period) and takes one of them; 0 when there is none.
  #takeAfterRepair() {
    const now = performance.now();
    if (now - this.#lastRepair < RECHECK_MS) return 0;
    this.#lastRepair = now;
    if (this.#reclaim() === 0) return 0;
    return L.take(this.#r, L.FREE_LIST, this.#slot);
  }

  /** Pushes `value` if there is room now (after the handle's pending pushAsync() calls). Returns whether it did. */
  tryPush(value) {
    this.usable_();
    // A string goes as itself: nothing is prepared for it but its check.
    if (typeof value === 'string') {
      this.#checkString(value);
      return this.#pushes.drained() && this.#push(TAG_UTF8, value);
    }
    const p = this.#prepare(value);
    const tag = p.tag;
    const payload = p.payload;
    return this.#pushes.drained() && this.#push(tag, payload);
  }

  /** Pushes `value`, blocking the thread while the stack is full. ERR_QUEUE_TIMEOUT after timeoutMs. */
  push(value, timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.usable_();
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
    // when the stack is full.
    if (this.#pushes.drained() && this.#push(tag, payload)) return;
    this.#pushWait(tag, payload, timeout);
  }

  #pushWait(tag, payload, timeout) {
    const attempt = () => (this.#pushes.drained() && this.#push(tag, payload) ? true : NONE);
    const r = blockUntil(this.#waits, PUSH_WAITERS, POPPED, attempt, NONE, timeout, SPINS, RECHECK_MS, this.#pushSpinner);
    if (r === NONE) throw timedOut('push()', timeout);
  }

  /**
   * Like push() without blocking the event loop; options { timeoutMs, signal }. After the
   * handle's pending pushAsync() calls (call order): at once when none is pending.
   */
  pushAsync(value, options) {
    const { timeout, signal } = asyncOptions(options);
    this.usable_();
    const { tag, payload } = this.#prepare(value);
    return this.#pushes.run(() => (this.#push(tag, payload) ? true : NONE), timeout, signal)
      .then((r) => { if (r === NONE) throw timedOut('pushAsync()', timeout); });
  }

  // ---- popping -----------------------------------------------------------------------------

  // One attempt: pops the top node, reads it and frees it; NONE when the stack is empty.
  #pop() {
    const r = this.#r;
    const n = L.take(r, L.STACK, this.#slot);
    if (n === 0) return NONE;
    const u32 = this.#u32;
    const at = this.#base + n * this.#strideWords;
    let value;
    try {
      value = this.#decode(this.#buf, at * WORD + NODE_HEADER, u32[at + RECORD]);
    } finally {
      L.put(r, L.FREE_LIST, this.#slot, n);
      wakeWaiters(u32, this.#waits.i32, PUSH_WAITERS, POPPED);
    }
    return value;
  }

  #decode(buf, at, h) {
    const length = h & LENGTH_MASK;
    if (length > this.#messageBytes) throw codec.corrupt(`a stack node record of ${length} bytes`);
    const tag = h >>> TAG_SHIFT;
    // One-byte text, the common case, without a call through the codec.
    return tag === TAG_LATIN1 ? codec.latin1(buf, at, length) : codec.decode(buf, at, length, tag);
  }

  /** Pops the top message (after the handle's pending popAsync() calls), or returns undefined when the stack is empty. */
  tryPop() {
    this.usable_();
    if (!this.#pops.drained()) return undefined;
    const r = this.#pop();
    return r === NONE ? undefined : r;
  }

  /** Pops, blocking the thread while the stack is empty. ERR_QUEUE_TIMEOUT after timeoutMs. */
  pop(timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.usable_();
    // The first attempt here, the wait in a method of its own (as in push()).
    if (this.#pops.drained()) {
      const first = this.#pop();
      if (first !== NONE) return first;
    }
    return this.#popWait(timeout);
  }

  #popWait(timeout) {
    const attempt = () => (this.#pops.drained() ? this.#pop() : NONE);
    const r = blockUntil(this.#waits, POP_WAITERS, PUSHED, attempt, NONE, timeout, SPINS, RECHECK_MS, this.#popSpinner);
    if (r === NONE) throw timedOut('pop()', timeout);
    return r;
  }

  /**
   * Like pop() without blocking the event loop; options { timeoutMs, signal }. After the handle's
   * pending popAsync() calls (call order): each takes the top at its turn.
   */
  popAsync(options) {
    const { timeout, signal } = asyncOptions(options);
    this.usable_();
    return this.#pops.run(() => this.#pop(), timeout, signal)
      .then((r) => { if (r === NONE) throw timedOut('popAsync()', timeout); return r; });
  }

  /**
   * The top message without popping it, or undefined when the stack is empty. The node is copied
   * and kept only if the stack's top did not change meanwhile (a node's bytes change only after
   * it left the stack, which changes the top). The handle's pending popAsync() calls are served
   * first (call order): a top they are about to take is not shown.
   */
  peek() {
    this.usable_();
    if (!this.#pops.drained()) return undefined;
    const r = this.#r;
    for (;;) {
      const n = L.first(r, L.STACK);
      if (n === 0) return undefined;
      const h = L.head();
      const at = this.#base + n * this.#strideWords;
      const record = Atomics.load(r.u32, at + RECORD);
      const length = Math.min(record & LENGTH_MASK, this.#messageBytes);
      const copy = codec.copyBytes(this.#buf, at * WORD + NODE_HEADER, length);
      if (!L.unchanged(r, L.STACK, h)) continue;
      return this.#decode(copy, 0, record);
    }
  }

  /** Releases the handle's owner slot (and closes its segment); the stack stays. Idempotent. */
  close() {
    if (this.closed) return;
    this.#owners.leave(this.#slot, this.#token);
    super.close();
  }

  /** @private Its pending Promise-form calls end with ERR_CLOSED while the region is still mapped. */
  closing_() {
    endPending(() => this.usable_(), this.#pushes, this.#pops);
  }
}
Object.defineProperty(Stack, 'NODES_OFFSET', { value: NODES, enumerable: true });

module.exports = { Stack };
