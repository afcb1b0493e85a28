'use strict';
// Parking a party of a queue until a word moves: the segment room's cross-process futex when the
// addon is loaded (any process mapping the region can wake it), Atomics.wait/waitAsync without it
// (threads of one process only: a region outside a segment). Every party of one region is in a
// process with the same addon state: segments need the addon. A park may end early (a spurious or
// shared wake-up): callers re-check in a loop.
const { msgError } = require('./errors');
const native = require('../base/native');
const futex = require('../segment/futex');
const threadFutex = require('../segment/thread-futex');
const v = require('../base/validate');

const addon = native.addon;

// How long a waiting party polls before it parks (ms), at most and at least. A parked party costs
// its waker a system call and itself a wake-up of tens of microseconds on a busy machine, while a
// peer that is running answers within a microsecond or two: a few microseconds of polling meet
// the running peer without either, and bound what an idle party burns to that much CPU per wait.
const SPIN_MS = 0.005;
const SPIN_MIN_MS = 0.0005;
// A party that stopped polling polls again (at SPIN_MIN_MS) once every PROBE_EVERY waits.
const PROBE_EVERY = 16;
// How long a party polls, at most, in the wait that follows a wait that ended in a park (it was
// woken: the other side is running now): longer than a futex wake-up (tens of microseconds on a
// virtual machine whose cores sit idle) and the other side's work for one message, so that a reply
// to what this party sends next is met without a park. WOKEN_MIN_MS: the least such polls fall to
// before they stop.
const WOKEN_MS = 0.05;
const WOKEN_MIN_MS = 0.005;
// Riding out the other side's pauses. A party whose waits end after a pause of the other side of
// up to PAUSE_MS (a garbage collection of a consumer, which allocates every message it takes: some
// 0.1-0.2 ms, every few hundred 1 KiB messages) parks at each once its polling budget has fallen
// to nothing, and then pays a wake-up, and its waker a system call, on top of the pause: measured,
// a producer of 1 KiB strings whose ring filled during the consumer's collections took 1.3-1.6
// times as long a message as one that polled through them. Such a party polls on through the next
// pause, after its ordinary poll, for up to PAUSE_MARGIN times the last pause (at most PAUSE_MS),
// but only when it has worked at least as long as that pause since its last ride or woken park
// ended: the riding takes at most about 60% of its time, and a party that works a few
// microseconds between waits (a consumer woken for each message of a slow stream) never rides. A ride that ran out
// stops the riding until a wait that parks shows a short pause again, after 1, 2, 4, ... such
// waits (at most RIDE_SKIP_MAX) while rides keep running out.
const PAUSE_MS = 0.25;
const PAUSE_MARGIN = 1.5;
const RIDE_SKIP_MAX = 64;
// Polls between two reads of the clock while spinning.
const SPIN_CHECK = 32;
// Yields of the CPU after the polling, before a party parks (yieldFor()).
const YIELDS = 2;

/**
 * One party's polling budget, adapted to what polling achieved: halved after a poll that ended
 * in a park, down to SPIN_MIN_MS and then to none at all; doubled (up to SPIN_MS) after one that
 * met the other side. With idle cores the other side answers within the poll; with more busy
 * threads than cores the two parties often share a core, where a poll only keeps the core from
 * the party it waits for: the budget falls to nothing, and a wait costs the futex alone. A party
 * that does not poll polls again at SPIN_MIN_MS once every PROBE_EVERY waits, so that it finds
 * out when polling meets the other side again.
 *
 * A wait that follows a wait that ended in a park (parked()) polls for up to WOKEN_MS instead, a
 * budget of its own. Two parties that take turns (a request and its reply) and both stopped
 * polling park at every turn, each woken by the other, and short polls never meet: the reply
 * comes only after the other side's wake-up. The woken party's longer poll meets it; one that did
 * sets the budget to its most (the other side answers while this one polls), and from then on
 * both poll and neither parks. A woken poll that ended in a park halves the woken budget, down to
 * WOKEN_MIN_MS and then to none (a stream whose messages come seldom: each one wakes its
 * consumer, which polls in vain), and it is tried again at WOKEN_MS once every PROBE_EVERY
 * probes.
 */
