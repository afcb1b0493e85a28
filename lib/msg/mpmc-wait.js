'use strict';
// Waiting in the MPMC queue (docs/format.md §15, "Waking"): a party that finds the queue empty
// (full) polls, then sleeps on the wake word `produced` (`consumed`) registered in
// `consumerWaiters` (`producerWaiters`), which the other side moves and wakes only when that
// count says someone sleeps.
const { spinWhileEqual, rideWhileEqual, sleepUntil, yieldFor } = require('./park');

/**
 * Runs attempt() until it returns something other than `none` (returned), blocking the thread
 * at most `timeout` ms (then returns `none`). The poll reads one word: the sequence word of the
 * slot the party waits for (`seqIndex_(u32[watch])`, the slot at the head for a consumer, at the
 * tail for a producer), which the other side writes once when it publishes or releases that
 * slot; a poll that retried the whole operation would read `tail` and `head` too, taking their
 * lines from the parties that write them at every claim. The polling budget is `spinner`'s
 * (park.js): a poll that ends in a park shortens the next one. Then it yields its CPU, rides out
 * a short pause of the other side (park.js rideWhileEqual()) and sleeps as park.js's
 * sleepUntil() does (a stuck slot of a gone party is looked at again by attempt() after each
 * park). With `ahead` > 0 the poll watches the slot `ahead` positions after u32[watch] instead:
 * a batch producer that found the queue full waits until its batch fits (consumers release slots
 * in order, mostly) rather than claiming the first free slot alone, and the parked path still
 * takes what it can.
 * `q` is { u32, i32, seqIndex_(pos), usable() } (park.js's sleepUntil() does the sleeping). A
 * timeout of 0: one attempt, no poll.
 */
function waitOnSlot(q, spinner, watch, waiters, word, attempt, none, timeout, spins, recheckMs, ahead = 0) {
  const u32 = q.u32;
  // A timeout of 0 asks for one last attempt, not for a poll of the polling budget.
  if (timeout <= 0) return attempt();
  // The deadline bounds the ride below and what sleepUntil() is left: a clock read only for a
  // wait that has one.
  const deadline = timeout === Infinity ? Infinity : performance.now() + timeout;
  let at = -1; // the slot word whose poll ran out, and what it held
  let seen = 0;
  for (let i = 0; i < spins; i++) {
    const slot = q.seqIndex_(Atomics.load(u32, watch) + ahead);
    const value = Atomics.load(u32, slot);
    // Polling `ahead` slots further (a producer of a batch: room for the batch, not for its first
    // message) skips the first attempt, which the caller just made.
    if (i > 0 || ahead === 0) {
      const r = attempt();
      if (r !== none) return r;
    }
    if (!spinWhileEqual(u32, slot, value, spinner)) {
      at = slot;
      seen = value;
      break;
    }
  }
  // Before parking, the CPU goes to another runnable thread of this core, if any (park.js).
  let r = yieldFor(attempt, none);
  if (r !== none) return r;
  // Then a short pause of the other side is ridden out on that slot's word, once (park.js
  // rideWhileEqual()), rather than slept through.
  if (at >= 0 && rideWhileEqual(u32, at, seen, spinner, deadline)) {
    r = attempt();
    if (r !== none) return r;
  }
  const left = deadline === Infinity ? Infinity : deadline - performance.now();
  return sleepUntil(q, waiters, word, attempt, none, left, recheckMs, spinner);
}

module.exports = { waitOnSlot };
