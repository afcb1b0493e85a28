'use strict';
// A subscriber of a broadcast channel (broadcast.js; docs/format.md §15, "Broadcast"): its own
// owner record and cursor, reading with the record protocol of broadcast-records.js. Made by
// broadcast.subscribe(); closed by close() or with its Broadcast handle.
const { C } = require('../layout/layout');
const { msgError } = require('./errors');
const { park, parkAsync, timeoutOf, asyncOptions, abortable, timedOut, oncePer } = require('./park');
const R = require('./broadcast-records');

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

  /** @private Use broadcast.subscribe(). */
  constructor(token, state, slot, onClose) {
    if (token !== kCreate) throw new TypeError('Subscriber cannot be constructed directly: use broadcast.subscribe()');
    this.#state = state;
    this.#onClose = onClose;
    this.#at = { slot, cursor: Atomics.load(state.u32, R.partyWord(slot, R.CURSOR)), missed: 0, pendingMissed: 0, received: 0 };
    this.#token = state.owners.watch(slot, state.self);
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

  /** The next message as { value, missed }, or undefined when none is published yet. */
  tryReceive() {
    this.#usable();
    const r = this.#next();
    return r === NONE ? undefined : r;
  }

  /** The next message as { value, missed }, blocking the thread while there is none (for workers). */
  receiveSync(timeoutMs) {
    const timeout = timeoutOf(timeoutMs);
    this.#usable();
    for (let i = 0; i < SPINS; i++) {
      const r = this.#next();
      if (r !== NONE) return r;
    }
    const deadline = performance.now() + timeout;
    const { u32, i32 } = this.#state;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) throw timedOut('receiveSync()', timeout);
      // The word first, then the registration (format.md §15, "Waking" of the broadcast).
      const seen = Atomics.load(u32, R.PUBLISHED);
      Atomics.add(u32, R.WAITERS, 1);
      const r = this.#next();
      if (r !== NONE) return r;
      park(i32, R.PUBLISHED, seen, Math.min(left, RECHECK_MS));
      this.#usable();
    }
  }

  /** The next message as { value, missed } without blocking the event loop; options { timeoutMs, signal }. */
  receive(options) {
    const { timeout, signal } = asyncOptions(options);
    this.#usable();
    return this.#receive(timeout, signal);
  }

  async #receive(timeout, signal) {
    const deadline = performance.now() + timeout;
    const { u32, i32 } = this.#state;
    for (;;) {
      signal?.throwIfAborted();
      this.#usable();
      const r0 = this.#next();
      if (r0 !== NONE) return r0;
      const left = deadline - performance.now();
      if (left <= 0) throw timedOut('receive()', timeout);
      const seen = Atomics.load(u32, R.PUBLISHED);
      Atomics.add(u32, R.WAITERS, 1);
      const r = this.#next();
      if (r !== NONE) return r;
      await abortable(parkAsync(i32, R.PUBLISHED, seen, Math.min(left, RECHECK_MS)), signal);
    }
  }

  /** Every message as { value, missed } until the subscriber is closed. */
  async *[Symbol.asyncIterator]() {
    for (;;) {
      try {
        yield await this.receive();
      } catch (e) {
        if (e.code === 'ERR_CLOSED' && this.#closed) return;
        throw e;
      }
    }
  }

  /** Unsubscribes: releases the owner record. Idempotent. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.#state;
    Atomics.store(s.u32, R.partyWord(this.#at.slot, R.ROLES), 0);
    s.owners.leave(this.#at.slot, this.#token);
    this.#onClose();
  }
}

if (typeof Symbol.dispose === 'symbol') Subscriber.prototype[Symbol.dispose] = Subscriber.prototype.close;

module.exports = { Subscriber, kCreate };