class Spinner {
  ms;
  budget = 0; // the ms this wait polls for (polls())
  #max;
  #min;
  #skipped = 0; // waits without polling since the last poll
  #woken; // the budget of a wait that follows a park
  #wokenMax; // what that budget starts at and comes back to
  #afterPark = false; // the last wait ended in a park
  #boosted = false; // this wait polls for the woken budget
  #probes = 0;
  #pause = 0; // ms: the other side's last short pause (PAUSE_MS), 0: none to ride out
  #lastEnd = -Infinity; // the clock when this party's last ride or park ended
  #skip = 0; // short pauses still to be seen before the next ride
  #skipNext = 1; // what #skip becomes when a ride runs out
  #rideStart = -1; // the clock when the ride that last ran out began, until a park counts it

  /**
   * A budget of at most `maxMs` and, while it polls at all, at least `minMs`; after a park, of
   * `wokenMs` (halved after each such poll that met nothing, as above).
   */
  constructor(maxMs = SPIN_MS, minMs = SPIN_MIN_MS, wokenMs = WOKEN_MS) {
    this.ms = maxMs;
    this.#max = maxMs;
    this.#min = minMs;
    this.#wokenMax = wokenMs;
    this.#woken = wokenMs;
  }

  /** Whether this wait polls (else it parks at once), and for how long (this.budget). */
  polls() {
    this.#boosted = false;
    this.#rideStart = -1; // a new wait: a ride that ran out was an earlier wait's
    if (this.#afterPark) {
      this.#afterPark = false;
      if (this.#woken > this.ms) {
        this.#boosted = true;
        this.budget = this.#woken;
        return true;
      }
    }
    this.budget = this.ms;
    if (this.ms > 0) return true;
    if (++this.#skipped < PROBE_EVERY) return false;
    this.#skipped = 0;
    if (++this.#probes % PROBE_EVERY === 0) this.#woken = this.#wokenMax;
    this.ms = this.budget = this.#min;
    return true;
  }

  /** The last wait ended in a park: the next one polls for the woken budget. */
  parked() {
    this.#afterPark = true;
  }

  won() {
    if (this.#boosted) this.ms = this.#max;
    else if (this.ms < this.#max) this.ms = Math.min(this.#max, Math.max(this.#min, this.ms * 2));
  }

  lost() {
    if (this.#boosted) this.#woken = this.#woken > WOKEN_MIN_MS ? Math.max(WOKEN_MIN_MS, this.#woken / 2) : 0;
    else this.ms = this.ms > this.#min ? Math.max(this.#min, this.ms / 2) : 0;
  }

  /** Whether a wait may ride out a pause of the other side (rideBudget() says how long). */
  mayRide() {
    return this.#pause > 0 && this.#skip === 0;
  }

  /**
   * How long (ms) a wait polls on at clock `now` through a pause of the other side (PAUSE_MS): 0
   * when there is no short pause to go by, or this party worked less than that pause since its
   * last ride or park ended (the wait's own poll, this.budget, not counted as work).
   */
  rideBudget(now) {
    if (!this.mayRide() || now - this.budget - this.#lastEnd < this.#pause) return 0;
    return Math.min(PAUSE_MS, this.#pause * PAUSE_MARGIN);
  }

  /** A ride that began at clock `start` met the other side at `end`. */
  rode(start, end) {
    const pause = end - start;
    // A ride met early (the other side was a little late, not paused) leaves the pause as it is;
    // a shorter pause lowers it slowly, so that the next real pause still has a ride long enough.
    if (pause >= this.#pause / 2) this.#pause = Math.min(PAUSE_MS, Math.max(pause, this.#pause * 0.9));
    // A ride met within the ordinary budget's most shows that polling meets the other side again
    // (its budget had fallen for the pauses): the ordinary budget comes back as after a poll that
    // met, so that such short waits are met by the poll, without the yields before a ride.
    if (pause <= this.#max) this.ms = Math.min(this.#max, Math.max(this.#min, this.ms * 2));
    this.#lastEnd = end;
    this.#skipNext = Math.max(1, this.#skipNext / 2);
  }

  /** A ride from clock `start` ran out at `now`: the pause was longer than this party rides. */
  rideLost(start, now) {
    this.#pause = 0;
    this.#skip = this.#skipNext;
    this.#skipNext = Math.min(RIDE_SKIP_MAX, this.#skipNext * 2);
    this.#lastEnd = now;
    this.#rideStart = start;
  }

  /**
   * The wait that was first timed at clock `start` parked, and its park, woken (the word it
   * parked on moved: a park that ended at its timeout or recheck says nothing of the other side),
   * returned at `end`: parked(), and the other side's pause it shows (PAUSE_MS), counted from the
   * start of a ride of the same wait that ran out, if any.
   */
  parkedFor(start, end) {
    this.parked();
    // Every pass of the wait is timed from the start of its ride that ran out (polls() forgets
    // it at the next wait).
    if (this.#rideStart >= 0) start = Math.min(start, this.#rideStart);
    const pause = end - start;
    this.#lastEnd = end;
    // A sleep shorter than a poll's most (SPIN_MS) is no pause (the word moved as it began):
    // nothing learned.
    if (pause < SPIN_MS) return;
    if (pause > PAUSE_MS) this.#pause = 0;
    else {
      // As for a ride (rode()): a much shorter sleep (the word moved just as it began, or a wait
      // that could not ride slept through a short gap) leaves a learned pause as it is.
      if (this.#pause === 0) this.#pause = pause;
      else if (pause >= this.#pause / 2) this.#pause = Math.max(pause, this.#pause * 0.9);
      if (this.#skip > 0) this.#skip--;
    }
  }
}
Spinner.PROBE_EVERY = PROBE_EVERY;
Spinner.PAUSE_MS = PAUSE_MS;
Spinner.PAUSE_MARGIN = PAUSE_MARGIN;

/** Polls u32[index] while it equals `seen`, for the budget of `spinner`; returns whether it moved. */
function spinWhileEqual(u32, index, seen, spinner) {
  if (!spinner.polls()) return Atomics.load(u32, index) !== seen;
  let until = -1;
  for (let i = 1; ; i++) {
    if (Atomics.load(u32, index) !== seen) {
      spinner.won();
      return true;
    }
    if (i % SPIN_CHECK === 0) {
      const now = performance.now();
      if (until < 0) until = now + spinner.budget;
      else if (now >= until) {
        spinner.lost();
        return false;
      }
    }
  }
}

/**
 * Polls on while u32[index] === seen through a short pause of the other side, when the spinner
 * has seen one (Spinner.rideBudget(), PAUSE_MS), and not past clock `deadline` (the caller's).
 * Returns true when the word moved. A blocking wait rides once, after its poll and its yields of
 * the CPU (a party sharing its core with the other side gets it there), before it sleeps. A ride
 * cut short by the deadline says nothing of the pause: the spinner is not told.
 */
function rideWhileEqual(u32, index, seen, spinner, deadline = Infinity) {
  // rideFor() polling the word; checked here first so that a wait with nothing to ride (most)
  // makes no closure. A word that moved before the ride (during the caller's yields) is no ride:
  // nothing to learn.
  if (!spinner.mayRide()) return false;
  return rideFor(() => Atomics.load(u32, index) !== seen, false, spinner, deadline);
}

/**
 * A ride: runs attempt() on through a short pause of the other side, when the spinner has seen
 * one (Spinner.rideBudget(), PAUSE_MS), and not past clock `deadline` (the caller's); returns what
 * attempt() returned, or `none`. A ride that meets tells the spinner (rode()), one that runs out
 * of its budget too (rideLost()); one cut short by the deadline says nothing of the pause. The
 * attempt may be a look at one word (rideWhileEqual()) or the whole operation (blockUntil(): the
 * stack's and the priority queue's), which may change the structure (take a message) as it looks.
 * `ready` (optional): a read that says, without taking a lock, whether an attempt may succeed
 * now; the ride tries only then, so that riding for a quarter of a millisecond does not take
 * the structure's lock over and over from the party it waits for. A stale `false` only delays
 * the ride's next try: the attempts after registering (sleepUntil()) are not gated. An attempt
 * that succeeds at the first look (the other side came during the caller's yields) is no ride:
 * nothing is learned.
 */
function rideFor(attempt, none, spinner, deadline = Infinity, ready = undefined) {
  if (!spinner.mayRide()) return none;
  let r = attempt();
  if (r !== none) return r;
  const start = performance.now();
  const budget = spinner.rideBudget(start);
  if (budget === 0) return none;
  const until = Math.min(start + budget, deadline);
  for (let i = 1; ; i++) {
    r = ready === undefined || ready() ? attempt() : none;
    if (r !== none) {
      spinner.rode(start, performance.now());
      return r;
    }
    if (i % SPIN_CHECK === 0) {
      const now = performance.now();
      if (now >= until) {
        if (until < deadline) spinner.rideLost(start, now);
        return none;
      }
    }
  }
}

/**
 * Blocks while i32[index] === expected, at most `ms` milliseconds. The callers' views and indices
 * were checked when the queue was opened, so the addon is called without futex.wait's checks.
 */
function park(i32, index, expected, ms) {
  if (addon) addon.futexWait(i32, index, expected, ms);
  else Atomics.wait(i32, index, expected | 0, ms);
}

/** Like park() without blocking the event loop. */
function parkAsync(i32, index, expected, ms) {
  if (addon) return futex.waitAsync(i32, index, expected, ms);
  return threadFutex.waitAsync(i32, index, expected, ms);
}

/**
 * Gives the rest of this thread's time slice to another runnable thread of its CPU, if there is
 * one (sched_yield through the addon; it returns at once when there is none). Returns false, doing
 * nothing, without the addon.
 */
function yieldCpu() {
  if (!addon) return false;
  addon.msgYield();
  return true;
}

/**
 * Ends now every parkAsync() of this thread on i32[index], whether or not the word changed: what
 * a waiting loop of this thread uses to end its own park. wakeAll() without a change of the word
 * can be missed by the addon's futex watcher when another of its waits is woken at the same
 * instant (src/segment/futex_watch.h); this takes the waits from the watcher instead. Parks of
 * other threads and processes are not woken.
 */
function unparkOwn(i32, index) {
  if (addon) addon.futexWakeOwn(i32, index);
  // Atomics.waitAsync: a notify always reaches the waiter, and every other waiter of the word in
  // the process too (other handles' parks, workers' blocking waits), which looks again for
  // nothing. It is the only way to end such a wait: settling this park's promise alone would leave
  // its wait registered with V8 until its timeout, where it would take the one wake-up of a
  // counted notify (a mutex's unlock) and could pass it on only when this thread's event loop
  // runs. A spurious wake-up costs a look; a wake-up held back costs its waiter up to a recheck.
  else Atomics.notify(i32, index);
}

/** Wakes every party parked on i32[index] (the hot path: the index was checked at open). */
function wakeAll(i32, index) {
  if (addon) addon.futexWake(i32, index);
  else Atomics.notify(i32, index);
}

/** Validates a timeout in milliseconds (undefined: forever). */
function timeoutOf(timeoutMs, name = 'timeoutMs') {
  if (timeoutMs === undefined) return Infinity;
  v.validateNumber(timeoutMs, name, { min: 0, allowInfinity: true });
  return timeoutMs;
}

/** Validates the { timeoutMs, signal } options of a Promise form; returns { timeout, signal }. */
function asyncOptions(options) {
  if (options === undefined) return { timeout: Infinity, signal: undefined };
  v.validateObject(options, 'options');
  v.validateKeys(options, 'options', ['timeoutMs', 'signal']);
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw v.invalidType('options.signal', 'an AbortSignal', signal);
  return { timeout: timeoutOf(options.timeoutMs, 'options.timeoutMs'), signal };
}

/** Resolves with `promise`, or rejects with the signal's reason when it aborts first. */
function abortable(promise, signal) {
  if (signal === undefined) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then((r) => {
      signal.removeEventListener('abort', onAbort);
      resolve(r);
    }, (e) => {
      signal.removeEventListener('abort', onAbort);
      reject(e);
    });
  });
}

/**
 * Runs attempt() until it returns something other than `none` (returned), for the budget of
 * `spinner` but at most `capMs` (a caller's time left), then after each of up to YIELDS yields
 * of the CPU (yieldFor()); `none` when that ran out: the caller parks. A poll cut short by
 * `capMs` does not count as lost.
 */
function spinFor(attempt, none, spinner, capMs = Infinity) {
  const r = poll(attempt, none, spinner, capMs);
  return r !== none ? r : yieldFor(attempt, none);
}

function poll(attempt, none, spinner, capMs) {
  if (!spinner.polls()) return attempt();
  const ms = Math.min(spinner.budget, capMs);
  let until = -1;
  for (let i = 1; ; i++) {
    const r = attempt();
    if (r !== none) {
      spinner.won();
      return r;
    }
    if (i % SPIN_CHECK === 0) {
      const now = performance.now();
      if (until < 0) until = now + ms;
      else if (now >= until) {
        if (ms === spinner.budget) spinner.lost();
        return none;
      }
    }
  }
}

/**
 * Before a party parks: yields the CPU (yieldCpu()) up to YIELDS times, running attempt() after
 * each, and returns what it returned, or `none`. When the party waited for shares this core (a
 * machine with more busy threads than cores, where polling has fallen to nothing), it runs
 * during the yield and publishes (releases) what it has, and the waiting party takes it without
 * registering as a sleeper: no futex wait on this side, no futex wake on the other. A park costs
 * both, and the woken party often preempts its waker only to find one message and park again.
 * With nothing else runnable a yield returns at once (some 0.6 µs, against the tens of a park and
 * its wake-up). Twice, as the first yield may go to a thread of other work.
 */
function yieldFor(attempt, none) {
  for (let y = 0; y < YIELDS && yieldCpu(); y++) {
    const r = attempt();
    if (r !== none) return r;
  }
  return none;
}

/**
 * Runs attempt() until it returns something other than `none`, blocking the thread at most
 * `timeout` ms (then returns `none`): tries `spins` times and on for the polling budget of
 * `spinner` (one per role of a handle: its takes' and its puts' waits learn apart), after yields
 * of the CPU, and through a short pause of the other side that the spinner learned (rideFor(),
 * `ready` its gate), then registers in u32[waiters] (the party that wakes sleepers takes the
 * count back to 0), reads the wake word u32[word], tries again and parks on the word for at most
 * `recheckMs` (format.md §15, Waking). `q` is { u32, i32, usable() }: usable() throws when the
 * handle was closed meanwhile.
 */
function blockUntil(q, waiters, word, attempt, none, timeout, spins, recheckMs, spinner, ready = undefined) {
  for (let i = 0; i < spins; i++) {
    const r = attempt();
    if (r !== none) return r;
  }
  const spun = spinFor(attempt, none, spinner);
  if (spun !== none) return spun;
  if (timeout <= 0) return sleepUntil(q, waiters, word, attempt, none, timeout, recheckMs, spinner);
  // A short pause of the other side is ridden out, once, rather than slept through (rideFor()).
  // The timeout counts from here, as the sleeping part's always did.
  const deadline = performance.now() + timeout;
  const rode = rideFor(attempt, none, spinner, deadline, ready);
  if (rode !== none) return rode;
  return sleepUntil(q, waiters, word, attempt, none, deadline - performance.now(), recheckMs, spinner);
}

/**
 * The sleeping part of a blocking wait, after the polling (whose Spinner, `spinner`, is told of
 * each park: Spinner's parked()): reads the wake word u32[word],
 * registers in u32[waiters], tries attempt() again and parks on the word for at most `recheckMs`, until
 * attempt() returns something other than `none` (returned) or `timeout` ms pass: then attempt()
 * runs once more and what it returns is returned (`none`: timed out). What came after the attempt
 * that followed the last park and before the deadline must not be left behind while the call
 * reports a timeout.
 */
function sleepUntil(q, waiters, word, attempt, none, timeout, recheckMs, spinner = undefined) {
  const start = performance.now(); // what a woken park times the other side's pause from
  const deadline = start + timeout;
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) return attempt();
    // The wake word is read before registering (async-fifo.js #pump() says why).
    const seen = Atomics.load(q.u32, word);
    Atomics.add(q.u32, waiters, 1);
    let r = attempt();
    if (r !== none) return r;
    park(q.i32, word, seen, Math.min(left, recheckMs));
    if (spinner !== undefined) {
      // A park that ended at its timeout or recheck (the word did not move) shows no pause.
      if (Atomics.load(q.u32, word) !== seen) spinner.parkedFor(start, performance.now());
      else spinner.parked();
    }
    q.usable();
    r = attempt();
    if (r !== none) return r;
  }
}

/**
 * Wakes the sleepers registered in u32[waiters], if any, once: takes the count back to 0, moves
 * the wake word u32[word] and wakes every futex waiter on it.
 */
function wakeWaiters(u32, i32, waiters, word) {
  if (Atomics.load(u32, waiters) !== 0 && Atomics.exchange(u32, waiters, 0) !== 0) {
    Atomics.add(u32, word, 1);
    wakeAll(i32, word);
  }
}

function timedOut(what, timeout) {
  return msgError('ERR_QUEUE_TIMEOUT', `${what} did not complete within ${timeout} ms`);
}

/** A function that returns true at most once per `ms` milliseconds (the first call: true). */
function oncePer(ms) {
  let last = -Infinity;
  return () => {
    const now = performance.now();
    if (now - last < ms) return false;
    last = now;
    return true;
  };
}

module.exports = {
  Spinner, spinWhileEqual, rideWhileEqual, rideFor, spinFor, yieldFor, park, parkAsync, unparkOwn, wakeAll, timeoutOf, asyncOptions, abortable, timedOut, blockUntil, sleepUntil, wakeWaiters, oncePer,
};
