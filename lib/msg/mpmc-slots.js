'use strict';
// The slot protocol of the MPMC queue (docs/format.md §15, "MPMC queue"): claiming, publishing
// and releasing slots, and finishing the slot of a party that is gone. No waiting, no payload
// codec: mpmc.js drives these. All indices are u32 word indices of the region view `u32`. The
// functions that take `q` take what a queue handle shows them: { u32, capacity, seqIndex_(pos) }.
//
// A slot's sequence word is 4 × position + state (mod 2^32) for the position it serves:
//   4p      empty: the producer of position p may write it
//   4p + 1  full: the consumer of position p may read it
//   4p + 2  given up (its producer is gone): the consumer of p skips it
// and releasing it for the next lap stores 4(p + capacity). Every move is one store or CAS of
// that word, so a repair (a CAS from the state the gone party left) can never land in a slot
// that was reused since.
const { C, W } = require('../layout/layout');
const { GONE } = require('../ownership/owners');
const codec = require('./codec');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const CTL = C.MPMC_CONTROL_OFFSET / WORD;
const TAIL = CTL + W.MPMC_CONTROL.TAIL;
const HEAD = CTL + W.MPMC_CONTROL.HEAD;
const SKIPPED_WRITES = CTL + W.MPMC_CONTROL.SKIPPED_WRITES;
const SKIPPED_READS = CTL + W.MPMC_CONTROL.SKIPPED_READS;
const INTENTS = C.MPMC_INTENTS_OFFSET / WORD;
const INTENT_WORDS = W.MPMC_INTENT.WORDS;
const ROLES = W.MPMC_INTENT.ROLES;
const PRODUCE_POS = W.MPMC_INTENT.PRODUCE_POS;
const CONSUME_POS = W.MPMC_INTENT.CONSUME_POS;
const EXTRA = W.MPMC_INTENT.EXTRA;
const PRODUCE = C.MPMC_INTENT_PRODUCE;
const CONSUME = C.MPMC_INTENT_CONSUME;
const SHIFT = C.MPMC_SEQ_SHIFT;
const FULL = C.MPMC_SEQ_FULL;
const SKIPPED = C.MPMC_SEQ_SKIPPED;

/** The sequence word value of position `pos` in state `state`. */
function seqOf(pos, state) {
  return ((pos << SHIFT) + state) >>> 0;
}

/** Signed distance a - b of two u32 counters (both below 2^31 apart). */
function diff(a, b) {
  return (a - b) | 0;
}

/**
 * The error for a slot whose sequence word is ahead of the position at `tail`/`head` while that
 * index still names the position: in a sound queue a slot moves past position p only after p was
 * claimed, which moves the index first (a CAS before the slot's store), so this is damage, not a
 * race, and retrying would spin forever.
 */
function slotAhead(pos, seq) {
  return codec.corrupt(`the slot of position ${pos} has sequence word ${seq}, ahead of the index that names the position`);
}

function intentWord(slot, field) {
  return INTENTS + slot * INTENT_WORDS + field;
}

/**
 * Whether owner `o`'s intent names position `pos` for `role`: its claim in progress (one position,
 * or a batch of 1 + extra from producePos/consumePos) includes `pos`.
 */
function names(u32, o, role, pos) {
  if ((Atomics.load(u32, intentWord(o, ROLES)) & role) === 0) return false;
  const first = Atomics.load(u32, intentWord(o, role === PRODUCE ? PRODUCE_POS : CONSUME_POS));
  return ((pos - first) >>> 0) <= Atomics.load(u32, intentWord(o, EXTRA));
}

/**
 * Whether the party that claimed position `pos` for `role` is gone: every owner whose intent
 * record names `pos` for that role is gone by the gone rule of §6, and there is at least one.
 * (The claimer wrote its intent before claiming and clears it only after finishing; an owner that
 * tried `pos` and lost the claim may name it too, so all of them must be gone.)
 */
function claimerGone(u32, owners, self, role, pos) {
  let named = 0;
  for (let o = 1; o < owners.slots; o++) {
    if (!names(u32, o, role, pos)) continue;
    if (owners.status(o, self) !== GONE) return false;
    named++;
  }
  return named > 0;
}

/**
 * Whether position `pos` may be claimed and unfinished for producing (`index` TAIL) or consuming
 * (HEAD): 0 < index - pos <= capacity. A producer's claimed position stops the consumers there,
 * and no producer claims past it by more than a lap; a consumer's unreleased slot stops the
 * producers a lap on. A sequence word repeats every 2^30 positions, so a position a stale intent
 * names is told from the one in flight in its slot by this window, not by the word.
 */
