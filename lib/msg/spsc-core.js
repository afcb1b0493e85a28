'use strict';
// The state an SpscRing handle (spsc.js) shares with its record and element paths
// (spsc-records.js, spsc-elements.js): the views of the ring's memory, each side's cached copy of
// the other side's index, the index stores that wake a sleeping side, and the waiting
// (docs/format.md §15, Waking).
//
// The producer owns `tail` and the consumer `head` (each on a cache line of its own); each side
// caches the other's index and reloads it only when the cached one says full or empty. A side
// that finds nothing to do spins briefly, then raises its sleeping flag and parks on the other
// side's index; the other side wakes it only when it sees that flag, so a busy ring makes no
// system call at all. The Promise forms of a handle wait in async-fifo.js (AsyncFifo.flagged()),
// one wait per side, with the same protocol.
//
// A side reads its own index with a plain load on its per-message paths (ownIndex): only it
// stores that index, and a handle that takes the role over from another (they take turns) learned
// of the other's last store through whatever ordered their turns. The other side's index is
// always an Atomics.load: it orders the records' bytes after it.
const { C, W } = require('../layout/layout');
const { Spinner, spinWhileEqual, rideWhileEqual, yieldFor, park, wakeAll } = require('./park');
const codec = require('./codec');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const CTL = C.SPSC_CONTROL_OFFSET / WORD;
const TAIL = CTL + W.SPSC_CONTROL.TAIL;
const HEAD = CTL + W.SPSC_CONTROL.HEAD;
const CONSUMER_SLEEPING = CTL + W.SPSC_CONTROL.CONSUMER_SLEEPING;
const PRODUCER_SLEEPING = CTL + W.SPSC_CONTROL.PRODUCER_SLEEPING;
const DATA = C.SPSC_DATA_OFFSET;
const DATA_WORD = DATA / WORD;
const HEADER = WORD; // the record header
// A parked side re-checks at least this often (a wake-up can only be missed by a party that died
// between its store and its wake).
const PARK_MS = 200;

const align4 = (n) => (n + 3) & ~3;

/** Bytes a ring of `capacity` needs (bytes, or elements of `elementSize` bytes). */
function bytesFor(capacity, elementSize = 0) {
  return DATA + capacity * (elementSize || 1);
}

/**
 * The state of one handle of the ring at byte `at` of `buffer` whose header says `capacity` and
 * `elementSize`. One object shape for every ring, so that the paths that take it stay monomorphic.
 */
function makeCore(buffer, at, capacity, elementSize) {
  const bytes = bytesFor(capacity, elementSize);
  const u32 = new Uint32Array(buffer, at, bytes / WORD);
  return {
    u32,
    i32: new Int32Array(buffer, at, bytes / WORD),
    u8: new Uint8Array(buffer, at, bytes),
    buf: Buffer.from(buffer, at, bytes),
    capacity,
    mask: capacity - 1,
    elementSize,
    maxMessage: elementSize ? 0 : capacity / 2 - HEADER, // the largest payload of a record
    cachedHead: Atomics.load(u32, HEAD), // the producer's copy of head
    cachedTail: Atomics.load(u32, TAIL), // the consumer's copy of tail
    spinner: new Spinner(), // how long this handle polls before it parks (park.js)
    runCount: 0, // records the last run read or wrote, or handed back (spsc-records.js)
    runError: null, // the ERR_CORRUPT of the record that ended the last run read (spsc-records.js readRun)
    texts: [], // the JSON texts of a batch's values (spsc-records.js runText): r.texts[j - textFrom]
    textFrom: 0,
    textCount: 0,
    intoTarget: null, // the last target of dequeueInto and its views (no allocation on reuse)
    intoU8: null,
    intoU32: null,
    intoLength: 0, // the byte length the views were made for (spsc-elements.js sameTarget())
    intoResizable: false, // whether the target's buffer may be resized (or grown)
  };
}

/** This side's own index (TAIL for the producer, HEAD for the consumer): a plain load (above). */
function ownIndex(r, index) {
  return r.u32[index];
}

/**
 * `used`, what lies between the head and the tail (bytes or elements), after checking it: in a
 * sound ring it never exceeds the capacity, so a larger one is damage (a head or tail overwritten)
 * and reading or writing on would take junk for messages or spin without end: ERR_CORRUPT.
 */
function checkedUsed(r, used) {
  if (used > r.capacity) {
    // Neither side can go on from indices that far apart; the consumer's discard() makes them equal.
    const e = codec.corrupt(`the ring's head and tail are ${used} apart, more than its capacity ${r.capacity} (discard() drops everything published up to now)`);
    e.needsDiscard = true;
    throw e;
  }
  return used;
}

