'use strict';
// Batches of the MPMC queue (docs/format.md §15, "Batches"): a producer claims k consecutive
// positions with one CAS of `tail` and a consumer k with one CAS of `head`, after checking that
// every one of the k slots is in the state a single claim would need. The intent record names the
// whole claim (`producePos` or `consumePos` and `extra` = k - 1) before the CAS, so that a party
// that dies in the middle of a batch leaves every unfinished slot of it named by its intent, and
// the repair of mpmc-slots.js finishes them one by one as it does a single claimed slot. Each
// slot is still published (or released) by its own store of `seq`; what a batch saves is
// the intent stores, the CAS and the wake check per message, all but one store of `seq` per claim
// on each side (the first slot's is the one Atomics.store, made last), and most Buffer calls for
// short strings (mpmc-runs.js), whose encoding is done before the claim, so that the slots are
// held only for the copies.
//
// `io` is the queue's private state that these functions share with mpmc.js and mpmc-single.js:
// { usable, u32, buf, messageBytes, capacity, mask, slotsWord, strideWords, closedWord, rolesAt,
//   producePosAt, consumePosAt, extraAt, tags, payloads, packedAt, prepared, error, salvaged,
//   stagedBytes, stagedWords, stagedLength, run, readRun } (usable(): throws ERR_CLOSED once the
// handle is closed; tags, payloads and packedAt: per-handle scratch arrays, so that a batch
// allocates nothing per message but the values it returns; a channel's sendBatch passes arrays
// of its own to pushPrepared(); salvaged: how many messages of a claim whose write failed were
// published; staged*: the text of a single enqueue encoded before its claim, checkText(); run,
// readRun: the scratches of mpmc-runs.js, made at their first use).
const { C, W } = require('../layout/layout');
const codec = require('./codec');
const S = require('./mpmc-slots');
const R = require('./mpmc-runs');
const short = require('./short-text');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const { TAIL, HEAD, FULL, SKIPPED, PRODUCE, CONSUME } = S;
const SLOT_HEADER = C.MPMC_SLOT_HEADER_BYTES;
const RECORD = W.MPMC_SLOT.RECORD;
const TAG_SHIFT = C.MSG_TAG_SHIFT;
const LENGTH_MASK = C.MSG_LENGTH_MASK;
const TAG_UTF8 = C.MSG_TAG_UTF8;
const TAG_LATIN1 = C.MSG_TAG_LATIN1;
const MAX_UTF8_PER_UNIT = 3; // a UTF-16 unit becomes at most 3 UTF-8 bytes
// The most positions one claim takes: a batch larger than this is several claims, so that a
// producer never holds more slots unpublished (nor a consumer unreleased) than this.
const { MAX_CLAIM } = R;

const seqAt = (io, pos) => io.slotsWord + (pos & io.mask) * io.strideWords;

// prepareChecked()'s and prepareRun()'s result for a string (reused, as codec.prepare()'s is).
const shortString = { tag: TAG_UTF8, payload: '' };
// A prepared tag with this bit set (above every tag of format.md §15) says that the text in
// `payload` is staged: encoded already into the handle's io.stagedWords (io.stagedLength bytes),
// which writeStaged() copies into the slot after the claim. Such a tag never leaves the handle.
const STAGED = 0x100;

/**
 * A value as codec.prepare() makes it ({ tag, payload }, an object reused by the next call),
 * refused when longer than `messageBytes`. Its text is never staged: the object is shared by
 * every handle of the thread (a STAGED tag there could reach a handle without the staged bytes).
 */
function prepareChecked(value, name, messageBytes) {
  // A string of at most messageBytes / 3 UTF-16 units fits whatever it encodes to.
  if (typeof value === 'string' && value.length * MAX_UTF8_PER_UNIT <= messageBytes) {
    shortString.payload = value;
    return shortString;
  }
  const p = codec.prepare(value, name, messageBytes);
  if (typeof p.payload === 'string') {
    p.tag = checkText(p.payload, p.tag, messageBytes);
    return p;
  }
  const length = codec.encodedLength(p.payload, messageBytes);
  if (length > messageBytes) throw codec.tooLarge(length, messageBytes);
  return p;
}

