'use strict';
// Single claims of the MPMC queue (docs/format.md §15, "Enqueue" and "Dequeue"): one position
// claimed with one CAS of `tail` or `head`, its intent (`producePos` or `consumePos`, `extra`
// left 0) stored before the claim. The batch claims are mpmc-batch.js; both work on the queue's
// private state `io` (see mpmc-batch.js) and leave waiting to mpmc.js.
//
// Each Atomics call is a builtin call (about 8 ns on Node 20, where a plain typed-array access
// is inlined), so a message costs only the ones its ordering needs, four on each side: the load
// of the slot's `seq` (acquire: what the other side did to the slot before publishing or
// releasing it happens before what this side does next), the CAS of `tail`/`head`, the store of
// `seq` (release) and the load of the waiter count after it (a store and a load in sequentially
// consistent order, so that a sleeper registers before that load or sees the store: no lost
// wake-up). The rest are plain accesses, each for a reason stated where it is made:
// - the first load of `tail`/`head` is a guess that the CAS checks; a retry loads it with
//   Atomics.load (so a spin can never run on a value the compiler kept), and "full"/"empty" is
//   only concluded from an Atomics.load of it;
// - the intent stores come before the CAS in program order, and the CAS is a sequentially
//   consistent read-modify-write: a repairer learns of the claim only by an Atomics.load of
//   `tail`/`head` (or of a later value of it), which synchronizes with the CAS, so it reads the
//   intent as stored (format.md §15, "Parties that are gone");
// - the intent is not cleared after the slot is finished: it then names a position this owner
//   finished, and a repair needs the named slot still claimed and unfinished for that position,
//   which a finished position never is again (until the positions wrap at 2^32, format.md §15).
//   "Full", "empty" and damage still clear it, with an Atomics.store: after a lost CAS it names a
//   position someone else claimed, and a live owner's intent stops the repair of that position
//   for as long as the owner claims nothing else, which a party that stopped need not do. A read
//   or a write that fails after the claim clears it too, once the slot is finished: whoever stops
//   with an error leaves no intent (format.md §15, "Intents left after finishing").
const S = require('./mpmc-slots');
const B = require('./mpmc-batch');

const { TAIL, HEAD, FULL, SKIPPED, PRODUCE, CONSUME } = S;
const seqAt = (io, pos) => io.slotsWord + (pos & io.mask) * io.strideWords;
// What a push finds after claiming a slot of a closed channel (channel.js).
const CLOSED = Symbol('closed');
// What a pop returns when the queue is empty.
const NONE = Symbol('none');

// What pushOne()'s and popOne()'s helpers return for "load the index again and retry".
const RETRY = Symbol('retry');

/**
 * One attempt: claims the slot at the tail and writes the prepared message, or returns false when
 * the queue is full (after one `repair()` of gone parties' slots, rate-limited by the caller), or
 * CLOSED when the queue is `closable` and was closed before the claim (the slot was given up, so
 * that nothing is delivered after receivers saw the end). Bytes that can no longer be read (a
 * buffer detached since the message was prepared) throw, the slot given up. `wake()` wakes
 * sleeping consumers.
 * The common path (the slot is empty for this lap, the claim won) is all there is of it here;
 * what happens otherwise is in pushMissed() and what follows the claim in pushClaimed(), so that
 * this function stays small enough for the compiler to inline into its callers.
 */
function pushOne(io, tag, payload, closable, repair, wake) {
  const u32 = io.u32;
  let pos = u32[TAIL]; // a guess the CAS checks (above)
  for (;; pos = Atomics.load(u32, TAIL)) {
    const at = seqAt(io, pos);
    const d = S.diff(Atomics.load(u32, at), S.seqOf(pos, 0));
    if (d === 0) {
      // The intent first: whoever finds this slot claimed and unfinished can tell who claimed it.
      // Plain stores, ordered before the claim by the CAS (above).
      u32[io.producePosAt] = pos;
      u32[io.rolesAt] = PRODUCE;
      if (Atomics.compareExchange(u32, TAIL, pos, (pos + 1) >>> 0) === pos) return pushClaimed(io, pos, at, tag, payload, closable, wake);
    } else {
      const r = pushMissed(io, pos, at, d, repair);
      if (r !== RETRY) return r;
    }
  }
}

// After pushOne() claimed position `pos` (slot word u32[at]): writes the message and publishes it.
function pushClaimed(io, pos, at, tag, payload, closable, wake) {
  const u32 = io.u32;
  const closed = closable && Atomics.load(u32, io.closedWord) !== 0;
  if (!closed) {
    try {
      if (tag >= B.STAGED) B.writeStaged(io, at, tag, payload);
      else B.writeSlot(u32, io.buf, at, tag, payload);
    } catch (err) {
      // Bytes that cannot be read since they were checked (codec.writeRecord): the slot is
      // given up as a closed channel's is, since a claimed slot left unfinished by a live
      // owner would stop the queue for good; then the intent is cleared (above).
      Atomics.store(u32, at, S.seqOf(pos, SKIPPED));
      B.clearIntent(io);
      wake();
      throw err;
    }
  }
  Atomics.store(u32, at, S.seqOf(pos, closed ? SKIPPED : FULL));
  // The intent stays: it names a finished position (above).
  wake();
  return closed ? CLOSED : true;
}

