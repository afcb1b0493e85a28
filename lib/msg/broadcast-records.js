'use strict';
// The record protocol of the broadcast channel (docs/format.md §15, "Broadcast"): publishing a
// record, reading one without ever returning it torn, and giving up the record of a publisher
// that is gone. No waiting and no handles: broadcast.js drives these. All indices are u32 word
// indices of the region view `r.u32`; `r` is { u32, buf, mask, capacity, strideWords,
// messageBytes }.
//
// A record's sequence word is 4 × position + state (mod 2^32) for the position it holds:
//   4p      being written for position p (claimed by a publisher)
//   4p + 1  published: the payload of position p is complete
//   4p + 2  given up: its publisher is gone; readers step over it
// Invariant: once `tail` is above p, the record of p's place holds p or a later position (a
// publisher claims the record first and moves `tail` past it second; anyone who finds a record
// claimed for the tail position moves `tail` on for it).
const { C, W } = require('../layout/layout');
const { GONE } = require('../ownership/owners');
const codec = require('./codec');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const CTL = C.BCAST_CONTROL_OFFSET / WORD;
const TAIL = CTL + W.BCAST_CONTROL.TAIL;
const SKIPPED = CTL + W.BCAST_CONTROL.SKIPPED;
const PUBLISHED = CTL + W.BCAST_CONTROL.PUBLISHED;
const WAITERS = CTL + W.BCAST_CONTROL.WAITERS;
const PARTIES = C.BCAST_PARTIES_OFFSET / WORD;
const PARTY_WORDS = W.BCAST_PARTY.WORDS;
const ROLES = W.BCAST_PARTY.ROLES;
const PUBLISH_POS = W.BCAST_PARTY.PUBLISH_POS;
const CURSOR = W.BCAST_PARTY.CURSOR;
const RECORDS = C.BCAST_RECORDS_OFFSET / WORD;
const RECORD = W.BCAST_RECORD.RECORD;
const HEADER_BYTES = C.BCAST_RECORD_HEADER_BYTES;
const SHIFT = C.BCAST_SEQ_SHIFT;
const WRITING = 0;
const DONE = C.BCAST_SEQ_PUBLISHED;
const GIVEN_UP = C.BCAST_SEQ_SKIPPED;
const STATE_MASK = (1 << SHIFT) - 1;
const PUBLISH = C.BCAST_ROLE_PUBLISH;
const SUBSCRIBE = C.BCAST_ROLE_SUBSCRIBE;
const TAG_SHIFT = C.MSG_TAG_SHIFT;
const LENGTH_MASK = C.MSG_LENGTH_MASK;
// What read() returns when the record at the cursor is not readable now.
const NONE = Symbol('none');

const seqOf = (pos, state) => ((pos << SHIFT) + state) >>> 0;
const diff = (a, b) => (a - b) | 0;
// How far a cursor is behind `tail`, 0 to 2^32 - 1. Unlike the other distances of the region it
// is not bounded by a lap (publishers never wait for subscribers), so it is read unsigned: a
// cursor never passes the tail (it joins at the tail and moves only over positions below it), so
// "ahead of the tail" is always "2^31 or more behind" (modulo 2^32, which a subscriber a multiple
// of 2^32 behind cannot tell from none).
const behind = (tail, cursor) => (tail - cursor) >>> 0;
const partyWord = (o, field) => PARTIES + o * PARTY_WORDS + field;
const seqIndex = (r, pos) => RECORDS + (pos & r.mask) * r.strideWords;

/**
 * Whether the publisher that claimed position `pos` is gone: every owner whose party record
 * names `pos` as its publication in progress is gone by the gone rule of §6, and there is at least
 * one (a publisher names the position before claiming it, and clears its role only after
 * publishing; one that lost the claim may name it too, so all of them must be gone).
 */
function publisherGone(r, owners, self, pos) {
  let named = 0;
  for (let o = 1; o < owners.slots; o++) {
    if ((Atomics.load(r.u32, partyWord(o, ROLES)) & PUBLISH) === 0) continue;
    if (Atomics.load(r.u32, partyWord(o, PUBLISH_POS)) !== pos) continue;
    if (owners.status(o, self) !== GONE) return false;
    named++;
  }
  return named > 0;
}

/**
 * Gives up position `pos` if its record is still being written by a publisher that is gone, and
 * moves `tail` past it if the publisher died before doing so. Returns whether it gave it up.
 */
