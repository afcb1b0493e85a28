'use strict';
// Channel: an MPMC queue (mpmc.js) that can be closed, with Go's semantics (docs/format.md §15,
// "Channels"): close() sets the region's `closed` word once; a send that finds it set fails with
// ERR_CHANNEL_CLOSED (a send that had claimed its slot before checking gives the slot up, so
// nothing is delivered after the end); receivers drain what was sent, then see the end:
// receive() rejects with ERR_CHANNEL_CLOSED and `for await` stops. Promise forms for the event
// loop, blocking forms for workers, try forms that never wait. Within one handle, sends complete
// in call order and receives take messages in call order (async-fifo.js): a send or receive called
// while earlier ones of the handle are pending queues behind them (Go's sendq / recvq).
const { C, W } = require('../layout/layout');
const v = require('../base/validate');
const { addLatency } = require('./latency');
const { msgError } = require('./errors');
const { MpmcQueue, TAKE_SPIN_MS, ROOM_SPIN_MS, SPINS, CLOSED, kWords, kClosable, kPrepare, kCheckString, kPush, kPushPrepared, kPopBatch } = require('./mpmc');
const { Spinner, wakeAll, timeoutOf, asyncOptions, timedOut } = require('./park');
const { waitOnSlot } = require('./mpmc-wait');
const { AsyncFifo, endPending } = require('./async-fifo');
const S = require('./mpmc-slots');
const { ReceiveIterator, iterateOptions } = require('./receive-iterator');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const CTL = C.MPMC_CONTROL_OFFSET / WORD;
const CLOSED_WORD = CTL + W.MPMC_CONTROL.CLOSED;
const PRODUCED = CTL + W.MPMC_CONTROL.PRODUCED;
const CONSUMED = CTL + W.MPMC_CONTROL.CONSUMED;
const CONSUMER_WAITERS = CTL + W.MPMC_CONTROL.CONSUMER_WAITERS;
const PRODUCER_WAITERS = CTL + W.MPMC_CONTROL.PRODUCER_WAITERS;
const RECHECK_MS = C.MPMC_RECHECK_MS;
const NONE = Symbol('none');
const kInternal = Symbol('shmstore.Channel.internal');

function closedError(what) {
  return msgError('ERR_CHANNEL_CLOSED', `${what}: the channel is closed`);
}

// What every call of a disposed handle throws (and its pending calls reject with).
function disposedError() {
  return msgError('ERR_CLOSED', 'The channel handle is disposed');
}

class Channel {
  #q;
  #u32;
  #i32;
  #sends; // this handle's pending send() and sendBatch() calls, in call order
  #receives; // its pending receive() and receiveBatch() calls (and `for await`), in call order
  #waits; // what mpmc-wait.js sees of the channel: its blocking forms poll and sleep as the queue's
  #receiveSpinner = new Spinner(TAKE_SPIN_MS, TAKE_SPIN_MS); // as the queue's, one per side
  #sendSpinner = new Spinner(ROOM_SPIN_MS, TAKE_SPIN_MS);

