'use strict';
// Runs of short one-byte strings in the MPMC queue's batches: what a batch of 32-byte strings
// spends goes mostly to one Buffer call per message each way (utf8Write to encode, latin1Slice to
// decode, some 50 ns each here, against a few ns for the bytes themselves). A run is several
// consecutive messages, short strings whose text together fits the handle's private scratch:
//   writing: before the claim, their strings, each padded to a word with NULs, are joined and
//     written with one utf8Write into the scratch (kept when the text is ASCII, as
//     codec.writeRecord() keeps a message alone as Latin-1: which also shows that each fits its
//     slot, without counting its UTF-8 bytes first), and after the claim each message is copied a
//     word at a time into its slot;
//   reading: one latin1Slice of the run's slots themselves when they are small and consecutive,
//     else of the scratch after each payload is copied into it a word at a time; each message is
//     a substring of that text.
// Each side has a scratch of its own (scratchOf(), readScratchOf()): a consumer's read may run
// while a producer batch of the same handle has a run encoded in its scratch and runs a value's
// toJSON, which may dequeue. Neither side writes anything in the region but the payloads and
// records of the slots it claimed (a scratch in the region would move more cache lines between
// the two sides' cores), and every slot ends with its own record exactly as a message written alone (format.md §15):
// the other side cannot tell, and the C++ parties read and write the same records. Only the up
// to 3 bytes after a record's length, within its slot, may differ, which no reader looks at.
const { C, W } = require('../layout/layout');
const codec = require('./codec');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const SLOT_HEADER = C.MPMC_SLOT_HEADER_BYTES;
const RECORD = W.MPMC_SLOT.RECORD;
const TAG_SHIFT = C.MSG_TAG_SHIFT;
const LENGTH_MASK = C.MSG_LENGTH_MASK;
const TAG_UTF8 = C.MSG_TAG_UTF8;
const TAG_LATIN1 = C.MSG_TAG_LATIN1;
const TAG_JSON_LATIN1 = C.MSG_TAG_JSON_LATIN1;
// A run: at most RUN_MESSAGE units a message and RUN_BYTES of text in all (padded to words), so
// that a string cut out of a decode keeps at most RUN_BYTES alive (V8 shares the characters of a
// substring) and each copy is a short loop of words.
const RUN_BYTES = 2048;
const RUN_MESSAGE = 256;
// A run's text is at most RUN_BYTES less this many units, so that a UTF-8 write of it cut at
// RUN_BYTES can be told from a whole one: a cut write stops within 3 bytes of the end (a
// character takes at most 4), past the text's length.
const CUT_MARGIN = 4;
// Slots read back by one decode of the region itself (readSlots()): at most this many bytes.
const DIRECT_STRIDE = 256;
// The most positions one claim takes (mpmc-batch.js).
const MAX_CLAIM = 64;
// The producer's scratch: room for the text of a whole claim packed before it (at most MAX_CLAIM
// messages of RUN_MESSAGE units) and the margin. The consumer's: a run read back (RUN_BYTES).
const WRITE_BYTES = MAX_CLAIM * RUN_MESSAGE + 4 * CUT_MARGIN;
// The NULs after a message of n units up to its next word: PADS[align4(n) - n].
const PADS = ['', '\0', '\0\0', '\0\0\0'];

const align4 = (n) => (n + 3) & ~3;
const seqAt = (io, pos) => io.slotsWord + (pos & io.mask) * io.strideWords;

/** The producer's scratch for runs: { bytes (a Buffer of WRITE_BYTES), words (its Uint32Array) }. */
function scratchOf(io) {
  if (io.run === undefined) io.run = newScratch(WRITE_BYTES);
  return io.run;
}

/** The consumer's scratch for runs read back: as scratchOf()'s, of RUN_BYTES. */
function readScratchOf(io) {
  if (io.readRun === undefined) io.readRun = newScratch(RUN_BYTES);
  return io.readRun;
}

function newScratch(n) {
  const bytes = Buffer.alloc(n);
  return { bytes, words: new Uint32Array(bytes.buffer, bytes.byteOffset, n / WORD) };
}

/**
 * Whether a prepared payload may join a run whose text takes `used` bytes of the scratch so far:
 * a string of at most RUN_MESSAGE and messageBytes units (as ASCII it then fits a slot).
 */