function giveUp(r, owners, self, pos) {
  // Only a position within a lap of the tail can be being written (0 <= tail - pos <= capacity:
  // its record holds up the claim of the one a lap on). A sequence word repeats every 2^30
  // positions, so an old position a gone party's record still names, 2^30 before one a live
  // publisher is writing in the same record, has that record's word: the window tells them apart.
  const d = diff(Atomics.load(r.u32, TAIL), pos);
  if (d < 0 || d > r.capacity) return false;
  const at = seqIndex(r, pos);
  if (Atomics.load(r.u32, at) !== seqOf(pos, WRITING) || !publisherGone(r, owners, self, pos)) return false;
  if (Atomics.compareExchange(r.u32, at, seqOf(pos, WRITING), seqOf(pos, GIVEN_UP)) !== seqOf(pos, WRITING)) return false;
  Atomics.add(r.u32, SKIPPED, 1);
  Atomics.compareExchange(r.u32, TAIL, pos, (pos + 1) >>> 0);
  wakeReaders(r);
  return true;
}

/** Whether the record of position `pos` is being written for `pos` (claimed, not published). */
function beingWritten(r, pos) {
  return Atomics.load(r.u32, seqIndex(r, pos)) === seqOf(pos, WRITING);
}

// Whether some party's intent names the record whose sequence word is `seq` (being written): a
// publisher stores its intent before it claims a record and clears it only after publishing, so
// while the word stays `seq` its writer's intent names it, live or gone.
function claimed(r, seq) {
  for (let o = 1; o < r.owners.slots; o++) {
    if ((Atomics.load(r.u32, partyWord(o, ROLES)) & PUBLISH) === 0) continue;
    if (seqOf(Atomics.load(r.u32, partyWord(o, PUBLISH_POS)), WRITING) === seq) return true;
  }
  return false;
}

/**
 * Gives up the record at word `at`, being written (`seq`) by nobody: no party's intent names it
 * (its writer's slot was taken over since, or the word is damaged), so nobody will publish it and
 * a publisher waiting for it would wait for ever. Returns whether it gave it up.
 */
function giveUpUnclaimed(r, at, seq) {
  if (claimed(r, seq) || Atomics.compareExchange(r.u32, at, seq, (seq - WRITING + GIVEN_UP) >>> 0) !== seq) return false;
  Atomics.add(r.u32, SKIPPED, 1);
  wakeReaders(r);
  return true;
}

// The error for the record of position `pos` whose sequence word `seq` names a later position
// than the tail allows: damage, which retrying would spin on forever.
function aheadOf(pos, seq) {
  return codec.corrupt(`the broadcast record of position ${pos} has sequence word ${seq}, ahead of the tail`);
}

/** Wakes the subscribers that went to sleep since the last wake (they registered in `waiters`). */
function wakeReaders(r) {
  if (Atomics.load(r.u32, WAITERS) !== 0 && Atomics.exchange(r.u32, WAITERS, 0) !== 0) {
    Atomics.add(r.u32, PUBLISHED, 1);
    r.wakeAll(PUBLISHED);
  }
}

/**
 * One attempt to publish as owner `o`: claims the record of the tail position, writes it and
 * marks it published. Returns true, or false when the record's previous lap is still being
 * written (by a live publisher; one that is gone is given up when `repair()` allows).
 */
function publish(r, o, tag, payload, repair) {
  const u32 = r.u32;
  for (;;) {
    const pos = Atomics.load(u32, TAIL);
    const at = seqIndex(r, pos);
    const seq = Atomics.load(u32, at);
    const d = diff(seq, seqOf(pos, WRITING));
    if (d >= 0 && d <= STATE_MASK) {
      // Claimed for pos by a publisher that has not moved tail yet: move it for it.
      Atomics.compareExchange(u32, TAIL, pos, (pos + 1) >>> 0);
      continue;
    }
    // A stale tail: load it again. A record ahead of a tail that still names its position is
    // damage (a publisher claims a record only at the tail and moves the tail past it).
    if (d > 0) {
      if (Atomics.load(u32, TAIL) === pos) throw aheadOf(pos, seq);
      continue;
    }
    if ((seq & STATE_MASK) === WRITING) {
      // The previous lap of this record is being written: wait for its publisher, or give it up.
      Atomics.store(u32, partyWord(o, ROLES), 0);
      if (repair() && (giveUp(r, r.owners, r.self, (pos - r.capacity) >>> 0) || giveUpUnclaimed(r, at, seq))) continue;
      return false;
    }
    Atomics.store(u32, partyWord(o, PUBLISH_POS), pos);
    Atomics.store(u32, partyWord(o, ROLES), PUBLISH);
    if (Atomics.compareExchange(u32, at, seq, seqOf(pos, WRITING)) !== seq) continue;
    Atomics.compareExchange(u32, TAIL, pos, (pos + 1) >>> 0);
    u32[at + RECORD] = codec.writeRecord(r.buf, at * WORD + HEADER_BYTES, tag, payload, u32);
    Atomics.store(u32, at, seqOf(pos, DONE));
    Atomics.store(u32, partyWord(o, ROLES), 0);
    wakeReaders(r);
    return true;
  }
}

