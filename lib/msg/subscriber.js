'use strict';
// A subscriber of a broadcast channel (broadcast.js; docs/format.md §15, "Broadcast"): its own
// owner record and cursor, reading with the record protocol of broadcast-records.js. Made by
// broadcast.subscribe(); closed by close() or with its Broadcast handle. Its receive() calls take
// consecutive messages in call order: one called while others are pending queues behind them
// (async-fifo.js), and tryReceive() and receiveSync() first let those complete as far as they can.
const { C } = require('../layout/layout');
const { msgError } = require('./errors');
const { park, timeoutOf, asyncOptions, timedOut, oncePer } = require('./park');
const { AsyncFifo, endPending } = require('./async-fifo');
const R = require('./broadcast-records');
const { ReceiveIterator, iterateOptions } = require('./receive-iterator');

const RECHECK_MS = C.BCAST_RECHECK_MS;
const SPINS = 50; // attempts before a waiting subscriber parks
const { NONE } = R;
// The token of broadcast.js: a Subscriber is made only by broadcast.subscribe().
const kCreate = Symbol('shmstore.Subscriber.create');

class Subscriber {
  #state;
  #onClose;
  #token;
  #closed = false;
  // The read state broadcast-records.js moves: the next position, the owner slot, the missed counts.
  #at;
  #receives; // the pending receive() calls, in call order (async-fifo.js)

  /** @private Use broadcast.subscribe(). */
  constructor(token, state, slot, onClose) {
    if (token !== kCreate) throw new TypeError('Subscriber cannot be constructed directly: use broadcast.subscribe()');
    this.#state = state;
    this.#onClose = onClose;
    this.#at = { slot, cursor: Atomics.load(state.u32, R.partyWord(slot, R.CURSOR)), missed: 0, pendingMissed: 0, received: 0 };
    this.#token = state.owners.watch(slot, state.self);
    const w = { u32: state.u32, i32: state.i32, usable: () => this.#usable() };
    this.#receives = new AsyncFifo(w, R.WAITERS, R.PUBLISHED, NONE, RECHECK_MS);
  }

  /** The subscriber's owner slot in the channel (what `broadcast.subscribers` counts). */
  get id() {
    return this.#at.slot;
  }

  /** Messages received so far. */
  get received() {
    return this.#at.received;
  }

  /** Messages overwritten before this subscriber read them, so far. */
  get missed() {
    return this.#at.missed;
  }

  /**
   * Messages published and not yet read by this subscriber (at most the capacity unless it lags
   * further; modulo 2^32, the positions' range).
   */
  get lag() {
    this.#usable();
    return R.behind(Atomics.load(this.#state.u32, R.TAIL), this.#at.cursor);
  }

  get closed() {
    return this.#closed;
  }

  #usable() {
    if (this.#closed) throw msgError('ERR_CLOSED', 'The subscriber is closed');
  }

  #repair = oncePer(RECHECK_MS);

  // One attempt: { value, missed } or NONE.
  #next() {
    const at = this.#at;
    const value = R.read(this.#state, at, this.#repair);
    if (value === NONE) return NONE;
    const missed = at.pendingMissed;
    at.pendingMissed = 0;
    at.received++;
    return { value, missed };
  }

  /** The next message as { value, missed } (after the pending receive() calls), or undefined when none is published yet. */
  tryReceive() {
    this.#usable();
    const r = this.#receives.drained() ? this.#next() : NONE;
    return r === NONE ? undefined : r;
  }

  /** The next message as { value, missed }, blocking the thread while there is none (for workers). */
  receiveSync(timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.#usable();
    const attempt = () => (this.#receives.drained() ? this.#next() : NONE);
    for (let i = 0; i < SPINS; i++) {
      const r = attempt();
      if (r !== NONE) return r;
    }
    const deadline = performance.now() + timeout;
    const { u32, i32 } = this.#state;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) {
        // One last attempt after the deadline: a message published during the last park (its
        // wake-up is what ended it) must not be left behind while the call reports a timeout.
        const r = attempt();
        if (r !== NONE) return r;
        throw timedOut('receiveSync()', timeout);
      }
      // The word first, then the registration (format.md §15, "Waking" of the broadcast).
      const seen = Atomics.load(u32, R.PUBLISHED);
      Atomics.add(u32, R.WAITERS, 1);
      const r = attempt();
      if (r !== NONE) return r;
      park(i32, R.PUBLISHED, seen, Math.min(left, RECHECK_MS));
      this.#usable();
    }
  }

  /**
   * The next message as { value, missed } without blocking the event loop; options { timeoutMs,
   * signal }. After the pending receive() calls (call order): they take consecutive messages.
   */
  receive(options) {
    const { timeout, signal } = asyncOptions(options);
    this.#usable();
    return this.#receives.run(() => this.#next(), timeout, signal)
      .then((r) => { if (r === NONE) throw timedOut('receive()', timeout); return r; });
  }

  /**
   * An async iterator of every message as { value, missed } until the subscriber is closed, that
   * can be stopped while a receive is pending: by its return() (what `break` calls) or by an abort
   * of `signal`, as channel.iterate(). Stopping loses no message: one the pending receive took
   * is delivered, else the subscriber's next receive gets it (receive-iterator.js).
   */
  iterate(options) {
    const signal = iterateOptions(options);
    this.#usable();
    return new ReceiveIterator((s) => this.receive({ signal: s }), (e) => e?.code === 'ERR_CLOSED' && this.#closed, signal);
  }

  /** `for await (const { value, missed } of subscriber)`: iterate(). */
  [Symbol.asyncIterator]() {
    return this.iterate();
  }

  /** Unsubscribes: releases the owner record. Idempotent. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.#state;
    Atomics.store(s.u32, R.partyWord(this.#at.slot, R.ROLES), 0);
    s.owners.leave(this.#at.slot, this.#token);
    this.#onClose();
    endPending(() => this.#usable(), this.#receives);
  }
}

if (typeof Symbol.dispose === 'symbol') Subscriber.prototype[Symbol.dispose] = Subscriber.prototype.close;

module.exports = { Subscriber, kCreate };