function isRunText(payload, messageBytes, used) {
  return typeof payload === 'string' && payload.length <= RUN_MESSAGE && payload.length <= messageBytes
    && used + align4(payload.length) <= WRITE_BYTES - CUT_MARGIN;
}

/** The NULs that pad a text of n units to a word. */
const padOf = (n) => PADS[align4(n) - n];

/**
 * Before a claim (mpmc-batch.js): encodes the run payloads[k..e-1], joined with their padding in
 * `text`, at byte `at` of the scratch with one utf8Write. When the text is ASCII (its UTF-8 has as
 * many bytes as it has units: every other unit takes 2 or more bytes, and a write cut at the end
 * of the scratch ends past the text's length), each message's word in the scratch goes to
 * io.packedAt[i] and its tag becomes the one-byte tag a message alone gets (codec.writeRecord),
 * and it returns true; else false (nothing is marked).
 */
function packRun(io, k, e, text, at) {
  const { bytes } = scratchOf(io);
  if (bytes.utf8Write(text, at, WRITE_BYTES - at) !== text.length) return false;
  const { tags, payloads, packedAt } = io;
  let w = at / WORD;
  for (let i = k; i < e; i++) {
    packedAt[i] = w;
    tags[i] = tags[i] === TAG_UTF8 ? TAG_LATIN1 : TAG_JSON_LATIN1;
    w += align4(payloads[i].length) / WORD;
  }
  return true;
}

/**
 * Writes the prepared messages tags/payloads[first + j], j in 0..k-1, into the slots of positions
 * pos + j (claimed by the caller, not yet published). With `packedAt` (pushMany's own arrays), a
 * message packed by packRun() is copied a word at a time from the scratch (its padding too:
 * within the slot, whose payload area ends on a word), any other written alone by
 * `writeSlot(u32, buf, at, tag, payload)`. Without it (messages prepared by a channel), runs of
 * strings are encoded here, after the claim, the same way.
 */
function writeSlots(io, pos, k, tags, payloads, packedAt, first, writeSlot) {
  const { u32, buf } = io;
  if (packedAt === null) {
    writeUnpacked(io, pos, k, tags, payloads, first, writeSlot);
    return;
  }
  const { words } = scratchOf(io);
  for (let j = 0; j < k; j++) {
    const i = first + j;
    const at = seqAt(io, pos + j);
    const w = packedAt[i];
    if (w < 0) {
      writeSlot(u32, buf, at, tags[i], payloads[i]);
      continue;
    }
    const n = payloads[i].length;
    const end = w + align4(n) / WORD;
    for (let s = w, d = at + SLOT_HEADER / WORD; s < end; s++, d++) u32[d] = words[s];
    u32[at + RECORD] = ((tags[i] << TAG_SHIFT) | n) >>> 0;
  }
}

// writeSlots() for messages prepared elsewhere: runs found and encoded after the claim.
function writeUnpacked(io, pos, k, tags, payloads, first, writeSlot) {
  const { u32, buf } = io;
  let j = 0;
  while (j < k) {
    let e = j;
    let units = 0;
    let text = '';
    for (; e < k; e++) {
      const s = payloads[first + e];
      if (typeof s !== 'string' || s.length > RUN_MESSAGE || units + align4(s.length) > RUN_BYTES - CUT_MARGIN) break;
      text += s;
      text += PADS[align4(s.length) - s.length];
      units += align4(s.length);
    }
    if (e - j > 1 && writeRun(io, pos, j, e, tags, payloads, first, text)) {
      j = e;
      continue;
    }
    // A message that opens no run, or a run that is not one-byte text: each message alone.
    const end = e > j ? e : j + 1;
    for (; j < end; j++) writeSlot(u32, buf, seqAt(io, pos + j), tags[first + j], payloads[first + j]);
  }
}

/**
 * Messages j..e-1 (their strings joined in `text`, each padded with NULs to a word) into their
 * slots, when `text` is ASCII (as packRun() tells it). Each message is copied a word at a time
 * into its slot's payload. Returns whether it did.
 */