/**
 * Refuses text `text` (tag `tag`, UTF8 or JSON) when its UTF-8 form is longer than
 * `messageBytes`; returns the tag to push it with. Text of at most messageBytes / 3 units fits
 * whatever it encodes to: up to LOOP_UNITS units (short-text.js writes it with a loop, no encoder
 * call) it is written after the claim. With `io` (a synchronous enqueue of a string with no
 * enqueueAsync() pending, whose caller keeps the tag in a local: from here to the copy no code
 * runs that could stage another message on the handle, as serving pending calls would: a
 * promise hook, an abort signal's getter), text of up to SCRATCH_UNITS units
 * otherwise is encoded now into the handle's staging words, and after the claim its bytes are only
 * copied (`tag | STAGED`, writeStaged()): the encode was due anyway, it gives the exact length the
 * check needs (where a count of the UTF-8 bytes, a native call as dear as the encode, would be
 * needed first), and the slot is held for a copy only, as a batch's are.
 */
function checkText(text, tag, messageBytes, io = null) {
  if (text.length <= short.LOOP_UNITS && text.length * MAX_UTF8_PER_UNIT <= messageBytes) return tag;
  // A text of more units than messageBytes has at least as many bytes: it is refused below.
  if (io !== null && text.length <= messageBytes && text.length <= short.SCRATCH_UNITS && short.WRITES) {
    const n = short.encode(text, io.stagedBytes);
    if (n > messageBytes) throw codec.tooLarge(n, messageBytes);
    io.stagedLength = n;
    return tag | STAGED;
  }
  const length = codec.encodedLength(text, messageBytes);
  if (length > messageBytes) throw codec.tooLarge(length, messageBytes);
  return tag;
}

/**
 * Prepares values[from..from+n-1] into io.tags/io.payloads (index k for values[from + k]), the
 * text of short ones already encoded into the handle's scratch (io.packedAt[k], mpmc-runs.js),
 * which is also what proves that such a message fits a slot: ASCII text has as many bytes as
 * units, so a string of up to messageBytes units needs no count of its UTF-8 bytes.
 * Returns how many it prepared; a value that cannot be sent ends the run early, its error
 * returned in `io.error` (thrown by the caller after the values before it are published).
 */
function prepareRun(io, values, from, n) {
  const { tags, payloads, packedAt, messageBytes } = io;
  let k = 0; // values[from..from+k-1] are prepared
  let e = 0; // values[from+k..from+e-1] are a run of short texts, in `text`, not yet encoded
  let text = '';
  let scratch = 0; // bytes of the scratch the runs before it took
  try {
    for (; e < n; e++) {
      const value = values[from + e];
      const p = typeof value === 'string' ? setShort(value) : codec.prepare(value, 'values', messageBytes);
      tags[e] = p.tag;
      payloads[e] = p.payload;
      if (R.isRunText(p.payload, messageBytes, scratch + text.length)) {
        text += p.payload;
        text += R.padOf(p.payload.length);
        continue;
      }
      // A value alone: the run before it first, then its own check.
      k = packRun(io, k, e, text, scratch);
      if (k < e) break;
      scratch += text.length;
      text = '';
      const length = codec.encodedLength(p.payload, messageBytes);
      if (length > messageBytes) throw codec.tooLarge(length, messageBytes);
      packedAt[e] = -1;
      k = e + 1;
    }
    if (e === n) k = packRun(io, k, e, text, scratch);
  } catch (err) {
    // Thrown by the preparation of value e (JSON text) or by its check: the run before it stands.
    if (k < e) k = packRun(io, k, e, text, scratch);
    if (k === e) io.error = err;
  }
  const used = Math.min(e + 1, n); // payloads[e] may hold a value that was not sent
  if (used > io.prepared) io.prepared = used; // the extent forget() clears
  return k;
}

