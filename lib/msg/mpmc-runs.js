'use strict';
// Runs of short one-byte strings in the MPMC queue's batches: what a batch of 32-byte strings
// spends goes mostly to one Buffer call per message each way (utf8Write to encode, latin1Slice to
// decode, some 50 ns each here, against a few ns for the bytes themselves). A run is several
// consecutive messages of one claim whose text together fits one slot's payload area:
//   writing: their strings are joined and written with one utf8Write into the payload area of
//     the run's first slot (kept when the text is ASCII, as codec.writeRecord() keeps a message
//     alone as Latin-1), and each other message's bytes are copied from there into its own
//     slot (a word loop, or copyWithin, a builtin without a call into Node);
//   reading: each other slot's payload is copied after the first slot's own, and one latin1Slice
//     of the joined text gives every message as a substring.
// Either side uses only the payload areas of the slots it has claimed (nobody else reads or writes
// them until it publishes or releases them), and every slot ends with its own record exactly as
// a message written alone (format.md §15): the other side cannot tell, and the C++ parties read
// and write the same records. Only the bytes after a record's length differ, which no reader
// looks at.
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
// A run's text is at most the payload area less this many characters, so that a UTF-8 write of
// it, cut at the area's end, can be told from a whole one: a cut write stops within 3 bytes of
// the end (a character takes at most 4), past the text's length.
const CUT_MARGIN = 4;

// The longest copy made a word at a time (both ends 4-byte aligned): a short one costs less as a
// loop than as a call of copyWithin (some 30 ns for 32 bytes here against some 12).
const WORD_COPY_MAX = 256;

const seqAt = (io, pos) => io.slotsWord + (pos & io.mask) * io.strideWords;

/** Copies n bytes from byte `src` to byte `dst` of the region (ranges apart). */
function copyBytes(u32, buf, dst, src, n) {
  if (((dst | src) & 3) !== 0 || n > WORD_COPY_MAX) {
    buf.copyWithin(dst, src, src + n);
    return;
  }
  let d = dst >>> 2;
  let s = src >>> 2;
  const end = s + (n >>> 2);
  while (s < end) u32[d++] = u32[s++];
  for (let i = n & ~3; i < n; i++) buf[dst + i] = buf[src + i];
}

/**
 * Writes the prepared messages tags/payloads[first + j], j in 0..k-1, into the slots of positions
 * pos + j (claimed by the caller, not yet published): runs of strings as above, any other message
 * (bytes, a string too long to share a slot, a run with a character outside ASCII) by
 * `writeSlot(u32, buf, at, tag, payload)` alone.
 */
function writeSlots(io, pos, k, tags, payloads, first, writeSlot) {
  const { u32, buf, messageBytes } = io;
  const room = messageBytes - CUT_MARGIN;
  let j = 0;
  while (j < k) {
    let e = j;
    let chars = 0;
    let text = '';
    for (; e < k; e++) {
      const s = payloads[first + e];
      if (typeof s !== 'string' || chars + s.length > room) break;
      text += s;
      chars += s.length;
    }
    if (e - j > 1 && writeRun(io, pos, j, e, tags, payloads, first, text)) {
      j = e;
      continue;
    }
    // A message that opens no run, or a run that is not one-byte text: each message alone.
    const end = e > j ? e : j + 1;
    for (; j < end; j++) writeSlot(u32, buf, seqAt(io, (pos + j) >>> 0), tags[first + j], payloads[first + j]);
  }
}

/**
 * Messages j..e-1 (their strings joined in `text`, at most messageBytes - CUT_MARGIN units) into
 * their slots, when `text` is ASCII: its UTF-8 write into the first slot's payload area (cut at
 * the area's end) has as many bytes as it has units only then (every other unit takes 2 or more
 * bytes, and a cut write ends past the text's length). Returns whether it did; if not, the bytes
 * written are past every record (the caller writes each message alone, over them).
 */
function writeRun(io, pos, j, e, tags, payloads, first, text) {
  const { u32, buf, messageBytes } = io;
  const head = seqAt(io, (pos + j) >>> 0);
  const from = head * WORD + SLOT_HEADER;
  if (buf.utf8Write(text, from, messageBytes) !== text.length) return false;
  let off = 0;
  for (let i = j; i < e; i++) {
    const n = payloads[first + i].length;
    const at = seqAt(io, (pos + i) >>> 0);
    if (i > j) copyBytes(u32, buf, at * WORD + SLOT_HEADER, from + off, n);
    const tag = tags[first + i] === TAG_UTF8 ? TAG_LATIN1 : TAG_JSON_LATIN1;
    u32[at + RECORD] = ((tag << TAG_SHIFT) | n) >>> 0;
    off += n;
  }
  return true;
}

/**
 * Reads the messages of the slots of positions pos..pos+k-1 (claimed by the caller, all full)
 * into `out`, in order: runs of Latin-1 records as above, any other record by
 * `readSlot(u32, buf, messageBytes, at)`. Throws ERR_CORRUPT for a record longer than a slot.
 */
function readSlots(io, pos, k, out, readSlot) {
  const { u32, buf, messageBytes } = io;
  let j = 0;
  while (j < k) {
    const head = seqAt(io, (pos + j) >>> 0);
    const h = u32[head + RECORD];
    let total = h & LENGTH_MASK;
    let e = j + 1;
    if (codec.isLatin1(h >>> TAG_SHIFT) && total <= messageBytes) {
      for (; e < k; e++) {
        const g = u32[seqAt(io, (pos + e) >>> 0) + RECORD];
        const n = g & LENGTH_MASK;
        if (!codec.isLatin1(g >>> TAG_SHIFT) || total + n > messageBytes) break;
        total += n;
      }
    }
    if (e - j < 2) {
      out.push(readSlot(u32, buf, messageBytes, head));
      j++;
      continue;
    }
    // Gather the run after the first message, then one decode.
    const from = head * WORD + SLOT_HEADER;
    let off = h & LENGTH_MASK;
    for (let i = j + 1; i < e; i++) {
      const at = seqAt(io, (pos + i) >>> 0);
      const n = u32[at + RECORD] & LENGTH_MASK;
      copyBytes(u32, buf, from + off, at * WORD + SLOT_HEADER, n);
      off += n;
    }
    const text = buf.latin1Slice(from, from + total);
    off = 0;
    for (let i = j; i < e; i++) {
      const g = i === j ? h : u32[seqAt(io, (pos + i) >>> 0) + RECORD];
      const n = g & LENGTH_MASK;
      out.push(codec.decodeText(text, off, off + n, g >>> TAG_SHIFT));
      off += n;
    }
    j = e;
  }
}

module.exports = { writeSlots, readSlots };
