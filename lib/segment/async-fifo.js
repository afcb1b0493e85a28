'use strict';
// The pending Promise-form waits of one handle on one shared word, in call order, served by one
// waiting loop. Without it each pending wait waited on its own: its own futex wait (each one a
// watcher thread of the addon, as a watcher holds one wait per word: futex.js), its own periodic
// wake-up, and a later call could take what an earlier one waited for. Here a wait called while
// earlier ones of the same queue are pending queues behind them, and one loop (one futex wait,
// one registration with the shared words) serves them head first at each wake-up: the head's
// attempt runs until it completes, then the next one's (Go's sendq / recvq, within one handle).
// Across handles, threads and processes nothing is ordered beyond what the shared words order.
//
// How the loop waits is the user's (`wait` below): the message queues' waiter count or sleeping
// flag (lib/msg/async-fifo.js, format.md §15, Waking), the sync kinds' sleepers word
// (lib/sync/wait.js, format.md §13, Waiting).

const MAX_DELAY_MS = 2 ** 31 - 1;

class AsyncFifo {
  #none; // what an attempt returns when it cannot complete now
  #wait; // how the loop waits (the constructor says)
  // A doubly linked list of pending operations, head first: a timed-out or aborted one leaves
  // from anywhere in O(1), the others keeping their order.
  #head = null;
  #tail = null;
  #count = 0;
  #pumping = false;
  #parked = false; // the waiting loop awaits its park (set around the await only)
  // The last park ended without a wake-up that took its registration (a recheck): the loop may
  // still be registered while it polls and serves after it.
  #lingering = false;