function setShort(value) {
  shortString.payload = value;
  return shortString;
}

/**
 * Encodes the run of texts payloads[k..e-1] (joined in `text`) at byte `scratch` of the scratch:
 * all of them, packed, when the text is ASCII; else each is checked alone (and written alone
 * after the claim), up to the first that does not fit, whose error goes to io.error. Returns the
 * index after the last one prepared.
 */
function packRun(io, k, e, text, scratch) {
  if (k === e) return k;
  if (R.packRun(io, k, e, text, scratch)) return e;
  const { payloads, packedAt, messageBytes } = io;
  for (let i = k; i < e; i++) {
    const length = codec.encodedLength(payloads[i], messageBytes);
    if (length > messageBytes) {
      io.error = codec.tooLarge(length, messageBytes);
      return i;
    }
    packedAt[i] = -1;
  }
  return e;
}

// Drops the references to the values the last run prepared (they belong to the caller).
function forget(io) {
  io.payloads.fill(undefined, 0, io.prepared);
  io.prepared = 0;
}

/**
 * Clears the intent of a party, single or batch, that found the queue full (empty) or damaged:
 * after a claim lost to another party, it names positions that party claimed, and a live owner's
 * intent stops their repair, this owner's own repair too, which therefore comes after it (`roles`
 * first, so that it never names more positions than it did).
 */
function clearIntent(io) {
  // Plain loads of words only this owner writes.
  if (io.u32[io.rolesAt] !== 0) Atomics.store(io.u32, io.rolesAt, 0);
  if (io.u32[io.extraAt] !== 0) Atomics.store(io.u32, io.extraAt, 0);
}

/**
 * Claims up to `want` positions at the tail (all of them empty for this lap) and writes the
 * prepared messages tags/payloads[first..first+k-1] in them. Returns k (0: full at the tail), or
 * -1 when the channel of a closable queue was closed before the claim (the slots were given up).
 * A message that cannot be written (bytes detached since they were checked) throws, the messages
 * before it published and io.salvaged counting them (giveUpFrom()). `repair()` is tried once when
 * the queue looks full (mpmc.js's rate-limited repair of gone parties' slots).
 */
function claimAndWrite(io, tags, payloads, packedAt, first, want, closable, repair) {
  const u32 = io.u32;
  for (;;) {
    const pos = Atomics.load(u32, TAIL);
    let k = 0;
    let d = 0;
    while (k < want) {
      d = S.diff(Atomics.load(u32, seqAt(io, pos + k)), S.seqOf(pos + k, 0));
      if (d !== 0) break;
      k++;
    }
    if (k === 0) {
      if (d < 0 && Atomics.load(u32, TAIL) === pos) {
        clearIntent(io);
        if (repair()) continue;
        return 0;
      }
      if (d > 0 && Atomics.load(u32, TAIL) === pos) {
        clearIntent(io);
        throw S.slotAhead(pos, Atomics.load(u32, seqAt(io, pos)));
      }
      continue; // a stale tail
    }
    // The intent first (format.md §15): the claim's first position and how many more follow.
    // Plain stores, ordered before the claim by the CAS (mpmc-single.js).
    u32[io.producePosAt] = pos;
    u32[io.extraAt] = k - 1;
    u32[io.rolesAt] = PRODUCE;
    if (Atomics.compareExchange(u32, TAIL, pos, (pos + k) >>> 0) !== pos) continue;
    const closed = closable && Atomics.load(u32, io.closedWord) !== 0;
    if (!closed) {
      try {
        R.writeSlots(io, pos, k, tags, payloads, packedAt, first, writeSlot);
      } catch (err) {
        const j = writtenBefore(io, pos, k, tags, payloads, packedAt, first);
        if (j < k) {
          giveUpFrom(io, pos, k, j);
          io.salvaged = j;
          throw err;
        }
      }
    }
    // Then the k publications together, the first slot's last (format.md §15, "Batches"): the
    // others by plain stores, the first by one Atomics.store. A consumer reaches the slots of this
    // claim only through its first one (it checks the slots from `head` on in order, and `head`
    // passes the first slot only by a claim that found it full), so its Atomics.load of the first
    // slot's word orders every write of the claim, payloads and words, before its reads. A
    // consumer polling the first slot finds the others published when it claims, and takes them
    // with one claim.
    const state = closed ? SKIPPED : FULL;
    for (let j = k - 1; j > 0; j--) {
      const p = (pos + j) >>> 0;
      u32[seqAt(io, p)] = S.seqOf(p, state);
    }
    Atomics.store(u32, seqAt(io, pos), S.seqOf(pos, state));
    Atomics.store(u32, io.rolesAt, 0);
    // A single enqueue or dequeue writes no `extra`: it must read 0 for the next one.
    if (k > 1) Atomics.store(u32, io.extraAt, 0);
    return closed ? -1 : k;
  }
}