/**
 * Reads the record at subscriber `s`'s cursor (`s.cursor`, a position): returns its value and
 * advances the cursor, or returns NONE when nothing is readable now. A cursor a lap or more
 * behind (however far: `behind`) jumps to the oldest record still held and adds what it stepped
 * over to `s.missed`.
 * The payload is copied between two loads of the sequence word and kept only when both say
 * "published, position p": a record overwritten meanwhile is never returned.
 */
function read(r, s, repair) {
  const u32 = r.u32;
  for (;;) {
    const pos = s.cursor;
    const tail = Atomics.load(u32, TAIL);
    const ahead = behind(tail, pos);
    if (ahead === 0) return NONE;
    if (ahead > r.capacity) {
      lapped(r, s, tail);
      continue;
    }
    const at = seqIndex(r, pos);
    const seq = Atomics.load(u32, at);
    const d = diff(seq, seqOf(pos, WRITING));
    if (d === DONE) {
      const value = copy(r, at, seq);
      if (value === NONE) continue; // overwritten while being copied: lapped, found next round
      advance(r, s, 1);
      return value;
    }
    if (d === GIVEN_UP) {
      advance(r, s, 1);
      continue;
    }
    if (d === WRITING) {
      if (repair() && giveUp(r, r.owners, r.self, pos)) continue;
      return NONE;
    }
    if (d > STATE_MASK) {
      // Claimed for a later lap: the tail has reached pos + capacity (a publisher moves it to
      // the claimed position before it claims), unless the record's word is damaged.
      const t = Atomics.load(u32, TAIL);
      if (behind(t, pos) < r.capacity) throw aheadOf(pos, seq);
      lapped(r, s, t);
      // A record claimed for the next lap lets lapped() move the cursor or the tail; one that
      // moves neither names a lap the tail has not reached: damage (read again, it spins).
      if (s.cursor === pos && Atomics.load(u32, TAIL) === t) throw aheadOf(pos, seq);
      continue;
    }
    return NONE; // d < 0 cannot be while tail is above pos (the invariant above)
  }
}

// The cursor was overtaken: the oldest position whose record may still hold it is tail - capacity.
// When the record at the cursor was claimed for the next lap by a publisher that has not moved
// `tail` past it yet (tail - capacity is still the cursor), moves `tail` for it, as publishers do,
// so that a reader never waits on a publisher that died between its two steps.
function lapped(r, s, tail) {
  const oldest = (tail - r.capacity) >>> 0;
  // Called with the cursor at least a lap behind tail: oldest is the cursor or past it.
  const skipped = behind(oldest, s.cursor);
  if (skipped === 0) {
    const d = diff(Atomics.load(r.u32, seqIndex(r, tail)), seqOf(tail, WRITING));
    if (d >= 0 && d <= STATE_MASK) Atomics.compareExchange(r.u32, TAIL, tail, (tail + 1) >>> 0);
    return;
  }
  s.missed += skipped;
  s.pendingMissed += skipped;
  s.cursor = oldest;
  Atomics.store(r.u32, partyWord(s.slot, CURSOR), oldest);
}

function advance(r, s, n) {
  s.cursor = (s.cursor + n) >>> 0;
  Atomics.store(r.u32, partyWord(s.slot, CURSOR), s.cursor);
}

// The value of the published record at `at` (sequence word `seq`), or NONE if it changed.
function copy(r, at, seq) {
  const u32 = r.u32;
  const h = u32[at + RECORD];
  const length = h & LENGTH_MASK;
  let value = NONE;
  let error = null;
  if (length <= r.messageBytes) {
    try {
      value = codec.decode(r.buf, at * WORD + HEADER_BYTES, length, h >>> TAG_SHIFT);
    } catch (e) {
      error = e;
    }
  } else {
    error = codec.corrupt(`a broadcast record of ${length} bytes`);
  }
  if (Atomics.load(u32, at) !== seq) return NONE;
  if (error !== null) throw error;
  return value;
}

module.exports = {
  TAIL, SKIPPED, PUBLISHED, WAITERS, ROLES, PUBLISH_POS, CURSOR, SUBSCRIBE, PUBLISH, NONE, RECORDS, HEADER_BYTES,
  seqOf, diff, behind, partyWord, publish, read, giveUp, beingWritten,
};
