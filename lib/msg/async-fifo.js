'use strict';
// The pending Promise-form operations of one side (sending or receiving) of one queue handle, in
// call order. Without it each pending operation waited on its own and retried when its own wake-up
// came, so a later call could take the room (or the message) an earlier one waited for: a loop of
// `send(x)` without awaiting delivered out of order, and the first of several `receive()`s could
// get the last message. Here an operation called while earlier ones of the same side are pending
// queues behind them, and one waiting loop per side (one registration with the shared waiter word
// rather than one per pending operation) serves them head first, at each wake-up: the head's
// attempt runs until it completes, then the next one's (Go's sendq / recvq, within one handle).
// Across handles, threads and processes nothing is ordered beyond the queue's own FIFO.
//
// Two kinds of wait (format.md §15, Waking): a count of waiters with a wake word (the MPMC queue,
// the channel, the stack, the priority queue, a broadcast's subscribers), or the SPSC ring's
// sleeping flag of the side with the other side's index as the word (AsyncFifo.flagged()).
const { parkAsync, unparkOwn, wakeAll } = require('./park');

const MAX_DELAY_MS = 2 ** 31 - 1;

class AsyncFifo {
  #w; // { u32, i32, usable() } of the handle
  #waiters; // u32 index of the side's waiter count, or -1 (a sleeping flag instead)
  #flag = -1; // u32 index of the side's sleeping flag (AsyncFifo.flagged()), or -1
  #word; // u32 index of the side's wake word (for a flag: the other side's index)
  #none; // what an attempt returns when it cannot complete now
  #recheckMs;
  // A doubly linked list of pending operations, head first: a timed-out or aborted one leaves
  // from anywhere in O(1), the others keeping their order.
  #head = null;
  #tail = null;
  #count = 0;
  #pumping = false;
  #parked = false; // the waiting loop awaits its park (set around the await only)

  constructor(w, waiters, word, none, recheckMs) {
    this.#w = w;
    this.#waiters = waiters;
    this.#word = word;
    this.#none = none;
    this.#recheckMs = recheckMs;
  }

  /**
   * The pending operations of one side of an SPSC ring handle: the side waits by storing its
   * sleeping flag u32[flag] = 1 and parking on the other side's index u32[word] (format.md §15,
   * Waking, of the ring) instead of registering in a waiter count. One such wait per side of a
   * handle: several pending operations no longer raise and clear the one flag over each other.
   */
  static flagged(w, flag, word, none, parkMs) {
    const fifo = new AsyncFifo(w, -1, word, none, parkMs);
    fifo.#flag = flag;
    return fifo;
  }