/**
 * After a write of the claim of positions pos..pos+k-1 failed (bytes that can no longer be read,
 * codec.writeRecord): how many of its messages are written, those before the one that failed. The
 * slots are written in order, so that one is the first whose write fails again: a write is the
 * same copy each time, into a slot nobody else touches while it is claimed.
 */
function writtenBefore(io, pos, k, tags, payloads, packedAt, first) {
  for (let j = 0; j < k; j++) {
    try {
      R.writeSlots(io, (pos + j) >>> 0, 1, tags, payloads, packedAt, first + j, writeSlot);
    } catch {
      return j;
    }
  }
  return k;
}

/**
 * Finishes the claim of positions pos..pos+k-1 whose message j could not be written: publishes the
 * j before it and gives up the rest (consumers skip them, as a closed channel's), since slots left
 * claimed and unfinished by a live owner would stop the queue for good; then clears the intent.
 */
function giveUpFrom(io, pos, k, j) {
  const u32 = io.u32;
  // The first slot's store last, as at a claim's publication (format.md §15, "Batches").
  for (let m = k - 1; m > 0; m--) {
    const p = (pos + m) >>> 0;
    u32[seqAt(io, p)] = S.seqOf(p, m < j ? FULL : SKIPPED);
  }
  Atomics.store(u32, seqAt(io, pos), S.seqOf(pos, j > 0 ? FULL : SKIPPED));
  clearIntent(io);
}

/**
 * Enqueues values[from..] in order, as many as there is room for now (several claims of at most
 * MAX_CLAIM positions). Returns the index after the last value enqueued, or -1 - that index when
 * the channel was closed. A value that cannot be sent is thrown after the values before it were
 * published. `wake()` wakes sleeping consumers after each claim.
 */
function pushMany(io, values, from, closable, repair, wake) {
  try {
    return pushRuns(io, values, from, closable, repair, wake);
  } catch (err) {
    // A message that could not be written after its claim (giveUpFrom(): the values before it
    // published, the rest of the claim given up), thrown as a value that cannot be sent is.
    forget(io);
    io.error = null;
    wake();
    throw err;
  }
}

function pushRuns(io, values, from, closable, repair, wake) {
  let i = from;
  const end = values.length;
  io.error = null;
  while (i < end) {
    const n = prepareRun(io, values, i, Math.min(end - i, MAX_CLAIM, io.capacity));
    // A toJSON of the run (or a getter of the array) may have closed the handle: nothing is
    // claimed through a closed handle (its owner record is released, its memory may no longer be
    // the region's). ERR_CLOSED, carrying in `enqueued` how many values of the batch were
    // enqueued (a prefix of `values`: those of the batch's earlier calls and of this call's
    // claims before); the values of this run are not.
    try {
      io.usable();
    } catch (e) {
      e.enqueued = i;
      throw e;
    }
    let done = 0;
    while (done < n) {
      const k = claimAndWrite(io, io.tags, io.payloads, io.packedAt, done, n - done, closable, repair);
      if (k === 0) break;
      if (k < 0) {
        forget(io);
        wake();
        return -1 - (i + done);
      }
      done += k;
      wake();
    }
    i += done;
    if (done < n) break; // full before the value that cannot be sent, if any
    if (io.error !== null) {
      const e = io.error;
      io.error = null;
      forget(io);
      throw e;
    }
  }
  forget(io); // no reference to the values stays with the handle
  io.error = null;
  return i;
}