function inFlight(q, index, pos) {
  const d = diff(Atomics.load(q.u32, index), pos);
  return d > 0 && d <= q.capacity;
}

/**
 * Gives up position `pos` if a producer claimed it and is gone without publishing it (consumers
 * then skip it). Returns whether it did.
 */
function repairProduced(q, owners, self, pos) {
  const { u32 } = q;
  const at = q.seqIndex_(pos);
  if (!inFlight(q, TAIL, pos) || Atomics.load(u32, at) !== seqOf(pos, 0)) return false;
  if (!claimerGone(u32, owners, self, PRODUCE, pos)) return false;
  if (Atomics.compareExchange(u32, at, seqOf(pos, 0), seqOf(pos, SKIPPED)) !== seqOf(pos, 0)) return false;
  Atomics.add(u32, SKIPPED_WRITES, 1);
  return true;
}

/**
 * Releases position `pos` for the next lap if a consumer claimed it and is gone without
 * releasing it (its message is counted lost: it may or may not have been handled). Returns
 * whether it did.
 */
function repairConsumed(q, owners, self, pos) {
  const { u32 } = q;
  const at = q.seqIndex_(pos);
  const seq = Atomics.load(u32, at);
  if (!inFlight(q, HEAD, pos) || (seq !== seqOf(pos, FULL) && seq !== seqOf(pos, SKIPPED))) return false;
  if (!claimerGone(u32, owners, self, CONSUME, pos)) return false;
  if (Atomics.compareExchange(u32, at, seq, seqOf(pos + q.capacity, 0)) !== seq) return false;
  if (seq === seqOf(pos, FULL)) Atomics.add(u32, SKIPPED_READS, 1);
  return true;
}

/**
 * Finishes the slots of gone parties that block the queue, if any: the slot at `head` (for
 * consumers) and the slot of `tail - capacity` (for producers), and the slots after each while
 * they are finished too (a gone party's batch leaves several in a row). Reads /proc only when
 * such a slot is claimed and unfinished. Returns how many slots it finished.
 */
function repairStuck(q, owners, self) {
  let n = 0;
  for (let p = Atomics.load(q.u32, HEAD); repairProduced(q, owners, self, p); p = (p + 1) >>> 0) n++;
  for (let p = (Atomics.load(q.u32, TAIL) - q.capacity) >>> 0; repairConsumed(q, owners, self, p); p = (p + 1) >>> 0) n++;
  return n;
}

/**
 * Before the owner record of gone owner `o` is adopted (OwnerTable.adopt's check, holding its
 * actor word; its intent is then zeroed): finishes the positions its intent names, which nothing
 * would name afterwards. Returns false while one of them is still claimed and unfinished (a live
 * party names it too: its claimer, when `o` lost the CAS, or another that lost it), so that the
 * record is left for a later adopter.
 */
function finishOwnerIntent(q, owners, self, o) {
  const u32 = q.u32;
  const roles = Atomics.load(u32, intentWord(o, ROLES));
  const extra = Atomics.load(u32, intentWord(o, EXTRA));
  if (extra >= q.capacity) return true; // not an intent any implementation writes: names nothing
  const producePos = Atomics.load(u32, intentWord(o, PRODUCE_POS));
  const consumePos = Atomics.load(u32, intentWord(o, CONSUME_POS));
  for (let k = 0; k <= extra; k++) {
    if (roles & PRODUCE) {
      const pos = (producePos + k) >>> 0;
      repairProduced(q, owners, self, pos);
      if (inFlight(q, TAIL, pos) && Atomics.load(u32, q.seqIndex_(pos)) === seqOf(pos, 0)) return false;
    }
    if (roles & CONSUME) {
      const pos = (consumePos + k) >>> 0;
      repairConsumed(q, owners, self, pos);
      const seq = Atomics.load(u32, q.seqIndex_(pos));
      if (inFlight(q, HEAD, pos) && (seq === seqOf(pos, FULL) || seq === seqOf(pos, SKIPPED))) return false;
    }
  }
  return true;
}

module.exports = {
  TAIL, HEAD, SKIPPED_WRITES, SKIPPED_READS, PRODUCE, CONSUME, FULL, SKIPPED,
  ROLES, PRODUCE_POS, CONSUME_POS, EXTRA, seqOf, diff, slotAhead, intentWord, repairStuck, finishOwnerIntent,
};
