'use strict';
// Single claims of the MPMC queue (docs/format.md §15, "Enqueue" and "Dequeue"): one position
// claimed with one CAS of `tail` or `head`, its intent (`producePos` or `consumePos`, `extra`
// left 0) stored before the claim and cleared after the slot is published or released. The batch
// claims are mpmc-batch.js; both work on the queue's private state `io` (see mpmc-batch.js) and
// leave waiting to mpmc.js.
const S = require('./mpmc-slots');
const B = require('./mpmc-batch');

const { TAIL, HEAD, FULL, SKIPPED, PRODUCE, CONSUME } = S;
const seqAt = (io, pos) => io.slotsWord + (pos & io.mask) * io.strideWords;
// What a push finds after claiming a slot of a closed channel (channel.js).
const CLOSED = Symbol('closed');
// What a pop returns when the queue is empty.
const NONE = Symbol('none');

/**
 * One attempt: claims the slot at the tail and writes the prepared message, or returns false when
 * the queue is full (after one `repair()` of gone parties' slots, rate-limited by the caller), or
 * CLOSED when the queue is `closable` and was closed before the claim (the slot was given up, so
 * that nothing is delivered after receivers saw the end). `wake()` wakes sleeping consumers.
 */
function pushOne(io, tag, payload, closable, repair, wake) {
  const u32 = io.u32;
  for (;;) {
    const pos = Atomics.load(u32, TAIL);
    const at = seqAt(io, pos);
    const d = S.diff(Atomics.load(u32, at), S.seqOf(pos, 0));
    if (d === 0) {
      // The intent first: whoever finds this slot claimed and unfinished can tell who claimed it.
      Atomics.store(u32, io.producePosAt, pos);
      Atomics.store(u32, io.rolesAt, PRODUCE);
      if (Atomics.compareExchange(u32, TAIL, pos, (pos + 1) >>> 0) === pos) {
        const closed = closable && Atomics.load(u32, io.closedWord) !== 0;
        if (!closed) B.writeSlot(u32, io.buf, at, tag, payload);
        Atomics.store(u32, at, S.seqOf(pos, closed ? SKIPPED : FULL));
        Atomics.store(u32, io.rolesAt, 0);
        wake();
        return closed ? CLOSED : true;
      }
    } else if (d < 0 && Atomics.load(u32, TAIL) === pos) {
      // The slot still serves position pos - capacity: full, unless a party is gone with a
      // slot (its consumer, or the producer of the slot at the head).
      Atomics.store(u32, io.rolesAt, 0);
      if (repair()) continue;
      return false;
    }
  }
}

/**
 * One attempt: claims the slot at the head and reads it, or returns NONE when the queue is empty
 * (after one `repair()` when a claimed slot blocks the head). Skips slots given up by gone
 * producers. `wake()` wakes sleeping producers.
 */
function popOne(io, repair, wake) {
  const u32 = io.u32;
  for (;;) {
    const pos = Atomics.load(u32, HEAD);
    const at = seqAt(io, pos);
    const d = S.diff(Atomics.load(u32, at), S.seqOf(pos, 0));
    if (d === FULL || d === SKIPPED) {
      Atomics.store(u32, io.consumePosAt, pos);
      Atomics.store(u32, io.rolesAt, CONSUME);
      if (Atomics.compareExchange(u32, HEAD, pos, (pos + 1) >>> 0) !== pos) continue;
      let value = NONE;
      try {
        if (d === FULL) value = B.readSlot(u32, io.buf, io.messageBytes, at);
      } finally {
        // Released even when the record cannot be read (a corrupt region), so the queue goes on.
        Atomics.store(u32, at, S.seqOf(pos + io.capacity, 0));
        Atomics.store(u32, io.rolesAt, 0);
        wake();
      }
      if (value !== NONE) return value;
    } else if (d <= 0 && Atomics.load(u32, HEAD) === pos) {
      Atomics.store(u32, io.rolesAt, 0);
      // Empty at pos, unless a producer claimed pos and is gone.
      if (d === 0 && S.diff(Atomics.load(u32, TAIL), pos) > 0 && repair()) continue;
      return NONE;
    }
  }
}

module.exports = { pushOne, popOne, CLOSED, NONE };