/**
 * Enqueues the messages prepared by the caller, batch.tags/payloads[batch.sent..batch.end-1], in
 * order, as many as there is room for now (claims of at most MAX_CLAIM positions), moving
 * batch.sent past those enqueued. Returns false when the channel was closed before a claim
 * (nothing from batch.sent on was delivered), else true. A message that could not be written
 * after its claim (giveUpFrom()) is thrown with batch.sent counting the messages before it, which
 * were. `wake()` wakes sleeping consumers after each claim.
 */
function pushPrepared(io, batch, closable, repair, wake) {
  const { tags, payloads, end } = batch;
  while (batch.sent < end) {
    const i = batch.sent;
    let k;
    try {
      k = claimAndWrite(io, tags, payloads, null, i, Math.min(end - i, MAX_CLAIM, io.capacity), closable, repair);
    } catch (err) {
      batch.sent = i + io.salvaged;
      wake();
      throw err;
    }
    if (k === 0) break;
    wake();
    if (k < 0) return false;
    batch.sent = i + k;
  }
  return true;
}

/**
 * Dequeues up to `max` messages (at least 1) into `out`: claims the full (or given-up) slots at
 * the head, at most MAX_CLAIM at a time, reads and releases them in order. Returns how many it
 * appended (given-up slots yield nothing). A claim holding a record that cannot be read (damage,
 * ERR_CORRUPT) is read whole all the same and released, and then the first such error is thrown,
 * carrying in `received` the messages this call took (those of earlier claims, and every other
 * message of that claim, in order): they are off the queue, and only the damaged records are lost.
 */
function popMany(io, out, max, repair, wake) {
  const start = out.length;
  try {
    return popClaims(io, out, max, repair, wake);
  } catch (err) {
    if (err !== null && typeof err === 'object') err.received = out.slice(start);
    throw err;
  }
}

/**
 * Reads the full slots of positions pos+from..pos+k-1 of a claim into `out`, each alone, passing
 * over a record that cannot be read; returns the first such record's error, or null.
 */
function readEach(io, pos, from, k, out) {
  const { u32, buf, messageBytes } = io;
  let first = null;
  for (let j = from; j < k; j++) {
    const p = (pos + j) >>> 0;
    const at = seqAt(io, p);
    if (Atomics.load(u32, at) !== S.seqOf(p, FULL)) continue; // given up by a gone producer
    try {
      out.push(readSlot(u32, buf, messageBytes, at));
    } catch (err) {
      if (first === null) first = err;
    }
  }
  return first;
}