// A side's sleeping flag is a count of its sleeps: odd while it is about to sleep or sleeps, each
// sleep raising it to the next odd value, and whoever ends the sleep (the other side's wake, or the
// sleeper itself once awake) moving that value to the even one after it (format.md §15, Waking).
// A flag of plain 1 and 0 lost wake-ups: a side that loaded 1 from one sleep and took it back
// late, after the sleeper had woken and raised it for its next sleep, took that sleep's 1 without
// waking it (its wake, made before the sleeper parked again, was for nobody), and the next index
// store found 0 and woke nobody: both sides asleep until the recheck. Each sleep's value is its
// own, so such a late CAS fails.

/** Raises this side's sleeping flag u32[flag] for a new sleep; returns the sleep's (odd) value. */
function raiseFlag(u32, flag) {
  const sleep = ((Atomics.load(u32, flag) + 1) | 1) >>> 0;
  Atomics.store(u32, flag, sleep);
  return sleep;
}

/**
 * Ends sleep `sleep` (raiseFlag()'s value) if nobody did: the flag moves to the next even value,
 * unless the other side took it there already or a newer sleep raised it since.
 */
function lowerFlag(u32, flag, sleep) {
  Atomics.compareExchange(u32, flag, sleep, (sleep + 1) >>> 0);
}

/** Whether the other side's flag says it sleeps and this caller took that sleep (its CAS won). */
function tookSleep(u32, flag) {
  const s = Atomics.load(u32, flag);
  return (s & 1) !== 0 && Atomics.compareExchange(u32, flag, s, (s + 1) >>> 0) === s;
}

// Stores the index, and wakes the other side if it says it sleeps: once per sleep (the flag is
// taken with a CAS), not at every message published while it is waking up.
function publish(r, tail) {
  Atomics.store(r.u32, TAIL, tail);
  if (tookSleep(r.u32, CONSUMER_SLEEPING)) wakeAll(r.i32, TAIL);
}

function release(r, head) {
  Atomics.store(r.u32, HEAD, head);
  if (tookSleep(r.u32, PRODUCER_SLEEPING)) wakeAll(r.i32, HEAD);
}

/**
 * The consumer's discard (format.md §15, "Damage" of the ring), in either mode: stores head = tail,
 * dropping everything published up to now, sound or not. Returns the distance it dropped (bytes
 * or elements; above the capacity when the indices themselves were damaged).
 */
function discard(r) {
  const head = Atomics.load(r.u32, HEAD);
  const tail = Atomics.load(r.u32, TAIL);
  r.cachedTail = tail;
  release(r, tail);
  return (tail - head) >>> 0;
}

// Waits until u32[watch] !== seen: spins, yields, rides out a short pause of the other side, then
// raises the sleeping flag `flag` (raiseFlag()), re-checks and parks. Returns false when the
// deadline passed first, after one last look: the index may have moved since the look after the
// last park, and a message (room) that came before the deadline must not be left behind while
// the call reports a timeout.
function block(r, flag, watch, seen, deadline) {
  const u32 = r.u32;
  // A party that answers within a few microseconds is met without a system call (park.js).
  if (spinWhileEqual(u32, watch, seen, r.spinner)) return true;
  // Then its CPU goes to another runnable thread of its core, if any, before it raises its flag:
  // a peer sharing the core moves the index meanwhile, and neither side makes a futex call
  // (park.js yieldFor()).
  if (yieldFor(() => Atomics.load(u32, watch) !== seen || null, null)) return true;
  // A short pause of the other side (a garbage collection) is ridden out rather than slept
  // through (park.js rideWhileEqual()).
  if (rideWhileEqual(u32, watch, seen, r.spinner, deadline)) return true;
  const start = performance.now(); // what a woken park times the other side's pause from
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) return Atomics.load(u32, watch) !== seen;
    const sleep = raiseFlag(u32, flag);
    if (Atomics.load(u32, watch) === seen) {
      park(r.i32, watch, seen, Math.min(left, PARK_MS));
      // Only a park that the other side ended shows its pause (not one that timed out).
      if (Atomics.load(u32, watch) !== seen) r.spinner.parkedFor(start, performance.now());
      else r.spinner.parked();
    }
    lowerFlag(u32, flag, sleep);
    if (Atomics.load(u32, watch) !== seen) return true;
  }
}

module.exports = {
  WORD, TAIL, HEAD, CONSUMER_SLEEPING, PRODUCER_SLEEPING, DATA, DATA_WORD, HEADER, PARK_MS, align4, bytesFor, makeCore, checkedUsed, ownIndex, publish, release, discard, block,
  raiseFlag, lowerFlag,
};
