'use strict';
// The pending Promise-form operations of one side (sending or receiving) of one queue handle, in
// call order (the segment room's AsyncFifo, lib/segment/async-fifo.js). Without it each pending
// operation waited on its own and retried when its own wake-up came, so a later call could take
// the room (or the message) an earlier one waited for: a loop of `send(x)` without awaiting
// delivered out of order, and the first of several `receive()`s could get the last message. One
// waiting loop per side (one registration with the shared waiter word rather than one per
// pending operation) serves them head first.
//
// Two kinds of wait (format.md §15, Waking): a count of waiters with a wake word (the MPMC queue,
// the channel, the stack, the priority queue, a broadcast's subscribers), or the SPSC ring's
// sleeping flag of the side with the other side's index as the word (AsyncFifo.flagged()).
const { AsyncFifo: Fifo, endPending } = require('../segment/async-fifo');
const { Spinner, parkAsync, unparkOwn, wakeAll } = require('./park');
const { raiseFlag, lowerFlag } = require('./spsc-core');

// The polling budgets of a Promise form (ms; park.js Spinner): its most, its least while it polls,
// and the budget right after a wait that ended in a park. A Promise form polls once per turn of
// the event loop (segment/async-fifo.js #poll()), which keeps the loop free for other work while
// it polls, so its budgets are longer than a blocking form's: what it waits for is often a reply
// from a worker that was asleep, whose wake-up and reply take tens of microseconds on a virtual
// machine, and a Promise form that parks takes a wake-up of its own (the futex watcher thread or
// Atomics.waitAsync, then the event loop) after the reply, during which the replier, polling for
// the next request, gives up and parks in turn: two sides that each wait longer than the other's
// poll park at every turn.
const POLL_MS = 0.05;
const POLL_MIN_MS = 0.005;
const POLL_WOKEN_MS = 0.2;
const asyncSpinner = () => new Spinner(POLL_MS, POLL_MIN_MS, POLL_WOKEN_MS);

/**
 * The wait of a side with a waiter count: reads the wake word, registers in the waiter count,
 * (the loop serves), and parks on the word as read, for at most recheckMs (a stuck slot of a gone
 * party is looked at again by the attempts); after a wake-up the loop serves before registering
 * again, so a wake-up that brought what the head waits for costs no registration. The wake word
 * is read first, then the registration made, then the pending operations served for the last
 * time before the park on the word as read. A waker that publishes after that sees the
 * registration and moves the word, so the park returns at once. Read after registering, the word
 * could already have been moved by a waker that took this registration for a message a third
 * party then took: the park would wait on the moved word with no registration left for the next
 * waker to see (a wake-up lost until the recheck).
 */
function counted(w, waiters, word, recheckMs) {
  const { u32, i32 } = w;
  return {
    lookAfterWake: true,
    spinner: asyncSpinner(),
    prepare() {
      const seen = Atomics.load(u32, word);
      Atomics.add(u32, waiters, 1);
      return seen;
    },
    // Resolves with true when the wake word did not move: the park ended at its recheck, not by
    // a waker, which takes the registrations back before it moves the word (async-fifo.js in the
    // segment room takes it back if nothing is pending any more).
    async park(seen) {
      await parkAsync(i32, word, seen, recheckMs);
      w.usable();
      return Atomics.load(u32, word) === seen;
    },
    // Nothing pending any more while parked: the count taken back to 0 as a waker does
    // (format.md §15, Waking: exchange, then move the wake word and wake every park on it). A
    // registration cannot be taken back one by one (the count does not say whose it holds, and a
    // waker may have taken this one already), but a party may always wake them all: the others'
    // parks end early and they register again, as after any wake-up. A count a waker took back
    // already has its wake-up on the way.
    unpark() {
      if (Atomics.exchange(u32, waiters, 0) !== 0) {
        Atomics.add(u32, word, 1);
        wakeAll(i32, word);
      }
    },
  };
}

/**
 * The wait of a side of an SPSC ring, the ring's own (format.md §15, Waking): reads the other
 * side's index, (the loop serves), and only then raises the sleeping flag for a new sleep
 * (spsc-core.js raiseFlag()), reloads the index and parks on it if it is still the value read, for
 * at most recheckMs; puts the flag down if the other side did not (the loop serves again). The other side stores its index before it looks at the flag, so either the
 * reload sees the new index or the other side sees the flag and wakes the park. `w` has closed()
 * too: whether the handle is closed.
 */
function flagged(w, flag, word, recheckMs) {
  const { u32, i32 } = w;
  let sleep = 0; // the flag's value for the last park (spsc-core.js raiseFlag())
  return {
    lookAfterWake: true,
    spinner: asyncSpinner(),
    prepare() {
      return Atomics.load(u32, word);
    },
    async park(seen) {
      sleep = raiseFlag(u32, flag);
      try {
        if (Atomics.load(u32, word) === seen) await parkAsync(i32, word, seen, recheckMs);
        w.usable();
      } finally {
        // Not once the handle is closed: its close() put the flag down already (unpark(), with the
        // last pending call), and the memory may no longer be the region's (a segment's pages
        // swapped for private zeros), or still be, with another handle of this side's flag up.
        if (!w.closed()) lowerFlag(u32, flag, sleep);
      }
    },
    // Nothing pending any more while parked: the flag (this side's own) put down, then the park on
    // the other side's index ended. The other side's next index store then finds it down and wakes
    // nobody, as it should. The index is the other side's, so it cannot be moved to wake the park,
    // and a wake that does not move the word can be missed (park.js unparkOwn()): the park, this
    // thread's own, is ended directly.
    unpark() {
      lowerFlag(u32, flag, sleep);
      unparkOwn(i32, word);
    },
  };
}

class AsyncFifo extends Fifo {
  #i32;
  #word; // u32 index of the side's wake word (for a flag: the other side's index)

  /**
   * The pending operations of a side that waits in waiter count u32[waiters] on wake word
   * u32[word] of `w` ({ u32, i32, usable() } of the handle); an attempt returns `none` when it
   * cannot complete now. `flag` is for AsyncFifo.flagged().
   */
  constructor(w, waiters, word, none, recheckMs, flag = -1) {
    super(none, flag >= 0 ? flagged(w, flag, word, recheckMs) : counted(w, waiters, word, recheckMs));
    this.#i32 = w.i32;
    this.#word = word;
  }

  /**
   * The pending operations of one side of an SPSC ring handle: the side waits by raising its
   * sleeping flag u32[flag] for a new sleep and parking on the other side's index u32[word]
   * (format.md §15, Waking, of the ring) instead of registering in a waiter count. One such wait per side of a
   * handle: several pending operations no longer raise and clear the one flag over each other.
   */
  static flagged(w, flag, word, none, parkMs) {
    return new AsyncFifo(w, -1, word, none, parkMs, flag);
  }

  /**
   * Wakes this side's waiting loop, if it runs, to look again (a blocking form of the handle ended
   * and cleared the sleeping flag the loop parks under: SpscRing). A spurious wake-up costs it one
   * more serve. The word did not change, so the loop's park is ended as its own (unparkOwn()), not
   * with a wake that may be missed.
   */
  nudge() {
    if (this.pumping) unparkOwn(this.#i32, this.#word);
  }
}

module.exports = { AsyncFifo, endPending, POLL_MS, POLL_WOKEN_MS };