function popClaims(io, out, max, repair, wake) {
  const u32 = io.u32;
  const start = out.length;
  for (;;) {
    const want = Math.min(max - (out.length - start), MAX_CLAIM, io.capacity);
    if (want <= 0) return out.length - start;
    const pos = Atomics.load(u32, HEAD);
    let k = 0;
    let d = 0;
    let given = false; // a slot of the claim was given up by a gone producer
    while (k < want) {
      d = S.diff(Atomics.load(u32, seqAt(io, pos + k)), S.seqOf(pos + k, 0));
      if (d === SKIPPED) given = true;
      else if (d !== FULL) break;
      k++;
    }
    if (k === 0) {
      if (d <= 0 && Atomics.load(u32, HEAD) === pos) {
        // Empty at pos, unless a producer claimed pos and is gone: repair() asks, at most once
        // per its period, without a read of `tail` at every poll (mpmc-single.js popOne).
        clearIntent(io);
        if (d === 0 && repair()) continue;
        return out.length - start;
      }
      if (d > SKIPPED && Atomics.load(u32, HEAD) === pos) {
        clearIntent(io);
        throw S.slotAhead(pos, Atomics.load(u32, seqAt(io, pos)));
      }
      continue;
    }
    // Plain stores, ordered before the claim by the CAS (mpmc-single.js).
    u32[io.consumePosAt] = pos;
    u32[io.extraAt] = k - 1;
    u32[io.rolesAt] = CONSUME;
    if (Atomics.compareExchange(u32, HEAD, pos, (pos + k) >>> 0) !== pos) continue;
    // The claimed slots keep the states read above: nobody but this claimer moves them now (a
    // repair finishes only the slots of a gone claimer).
    const capacity = io.capacity;
    let damage = null;
    try {
      if (!given) {
        const before = out.length;
        try {
          R.readSlots(io, pos, k, out, readSlot);
        } catch (err) {
          // The run reader pushes the messages in order and stops at the first record it cannot
          // read (no slot of this claim was given up: one message a slot), so that record is the
          // claim's (out.length - before)th; the rest of the claim is read slot by slot.
          damage = err;
          readEach(io, pos, out.length - before + 1, k, out);
        }
      } else {
        damage = readEach(io, pos, 0, k, out);
      }
    } finally {
      // The releases, the first slot's last (format.md §15, "Batches"): the others by plain
      // stores, the first by one Atomics.store. A producer reaches these slots only through the
      // first one (it checks the slots from `tail` on in order, and `tail` passes the first slot
      // only by a claim that found it released), so its Atomics.load of that word orders every
      // read of this claim before its writes. A record that could not be read (a corrupt region)
      // is thrown after: the claim is released all the same, so that the queue goes on.
      for (let j = k - 1; j > 0; j--) {
        const p = (pos + j) >>> 0;
        u32[seqAt(io, p)] = S.seqOf(p + capacity, 0);
      }
      Atomics.store(u32, seqAt(io, pos), S.seqOf(pos + capacity, 0));
      Atomics.store(u32, io.rolesAt, 0);
      if (k > 1) Atomics.store(u32, io.extraAt, 0);
      wake();
    }
    if (damage !== null) throw damage;
  }
}

/**
 * Writes a prepared message into the slot whose sequence word is u32[at] (its record follows).
 * Plain writes: the store of `seq` that publishes the slot orders them before it.
 */
function writeSlot(u32, buf, at, tag, payload) {
  // ASCII text is tagged Latin-1 (codec.writeRecord), which the reader decodes most cheaply.
  u32[at + RECORD] = codec.writeRecord(buf, at * WORD + SLOT_HEADER, tag, payload, u32);
}

/**
 * Writes a staged message (checkText(), tag `tag` | STAGED) into the slot whose sequence word
 * is u32[at]: the handle's staged bytes copied, and the record a write of `text` would make.
 */
function writeStaged(io, at, tag, text) {
  short.copyEncoded(io.u32, at + SLOT_HEADER / WORD, io.stagedWords, io.stagedLength);
  io.u32[at + RECORD] = codec.textHeader(tag & ~STAGED, text, io.stagedLength);
}

/** The message in the slot whose sequence word is u32[at] (its record follows it). */
function readSlot(u32, buf, messageBytes, at) {
  const h = u32[at + RECORD];
  const length = h & LENGTH_MASK;
  if (length > messageBytes) throw codec.corrupt(`a slot record of ${length} bytes`);
  const offset = at * WORD + SLOT_HEADER;
  const tag = h >>> TAG_SHIFT;
  // Strings, the common case, without a call through the codec.
  if (tag === TAG_LATIN1) return codec.latin1(buf, offset, length);
  return tag === TAG_UTF8 ? buf.utf8Slice(offset, offset + length) : codec.decode(buf, offset, length, tag);
}

module.exports = { pushMany, pushPrepared, popMany, prepareChecked, checkText, writeSlot, writeStaged, readSlot, clearIntent, MAX_CLAIM, STAGED };