  /** @private Use Channel.create() or Channel.open(). */
  constructor(token, q) {
    if (token !== kInternal) throw new TypeError('Channel cannot be constructed directly: use Channel.create() or Channel.open()');
    this.#q = q;
    q[kClosable]();
    this.#u32 = q[kWords];
    this.#i32 = new Int32Array(this.#u32.buffer, this.#u32.byteOffset, this.#u32.length);
    const w = { u32: this.#u32, i32: this.#i32, usable: () => this.#usable() };
    this.#waits = { ...w, capacity: q.capacity, seqIndex_: (pos) => q.seqIndex_(pos) };
    this.#sends = new AsyncFifo(w, PRODUCER_WAITERS, CONSUMED, NONE, RECHECK_MS);
    this.#receives = new AsyncFifo(w, CONSUMER_WAITERS, PRODUCED, NONE, RECHECK_MS);
  }

  /** Creates a channel: the options of MpmcQueue.create (capacity, messageBytes, ...). */
  static create(options) {
    return new Channel(kInternal, MpmcQueue.create(options));
  }

  /** Opens an existing channel (any MPMC queue region). */
  static open(options) {
    return new Channel(kInternal, MpmcQueue.open(options));
  }

  static bytesFor(capacity, options) {
    return MpmcQueue.bytesFor(capacity, options);
  }

  /** @private As MpmcQueue.bytesForOptions_. */
  static bytesForOptions_(options) {
    return MpmcQueue.bytesForOptions_(options);
  }

  get capacity() {
    return this.#q.capacity;
  }

  get messageBytes() {
    return this.#q.messageBytes;
  }

  get size() {
    return this.#q.size;
  }

  get buffer() {
    return this.#q.buffer;
  }

  get byteOffset() {
    return this.#q.byteOffset;
  }

  /** Whether close() was called (by any party). */
  get closed() {
    this.#usable();
    return Atomics.load(this.#u32, CLOSED_WORD) !== 0;
  }

  get skipped() {
    return this.#q.skipped;
  }

  /** @private ERR_CLOSED once this handle is disposed (the latency methods call it). */
  usable_() {
    this.#usable();
  }

  #usable() {
    if (this.#q.closed) throw disposedError();
  }

  // ---- sending -----------------------------------------------------------------------------

  // One attempt: true when sent, false when full; throws when the channel is closed, or when this
  // handle was disposed by code that ran since the call's first check (the value's toJSON, a
  // promise hook while pending sends were served): nothing is sent through a disposed handle.
  #trySend(tag, payload) {
    this.#usable();
    if (Atomics.load(this.#u32, CLOSED_WORD) !== 0) throw closedError('send');
    const r = this.#q[kPush](tag, payload);
    if (r === CLOSED) throw closedError('send');
    return r;
  }

  /**
   * Sends `value` if there is room now, after this handle's pending sends; returns whether it
   * did. ERR_CHANNEL_CLOSED once closed.
   */
  trySend(value) {
    this.#usable();
    if (typeof value === 'string') {
      const tag = this.#checkString(value);
      return this.#sends.drained() && this.#trySend(tag, value);
    }
    // Taken out of the prepared object, the codec's one reused object, before anything else runs:
    // serving pending sends may run code (a promise hook, an abort signal's getter) that prepares
    // another message of the thread.
    const { tag, payload } = this.#q[kPrepare](value);
    return this.#sends.drained() && this.#trySend(tag, payload);
  }

  // The tag of a string a synchronous send sends as itself. Its text is staged in the queue
  // handle's words (encoded once, before the claim; mpmc-batch.js checkText()) only when no send()
  // is pending: serving pending sends may run code that sends on this channel and stages another.
  #checkString(value) {
    return this.#q[kCheckString](value, this.#sends.idle);
  }

  /** Sends `value`, blocking the thread while the channel is full (for workers). */
  sendSync(value, timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.#usable();
    let tag;
    let payload = value;
    if (typeof value === 'string') {
      tag = this.#checkString(value);
    } else {
      ({ tag, payload } = this.#q[kPrepare](value)); // as trySend() takes it
    }
    // The first attempt here, the wait in a method of its own: its closure (and the context the
    // captured variables would live in from the start of the call) is made only when it waits.
    if (this.#sends.drained() && this.#trySend(tag, payload)) return;
    this.#sendWait(tag, payload, timeout);
  }

  #sendWait(tag, payload, timeout) {
    const r = this.#blockSync(PRODUCER_WAITERS, CONSUMED, () => (this.#sends.drained() && this.#trySend(tag, payload) ? true : NONE), timeout);
    if (r === NONE) throw timedOut('sendSync()', timeout);
  }

  /**
   * Sends `value` without blocking the event loop; options { timeoutMs, signal }. After the
   * handle's pending sends (call order): at once when none is pending.
   */
  send(value, options) {
    const { timeout, signal } = asyncOptions(options);
    this.#usable();
    // A copy: the prepared message is the codec's one reused object, which the next send() of this
    // thread overwrites while this one waits.
    const { tag, payload } = this.#q[kPrepare](value);
    return this.#sends.run(() => (this.#trySend(tag, payload) ? true : NONE), timeout, signal)
      .then((r) => { if (r === NONE) throw timedOut('send()', timeout); });
  }

  // ---- receiving ---------------------------------------------------------------------------

  // One attempt: the next message, NONE when empty; throws when closed and drained (nothing
  // queued and no slot claimed by a sender: a claimed slot is still published or given up).
  #tryReceive() {
    const value = this.#q.tryDequeue();
    if (value !== undefined) return value;
    if (this.#drainedAfterClose()) throw closedError('receive');
    return NONE;
  }

  // Closed, nothing queued and no slot claimed by a sender (a claimed slot is still published or
  // given up).
  #drainedAfterClose() {
    return Atomics.load(this.#u32, CLOSED_WORD) !== 0 &&
      S.diff(Atomics.load(this.#u32, S.TAIL), Atomics.load(this.#u32, S.HEAD)) <= 0;
  }

  /**
   * The next message, or undefined when none is queued now. Not the end, even once closed: a
   * sender that claimed its slot before close() may still publish it (receiveSync(0) tells).
   */
  tryReceive() {
    this.#usable();
    return this.#receives.drained() ? this.#q.tryDequeue() : undefined;
  }

  /** Receives, blocking the thread while the channel is empty (for workers). ERR_CHANNEL_CLOSED at the end. */
  receiveSync(timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.#usable();
    // A first attempt without the wait's closure, as sendSync() makes it.
    if (this.#receives.drained()) {
      const value = this.#tryReceive();
      if (value !== NONE) return value;
    }
    return this.#receiveWait(timeout);
  }

  #receiveWait(timeout) {
    const r = this.#blockSync(CONSUMER_WAITERS, PRODUCED, () => (this.#receives.drained() ? this.#tryReceive() : NONE), timeout);
    if (r === NONE) throw timedOut('receiveSync()', timeout);
    return r;
  }

  /**
   * Receives without blocking the event loop, after the handle's pending receives (call order);
   * rejects with ERR_CHANNEL_CLOSED at the end.
   */
  receive(options) {
    const { timeout, signal } = asyncOptions(options);
    this.#usable();
    return this.#receives.run(() => this.#tryReceive(), timeout, signal)
      .then((r) => {
        if (r === NONE) throw timedOut('receive()', timeout);
        return r;
      });
  }

  /**
   * Sends every value of `values` in order, claiming as many slots as there is room for at a time
   * (up to 64 with one CAS) and waiting, as send() does, only while none is free; resolves how
   * many were sent. Every value is checked before the first is sent. ERR_QUEUE_TIMEOUT and
   * ERR_CHANNEL_CLOSED carry `sent`: how many values (a prefix) the channel took before it; so
   * do the TypeError of bytes detached (transferred) or shrunk after the call, before the
   * channel took them, and ERR_ABORTED, an abort of `signal` (its `cause` the signal's reason).
   * One pending send of the handle (call order): sends called after it wait
   * for the whole batch.
   */
  sendBatch(values, options) {
    if (!Array.isArray(values)) throw v.invalidType('values', 'an array', values);
    const { timeout, signal } = asyncOptions(options);
    this.#usable();
    const n = values.length;
    const tags = new Array(n);
    const payloads = new Array(n);
    for (let k = 0; k < n; k++) {
      const p = this.#q[kPrepare](values[k]);
      tags[k] = p.tag;
      payloads[k] = p.payload;
    }
    // How far the batch went: `sent` values (a prefix) taken by the channel.
    const batch = { tags, payloads, sent: 0, end: n };
    // An abort of the batch: ERR_ABORTED carrying how far it went, the signal's reason its cause.
    const abortedAfter = (reason) => {
      const aborted = msgError('ERR_ABORTED', `sendBatch() was aborted after sending ${batch.sent} of ${n} values`, { cause: reason });
      aborted.sent = batch.sent;
      return aborted;
    };
    // Nothing to send: nothing to wait for either, but a signal aborted already rejects as it does
    // for any batch (the caller learns of the abort the same way whatever the array holds).
    if (n === 0) return signal?.aborted ? Promise.reject(abortedAfter(signal.reason)) : Promise.resolve(0);
    // One attempt: sends what there is room for now; true once every value was sent, else NONE
    // (the batch stays at the head of the pending sends: a send after it does not come between
    // its values). Bytes detached or shrunk since they were checked throw (ERR_INVALID_ARG) with
    // batch.sent counting the values before them.
    const attempt = () => {
      this.#usable(); // as #trySend(): a toJSON above may have disposed the handle
      if (Atomics.load(this.#u32, CLOSED_WORD) !== 0) throw closedError('sendBatch');
      let open;
      try {
        open = this.#q[kPushPrepared](batch);
      } catch (e) {
        e.sent = batch.sent;
        throw e;
      }
      if (!open) throw closedError('sendBatch');
      return batch.sent === n ? true : NONE;
    };
    return this.#sends.run(attempt, timeout, signal).then((r) => {
      if (r !== NONE) return n;
      const e = timedOut('sendBatch()', timeout);
      e.sent = batch.sent;
      throw e;
    }, (e) => {
      // Every rejection says how far the batch went. An abort too: the signal's reason alone
      // would not say how many values went out before it (some may have, the rest will not), so
      // it becomes the cause of an ERR_ABORTED that carries `sent`, whether or not any was sent.
      if (signal !== undefined && signal.aborted && e === signal.reason) throw abortedAfter(e);
      // ERR_CLOSED: the handle was disposed with the batch pending. Each pending call is rejected
      // with an error of its own (AsyncFifo#failAll()), so each batch's count stays its own.
      if (e?.code === 'ERR_CHANNEL_CLOSED' || e?.code === 'ERR_CLOSED') e.sent = batch.sent;
      throw e;
    });
  }

  /**
   * Receives at least one message and at most `max` (what is queued, without waiting for more),
   * claiming up to 64 slots with one CAS; rejects with ERR_CHANNEL_CLOSED at the end, as receive().
   * One pending receive of the handle (call order), as receive().
   */
  receiveBatch(max, options) {
    v.validateInteger(max, 'max', 1, 2 ** 32 - 1);
    const { timeout, signal } = asyncOptions(options);
    this.#usable();
    const out = [];
    const attempt = () => {
      if (this.#q[kPopBatch](out, max) > 0) return out;
      if (this.#drainedAfterClose()) throw closedError('receiveBatch');
      return NONE;
    };
    return this.#receives.run(attempt, timeout, signal)
      .then((r) => {
        if (r === NONE) throw timedOut('receiveBatch()', timeout);
        return r;
      });
  }

  /**
   * An async iterator of every message until the channel is closed and drained (receive() calls:
   * the same order), that can be stopped while a receive is pending: by its return() (what
   * `break` calls; the pending next() resolves { done: true }) or by an abort of `signal` (the
   * pending next() rejects with its reason). Stopping loses no message: one the pending receive
   * took is delivered, else it stays in the channel (receive-iterator.js).
   */
  iterate(options) {
    const signal = iterateOptions(options);
    this.#usable();
    return new ReceiveIterator((s) => this.receive({ signal: s }), (e) => e?.code === 'ERR_CHANNEL_CLOSED', signal);
  }

  /** `for await (const m of channel)`: iterate(). */
  [Symbol.asyncIterator]() {
    return this.iterate();
  }

  // ---- closing -----------------------------------------------------------------------------

  /**
   * Closes the channel for every party: sends fail from now on, receivers drain and then see the
   * end, and every waiting party is woken. ERR_CHANNEL_CLOSED if it was closed already (as Go).
   */
  close() {
    this.#usable();
    if (Atomics.compareExchange(this.#u32, CLOSED_WORD, 0, 1) !== 0) throw closedError('close');
    for (const [waiters, word] of [[CONSUMER_WAITERS, PRODUCED], [PRODUCER_WAITERS, CONSUMED]]) {
      Atomics.store(this.#u32, waiters, 0);
      Atomics.add(this.#u32, word, 1);
      wakeAll(this.#i32, word);
    }
  }

  /** Releases this handle (its owner record; the channel stays). Idempotent. */
  dispose() {
    if (this.#q.closed) return;
    // The pending calls end first, with ERR_CLOSED, not at their waiting loop's next check (which
    // on a segment would fail them with the futex's error), and while the region is still mapped:
    // ending them takes back their registration in the waiter count, which, once the segment this
    // handle opened is closed, would be stored in private zeros and never reach the other parties.
    endPending(() => {
      throw disposedError();
    }, this.#sends, this.#receives);
    this.#q.close();
  }

  // ---- waiting (as MpmcQueue's: poll, then read the wake word, register, try, park) ---------
  // The blocking forms; the Promise forms wait in #sends / #receives (async-fifo.js).

  // Waits for attempt() at most `timeout` ms (then NONE): polls the slot it waits for while the
  // other side answers within the side's polling budget, then sleeps (mpmc-wait.js waitOnSlot()).
  // A timeout of 0 tries once, without polling. The attempt that a timeout ends with comes after
  // the deadline: what came before it is not left behind while the call reports a timeout.
  #blockSync(waiters, word, attempt, timeout) {
    const receiving = waiters === CONSUMER_WAITERS;
    const spinner = receiving ? this.#receiveSpinner : this.#sendSpinner;
    return waitOnSlot(this.#waits, spinner, receiving ? S.HEAD : S.TAIL, waiters, word, attempt, NONE, timeout, SPINS, RECHECK_MS);
  }
}

if (typeof Symbol.dispose === 'symbol') Channel.prototype[Symbol.dispose] = Channel.prototype.dispose;

// Opt-in latency histograms (lib/msg/latency.js).
addLatency(Channel, ['trySend', 'sendSync', 'tryReceive', 'receiveSync'],
  ['send', 'receive', 'sendBatch', 'receiveBatch']);

module.exports = { Channel };