// pushOne() found the slot of `pos` not empty for this lap (d, its word's distance from that):
// false when full, RETRY (after a repair, or with a stale tail), or the damage thrown.
function pushMissed(io, pos, at, d, repair) {
  const u32 = io.u32;
  if (d < 0 && Atomics.load(u32, TAIL) === pos) {
    // The slot still serves position pos - capacity: full, unless a party is gone with a
    // slot (its consumer, or the producer of the slot at the head).
    if (u32[io.rolesAt] !== 0) Atomics.store(u32, io.rolesAt, 0); // a word only this owner writes
    return repair() ? RETRY : false;
  }
  if (d > 0 && Atomics.load(u32, TAIL) === pos) {
    // Damage (else a stale tail: load it again). The intent is cleared first, as when full.
    B.clearIntent(io);
    throw S.slotAhead(pos, Atomics.load(u32, at));
  }
  return RETRY;
}

/**
 * One attempt: claims the slot at the head and reads it, or returns NONE when the queue is empty
 * (after one `repair()` when a claimed slot blocks the head). Skips slots given up by gone
 * producers. `wake()` wakes sleeping producers. As pushOne(), the common path only, the rest in
 * popMissed() and popClaimed().
 */
function popOne(io, repair, wake) {
  const u32 = io.u32;
  let pos = u32[HEAD]; // a guess the CAS checks (above)
  for (;; pos = Atomics.load(u32, HEAD)) {
    const at = seqAt(io, pos);
    const d = S.diff(Atomics.load(u32, at), S.seqOf(pos, 0));
    if (d === FULL || d === SKIPPED) {
      // Plain stores, ordered before the claim by the CAS (above).
      u32[io.consumePosAt] = pos;
      u32[io.rolesAt] = CONSUME;
      if (Atomics.compareExchange(u32, HEAD, pos, (pos + 1) >>> 0) !== pos) continue;
      const value = popClaimed(io, pos, at, d, wake);
      if (value !== NONE) return value;
    } else {
      const r = popMissed(io, pos, at, d, repair);
      if (r !== RETRY) return r;
    }
  }
}

// After popOne() claimed position `pos` (slot word u32[at], `d` FULL or SKIPPED): reads the
// message, if any, and releases the slot. NONE for a slot given up by a gone producer.
function popClaimed(io, pos, at, d, wake) {
  const u32 = io.u32;
  let value = NONE;
  try {
    if (d === FULL) value = B.readSlot(u32, io.buf, io.messageBytes, at);
  } catch (err) {
    // A record that cannot be read (a corrupt region): the slot is released all the same, so
    // that the queue goes on, and then the intent is cleared (above).
    Atomics.store(u32, at, S.seqOf(pos + io.capacity, 0));
    B.clearIntent(io);
    wake();
    throw err;
  }
  // The intent stays: it names a finished position (above).
  Atomics.store(u32, at, S.seqOf(pos + io.capacity, 0));
  wake();
  return value;
}

// popOne() found the slot of `pos` neither full nor given up for this lap (d, its word's distance
// from empty): NONE when empty, RETRY (after a repair, or with a stale head), or the damage thrown.
function popMissed(io, pos, at, d, repair) {
  const u32 = io.u32;
  if (d <= 0 && Atomics.load(u32, HEAD) === pos) {
    if (u32[io.rolesAt] !== 0) Atomics.store(u32, io.rolesAt, 0); // a word only this owner writes
    // Empty at pos, unless a producer claimed pos and is gone: repair() asks, at most once per
    // its period. `tail` is not read first to rule that out: a consumer that polls an empty
    // queue would take tail's cache line from the producer at every poll, and the producer's
    // next claim would wait for it.
    return d === 0 && repair() ? RETRY : NONE;
  }
  if (d > SKIPPED && Atomics.load(u32, HEAD) === pos) {
    // Damage (else a stale head: load it again). The intent is cleared first, as when empty.
    B.clearIntent(io);
    throw S.slotAhead(pos, Atomics.load(u32, at));
  }
  return RETRY;
}

/**
 * The message at the head without taking it, or NONE when the queue is empty there (its head slot
 * not yet published: being written, or never). Slots given up by gone producers are looked past,
 * as a pop skips them, and a head slot a gone producer claimed is given up by repair(), as a pop
 * does. Otherwise read-only, as a seqlock reader: the slot's sequence word says FULL for its
 * position before the record is read and again after it; a producer writes the slot again only
 * after a consumer released it, which changes that word, so an unchanged word means the record
 * read is the message as published (a changed one: the message was taken meanwhile, and the new
 * head is looked at). What it returns is a snapshot: another party may take it at once.
 */
function peekOne(io, repair) {
  const u32 = io.u32;
  for (;;) {
    const head = Atomics.load(u32, HEAD);
    let pos = head;
    let at = seqAt(io, pos);
    let seq = Atomics.load(u32, at);
    // Past the slots gone producers left (each SKIPPED for its own position), at most a lap.
    for (let k = 0; k < io.capacity && seq === S.seqOf(pos, SKIPPED); k++) {
      pos = (pos + 1) >>> 0;
      at = seqAt(io, pos);
      seq = Atomics.load(u32, at);
    }
    if (seq === S.seqOf(pos, FULL)) {
      let value;
      let err = null;
      try {
        value = B.readSlot(u32, io.buf, io.messageBytes, at);
      } catch (e) {
        err = e; // damage, or a record overwritten while read: the word below tells which
      }
      if (Atomics.load(u32, at) !== seq) continue;
      if (err !== null) throw err;
      return value;
    }
    if (Atomics.load(u32, HEAD) !== head) continue; // taken meanwhile: look at the new head
    const d = S.diff(seq, S.seqOf(pos, 0));
    if (d > SKIPPED) throw S.slotAhead(pos, seq); // damage, as a pop reports it
    // Claimed and not published: by a producer that is gone, repair() gives it up (at most once
    // per its period, as for a pop), and the message behind it is looked at.
    if (d === 0 && repair()) continue;
    return NONE;
  }
}

module.exports = { pushOne, popOne, peekOne, CLOSED, NONE };