  /**
   * `wait` is the loop's wait: { prepare(), park(token), lookAfterWake?, ended?(), spinner? }.
   * park() may resolve with true: it ended without a wake-up that took the loop's registration, so
   * the registration may still stand (unpark() below takes it back if the last operation leaves
   * before the loop parks again). Each round of the loop calls prepare() (what must precede the
   * last look before a park: reading a wake word, registering as a waiter), serves, and,
   * operations still pending, awaits park(token), where
   * `token` is what prepare() returned: it resolves when the loop should look again (woken, or a
   * recheck period passed), and rejects when the handle can no longer wait (closed): what is
   * pending then rejects with that error. With `lookAfterWake`, the loop serves right after each
   * park, before the next prepare() (a wake-up that brought what the head waits for costs no
   * registration). ended(), if given, runs when the loop stops. unpark(), if given, runs when the
   * last pending operation leaves (timed out, aborted, failed, or served by another form of the
   * handle) while the loop is parked, or while its last park's registration may still stand
   * (above): it ends the park now, and takes back what the wait left in the shared words, so that
   * no futex wait keeps the event loop alive (or a worker from exiting) until the park's recheck
   * and no registration is left for the next waker to wake for nothing. With `spinner`, each
   * round polls first (#poll()) and a park that ended other than at its recheck tells it
   * (spinner.parked(): the poll after a wake-up may be longer).
   */
  constructor(none, wait) {
    this.#none = none;
    this.#wait = wait;
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

  /** Whether no operation is pending. */
  get idle() {
    return this.#count === 0;
  }

  /** Whether the waiting loop runs. */
  get pumping() {
    return this.#pumping;
  }

  /**
   * Runs attempt() (a result, `none` when it cannot complete now, or a throw) in call order with
   * the other pending operations: at once when none is pending (the fast path: one attempt), else
   * after the operations before it completed or left. Resolves with its result, or with `none`
   * once `timeout` ms passed; rejects with what attempt() throws, or with the signal's reason once
   * `signal` aborts. The caller checked that the handle is usable.
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
          this.#leave(op, false, signal.reason);
        };
        signal.addEventListener('abort', op.onAbort, { once: true });
      }
      if (!this.#pumping) this.#pump();
    });
  }

  // A timer that ends `op` with `none` at `deadline`, after serving with last tries
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
      if (op.attempt !== null) this.#leave(op, true, this.#none);
    }, Math.min(Math.ceil(ms), MAX_DELAY_MS));
  }

  // A pending operation ends before it completed (timed out, aborted). When it was the head, the
  // next one is served at once: what the head could not take may be enough for it (fewer permits,
  // a smaller batch), and the loop's wait, for the head, would not end for it.
  #leave(op, ok, value) {
    const head = op === this.#head;
    this.#finish(op, ok, value);
    if (head && this.#count !== 0) this.serve(true);
  }

  /**
   * Completes the pending operations head first, as far as they can complete now: stops at the
   * first whose attempt returns `none`. One whose attempt throws is rejected with it and the next
   * one is tried (after close(), every pending send and every receive past the last message). One
   * whose deadline has passed ends with `none`: tried once more first with `lastTry` (the waiting
   * loop and the timers), not tried when another form of the handle serves (a try or blocking
   * call must not wait behind, nor lose what it came for to, a call already timed out).
   */
  serve(lastTry = false) {
    const none = this.#none;
    while (this.#head !== null) {
      const op = this.#head;
      // Aborted, its listener not run yet: several calls that share one signal leave one at a
      // time, and the first to leave serves the next, whose abort is then only pending. It takes
      // nothing (a message, a lock) it would then drop.
      if (op.signal?.aborted) {
        this.#finish(op, false, op.signal.reason);
        continue;
      }
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
   * Every pending operation rejects at once (the handle is disposed or closed), each with an error
   * of its own: `error` is a function that makes one per call, or an error that each gets a copy
   * of (ownCopy()). One object shared by every rejection would let a caller that annotates its
   * error (a batch's `sent`, a note of its own) change what the other callers see.
   */
  failAll(error) {
    const make = typeof error === 'function' ? error : () => ownCopy(error);
    while (this.#head !== null) this.#finish(this.#head, false, make());
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
    if (this.#count === 0 && (this.#parked || this.#lingering) && this.#wait.unpark) {
      this.#lingering = false;
      this.#wait.unpark();
    }
    if (ok) op.resolve(value);
    else op.reject(value);
  }

  /**
   * Serves the pending operations once per turn of the event loop (setImmediate(): whatever else
   * the loop has to do runs in between, so the loop is not blocked) for the budget of `spinner`
   * (lib/msg/park.js Spinner: its polls(), which the caller asked, said whether and how long, and
   * it learns from won() and lost()). A party that answers within a few microseconds (the other
   * end of a request and its reply) is met without registering as a waiter or parking, which
   * would cost it the wake-up of its park (tens of microseconds, through a futex watcher or
   * Atomics.waitAsync and the event loop) and the other side a wake call.
   */
  async #poll(spinner) {
    const until = performance.now() + spinner.budget;
    for (;;) {
      await new Promise(setImmediate);
      // Ended meanwhile (timed out, aborted, closed, served by another form of the handle): not
      // what the poll achieved.
      if (this.#count === 0) return;
      // With last tries: called from an I/O callback, this turn's immediates run before its
      // timers, and a call whose deadline passed while the thread was busy is still tried once
      // (#expireAt) before it times out.
      this.serve(true);
      if (this.#count === 0) {
        spinner.won();
        return;
      }
      if (performance.now() >= until) {
        spinner.lost();
        return;
      }
    }
  }

  /**
   * The one waiting loop while operations are pending (the constructor says how it waits). The
   * handle closed meanwhile rejects what is pending with the park's error (ERR_CLOSED): nothing
   * is left waiting without a loop to serve it. #pumping is set here and cleared in this loop's
   * own `finally`, so that a loop that ends without ever awaiting (its first serve completed
   * everything) clears it at once: cleared a microtask later, a call made in between would queue
   * behind a loop that is gone, and wait for nothing.
   */
  async #pump() {
    this.#pumping = true;
    const wait = this.#wait;
    try {
      while (this.#count !== 0) {
        // Asked before anything is awaited: a loop that does not poll registers at once, in the
        // call that started it.
        if (wait.spinner !== undefined && wait.spinner.polls()) {
          await this.#poll(wait.spinner);
          if (this.#count === 0) break;
        }
        const token = wait.prepare();
        this.serve(true);
        if (this.#count === 0) break;
        try {
          // While parked, #parked stands for any registration of the loop (unpark() takes every
          // one back); the park says afterwards whether one may still stand.
          this.#lingering = false;
          this.#parked = true;
          this.#lingering = (await wait.park(token)) === true;
          this.#parked = false;
          // Woken (not a recheck that found nothing): the other side is running now, and the poll
          // after it may be longer (spinner.parked()).
          if (wait.spinner !== undefined && !this.#lingering) wait.spinner.parked();
        } catch (e) {
          this.#parked = false;
          this.failAll(e);
          break;
        }
        if (wait.lookAfterWake) this.serve(true);
      }
    } finally {
      this.#pumping = false;
      if (wait.ended) wait.ended();
    }
  }
}

/**
 * A copy of error `e` for one of the calls it ends: an Error of the same class (its prototype),
 * message and cause, with its own stack (where the calls were ended) and a copy of its own
 * enumerable fields (`code`, `status`, ...). Anything that is not an Error is passed as it is.
 */
function ownCopy(e) {
  if (!(e instanceof Error)) return e;
  // Error's own constructor with the class as new.target: a real Error object (its stack
  // captured here) whose prototype is the class's, without running the class's constructor,
  // whose arguments are its own business.
  const copy = Reflect.construct(Error, Object.hasOwn(e, 'cause') ? [e.message, { cause: e.cause }] : [e.message], e.constructor);
  // The constructor's capture skips the frames up to the class's constructor, which never ran:
  // the stack is taken again, from the caller of this function.
  Error.captureStackTrace(copy, ownCopy);
  return Object.assign(copy, e);
}

/**
 * After a handle closed: its pending Promise-form calls of every queue in `fifos` end now, each
 * with its own error, the one its `usable()` check throws (ERR_CLOSED), not at their waiting
 * loop's next check.
 */
function endPending(usable, ...fifos) {
  const closed = () => {
    try {
      usable();
    } catch (e) {
      return e;
    }
    return null;
  };
  if (closed() === null) return;
  for (const f of fifos) f.failAll(closed);
}

module.exports = { AsyncFifo, endPending, ownCopy };