function writeRun(io, pos, j, e, tags, payloads, first, text) {
  const { u32 } = io;
  const { bytes, words } = scratchOf(io);
  if (bytes.utf8Write(text, 0, RUN_BYTES) !== text.length) return false;
  let w = 0;
  for (let i = j; i < e; i++) {
    const n = payloads[first + i].length;
    const at = seqAt(io, pos + i);
    const end = w + align4(n) / WORD;
    for (let d = at + SLOT_HEADER / WORD; w < end; w++, d++) u32[d] = words[w];
    const tag = tags[first + i] === TAG_UTF8 ? TAG_LATIN1 : TAG_JSON_LATIN1;
    u32[at + RECORD] = ((tag << TAG_SHIFT) | n) >>> 0;
  }
  return true;
}

/**
 * Reads the messages of the slots of positions pos..pos+k-1 (claimed by the caller, all full)
 * into `out`, in order: runs of Latin-1 records as above, any other record by
 * `readSlot(u32, buf, messageBytes, at)`. Throws ERR_CORRUPT for a record longer than a slot.
 * Slots of at most DIRECT_STRIDE bytes are read in runs of consecutive slots (up to the end of
 * the ring) by one latin1Slice of the region itself, whose headers and unused bytes between the
 * payloads come along and are cut out (they are this claim's: nobody else writes them now);
 * larger slots would make that copy longer than gathering the payloads in the scratch first.
 */
function readSlots(io, pos, k, out, readSlot) {
  const { u32, buf, messageBytes, mask } = io;
  const stride = io.strideWords * WORD;
  const direct = stride <= DIRECT_STRIDE;
  let j = 0;
  while (j < k) {
    let e = j;
    let units = 0;
    for (; e < k; e++) {
      const g = u32[seqAt(io, pos + e) + RECORD];
      const n = g & LENGTH_MASK;
      if (!codec.isLatin1(g >>> TAG_SHIFT) || n > RUN_MESSAGE || n > messageBytes || units + align4(n) > RUN_BYTES) break;
      if (direct && e > j && (((pos + e) & mask) === 0 || (e - j + 1) * stride > RUN_BYTES)) break;
      units += align4(n);
    }
    if (e - j < 2) {
      out.push(readSlot(u32, buf, messageBytes, seqAt(io, pos + j)));
      j++;
      continue;
    }
    if (direct) readDirect(io, pos, j, e, out);
    else readGathered(io, pos, j, e, units, out);
    j = e;
  }
}

// Messages j..e-1 of a run in consecutive slots: one decode of the bytes from the first payload
// to the end of the last; message i is the substring at (i - j) strides.
function readDirect(io, pos, j, e, out) {
  const { u32, buf } = io;
  const stride = io.strideWords * WORD;
  const from = seqAt(io, pos + j) * WORD + SLOT_HEADER;
  const last = seqAt(io, pos + e - 1);
  const text = buf.latin1Slice(from, last * WORD + SLOT_HEADER + (u32[last + RECORD] & LENGTH_MASK));
  for (let i = j, off = 0; i < e; i++, off += stride) {
    const g = u32[seqAt(io, pos + i) + RECORD];
    out.push(codec.decodeText(text, off, off + (g & LENGTH_MASK), g >>> TAG_SHIFT));
  }
}

// Messages j..e-1 of a run (`units` bytes with their padding): each payload is copied a word at a
// time into the scratch, then one decode; each message is the substring at its word.
function readGathered(io, pos, j, e, units, out) {
  const { u32 } = io;
  const { bytes, words } = readScratchOf(io);
  let w = 0;
  for (let i = j; i < e; i++) {
    const at = seqAt(io, pos + i);
    const end = w + align4(u32[at + RECORD] & LENGTH_MASK) / WORD;
    for (let s = at + SLOT_HEADER / WORD; w < end; w++, s++) words[w] = u32[s];
  }
  const text = bytes.latin1Slice(0, units);
  let off = 0;
  for (let i = j; i < e; i++) {
    const g = u32[seqAt(io, pos + i) + RECORD];
    const n = g & LENGTH_MASK;
    out.push(codec.decodeText(text, off, off + n, g >>> TAG_SHIFT));
    off += align4(n);
  }
}

module.exports = { writeSlots, readSlots, isRunText, padOf, packRun, MAX_CLAIM };