  /**
   * Serves the pending operations as far as they can complete now (serve()) and returns whether
   * none is left: what a try or blocking form of the handle checks first, so that it does not
   * overtake them. No work when none is pending.
   */
  drained() {
    if (this.#count === 0) return true;
    this.serve();
    return this.#count === 0;
  }

  /** Whether no operation of this side is pending. */
  get idle() {
    return this.#count === 0;
  }

  /**
   * Runs attempt() (a result, `none` when it cannot complete now, or a throw) in call order with
   * this side's other pending operations: at once when none is pending (the fast path: one
   * attempt), else after the operations before it completed or left. Resolves with its result, or
   * with `none` once `timeout` ms passed; rejects with what attempt() throws, or with the signal's
   * reason once `signal` aborts. The caller checked that the handle is usable.
   */
  run(attempt, timeout, signal) {
    if (signal?.aborted) return Promise.reject(signal.reason);
    // Operations pending: they complete first, as far as they can now.
    if (this.#count !== 0) this.serve();
    if (this.#count === 0) {
      let r;
      try {
        r = attempt();
      } catch (e) {
        return Promise.reject(e);
      }
      if (r !== this.#none || timeout <= 0) return Promise.resolve(r);
    } else if (timeout <= 0) return Promise.resolve(this.#none);
    return new Promise((resolve, reject) => {
      const deadline = timeout === Infinity ? Infinity : performance.now() + timeout;
      const op = { attempt, resolve, reject, prev: this.#tail, next: null, timer: undefined, deadline, signal, onAbort: undefined };
      if (this.#tail) this.#tail.next = op;
      else this.#head = op;
      this.#tail = op;
      this.#count++;
      if (timeout !== Infinity) this.#expireAt(op, deadline, timeout);
      if (signal) {
        // A { once } listener is removed before it runs: #finish must not remove it again (each
        // removal scans the signal's listeners, so aborting n calls that share a signal would
        // take n^2 steps).
        op.onAbort = () => {
          op.onAbort = undefined;
          this.#finish(op, false, signal.reason);
        };
        signal.addEventListener('abort', op.onAbort, { once: true });
      }
      if (!this.#pumping) this.#pump();
    });
  }

  // A timer that ends `op` with `none` at `deadline`, after serving the side with last tries
  // (serve(true)): what came before the deadline, while the event loop was busy and neither this
  // timer nor the waiting loop could run, is still taken. A timer that fires early, or at the
  // longest delay setTimeout() takes (MAX_DELAY_MS: a longer one would fire at once), is set again.
  #expireAt(op, deadline, ms) {
    op.timer = setTimeout(() => {
      op.timer = undefined;
      const left = deadline - performance.now();
      if (left > 0) {
        this.#expireAt(op, deadline, left);
        return;
      }
      this.serve(true);
      if (op.attempt !== null) this.#finish(op, true, this.#none);
    }, Math.min(Math.ceil(ms), MAX_DELAY_MS));
  }

  /**
   * Completes the pending operations head first, as far as they can complete now: stops at the
   * first whose attempt returns `none`. One whose attempt throws is rejected with it and the next
   * one is tried (after close(), every pending send and every receive past the last message). One
   * whose deadline has passed ends with `none`: tried once more first with `lastTry` (this side's
   * own waiting loop and timers), not tried when another form of the handle serves the side (a
   * try or blocking call must not wait behind, nor lose what it came for to, a call already timed
   * out).
   */
  serve(lastTry = false) {
    const none = this.#none;
    while (this.#head !== null) {
      const op = this.#head;
      const expired = op.deadline !== Infinity && op.deadline <= performance.now();
      if (expired && !lastTry) {
        this.#finish(op, true, none);
        continue;
      }
      let r;
      try {
        r = op.attempt();
      } catch (e) {
        this.#finish(op, false, e);
        continue;
      }
      if (r !== none) this.#finish(op, true, r);
      else if (expired) this.#finish(op, true, none);
      else return;
    }
  }

  /**
   * Wakes this side's waiting loop, if it runs, to look again (a blocking form of the handle ended
   * and cleared the sleeping flag the loop parks under: SpscRing). A spurious wake-up costs it one
   * more serve. The word did not change, so the loop's park is ended as its own (unparkOwn()), not
   * with a wake that may be missed.
   */
  nudge() {
    if (this.#pumping) unparkOwn(this.#w.i32, this.#word);
  }

  /**
   * Ends the parked waiting loop's park now that nothing is pending, and takes back what its wait
   * left in the shared words, so that no waiter of this side stays registered and no futex wait
   * keeps the event loop alive (or a worker from exiting) until the park's recheck:
   * - a sleeping flag (SpscRing): stored 0, then the park on the other side's index ended. The
   *   flag is this side's own; the other side's next index store then finds it down and wakes
   *   nobody, as it should. The index is the other side's, so it cannot be moved to wake the
   *   park, and a wake that does not move the word can be missed (park.js unparkOwn()): the park,
   *   this thread's own, is ended directly.
   * - a waiter count: taken back to 0 as a waker does (format.md §15, Waking: exchange, then move
   *   the wake word and wake every park on it). A registration cannot be taken back one by one
   *   (the count does not say whose it holds, and a waker may have taken this one already), but
   *   a party may always wake them all: the others' parks end early and they register again, as
   *   after any wake-up. A count a waker took back already has its wake-up on the way.
   */
  #unpark() {
    const { u32, i32 } = this.#w;
    if (this.#flag >= 0) {
      Atomics.store(u32, this.#flag, 0);
      unparkOwn(i32, this.#word);
    } else if (Atomics.exchange(u32, this.#waiters, 0) !== 0) {
      Atomics.add(u32, this.#word, 1);
      wakeAll(i32, this.#word);
    }
  }

  /** Every pending operation rejects with `e`, at once (the handle is disposed or closed). */
  failAll(e) {
    while (this.#head !== null) this.#finish(this.#head, false, e);
  }

  // Takes `op` out of the list (if it is still there) and settles it.
  #finish(op, ok, value) {
    if (op.attempt === null) return;
    op.attempt = null;
    if (op.prev) op.prev.next = op.next;
    else this.#head = op.next;
    if (op.next) op.next.prev = op.prev;
    else this.#tail = op.prev;
    this.#count--;
    if (op.timer !== undefined) clearTimeout(op.timer);
    if (op.onAbort) op.signal.removeEventListener('abort', op.onAbort);
    // The last one left while the loop is parked (a timer, an abort, close(), or a try or blocking
    // form that served it): the loop ends now, not at its next recheck.
    if (this.#count === 0 && this.#parked) this.#unpark();
    if (ok) op.resolve(value);
    else op.reject(value);
  }

  /**
   * The side's one waiting loop while operations are pending: reads the wake word, registers in
   * the waiter count, serves, and parks on the word (format.md §15, Waking); after a wake-up it
   * serves before registering again, so a wake-up that brought what the head waits for costs no
   * registration. A park lasts at most recheckMs (a stuck slot of a gone party is looked at again
   * by the attempts). The handle disposed meanwhile rejects what is pending with its ERR_CLOSED
   * (a park that fails, with its error): nothing is left waiting without a loop to serve it.
   */
  #pump() {
    // Each loop sets #pumping and clears it in its own `finally`, so that a loop that ends without
    // ever awaiting (its first serve completed everything) clears it at once: cleared a microtask
    // later, a call made in between would queue behind a loop that is gone, and wait for nothing.
    if (this.#flag >= 0) this.#pumpFlagged();
    else this.#pumpCounted();
  }

  async #pumpCounted() {
    this.#pumping = true;
    const { u32, i32 } = this.#w;
    try {
      while (this.#count !== 0) {
        // The wake word is read first, then the registration made, then the pending operations
        // served for the last time before the park on the word as read. A waker that publishes
        // after that sees the registration and moves the word, so the park returns at once. Read
        // after registering, the word could already have been moved by a waker that took this
        // registration for a message a third party then took: the park would wait on the moved
        // word with no registration left for the next waker to see (a wake-up lost until the
        // recheck).
        const seen = Atomics.load(u32, this.#word);
        Atomics.add(u32, this.#waiters, 1);
        this.serve(true);
        if (this.#count === 0) break;
        try {
          this.#parked = true;
          await parkAsync(i32, this.#word, seen, this.#recheckMs);
          this.#parked = false;
          this.#w.usable();
        } catch (e) {
          this.#parked = false;
          this.failAll(e);
          break;
        }
        this.serve(true);
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * #pump() for a side of an SPSC ring, whose wait is the ring's own (format.md §15, Waking): reads
   * the other side's index, serves, and only then stores the sleeping flag = 1, reloads the index
   * and parks on it if it is still the value read, for at most recheckMs; stores the flag = 0 and
   * serves again. The other side stores its index before it looks at the flag, so either the
   * reload sees the new index or the other side sees the flag and wakes the park.
   */
  async #pumpFlagged() {
    this.#pumping = true;
    const { u32, i32 } = this.#w;
    const flag = this.#flag;
    const word = this.#word;
    try {
      while (this.#count !== 0) {
        const seen = Atomics.load(u32, word);
        this.serve(true);
        if (this.#count === 0) break;
        Atomics.store(u32, flag, 1);
        try {
          this.#parked = true;
          if (Atomics.load(u32, word) === seen) await parkAsync(i32, word, seen, this.#recheckMs);
          this.#parked = false;
          this.#w.usable();
        } catch (e) {
          this.#parked = false;
          this.failAll(e);
          break;
        } finally {
          Atomics.store(u32, flag, 0);
        }
        this.serve(true);
      }
    } finally {
      this.#pumping = false;
    }
  }
}

/**
 * After a handle closed: its pending Promise-form calls of every side in `fifos` end now with the
 * error its `usable()` check throws (ERR_CLOSED), not at their waiting loop's next check.
 */
function endPending(usable, ...fifos) {
  try {
    usable();
  } catch (e) {
    for (const f of fifos) f.failAll(e);
  }
}

module.exports = { AsyncFifo, endPending };
