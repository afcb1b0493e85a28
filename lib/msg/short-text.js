'use strict';
// Message text written and read with fewer native calls (docs/format.md §15, tags 1-4). For
// text of a few dozen characters Buffer's UTF-8 write into the shared memory and its Latin-1 read
// cost mostly the calls themselves (some 85 ns of a 95 ns write of 32 characters on the machines
// measured). A write encodes with TextEncoder's encodeInto() into a private scratch, a cheaper
// call, and copies whole words; a read of short one-byte text makes the string with one
// String.fromCharCode call of exactly as many arguments as it has characters (an argument count
// fixed per call site: the only form V8 builds a flat string from without a native call or a
// concatenation it must flatten later).
const { LITTLE_ENDIAN } = require('../base/xxhash');

// Where each way stops paying, as measured with 8 to 100 ASCII characters: a loop of
// charCodeAt() beats encodeInto() up to some 16 units, encodeInto() and the copy beat Buffer's
// UTF-8 write up to some 80 (and cost the same near 100), and String.fromCharCode() beats
// Buffer's Latin-1 read up to some 40 characters.
const LOOP_UNITS = 16;
const SCRATCH_UNITS = 80;
const SHORT_TEXT = 40;
// The bytes encode() may write: the UTF-8 form of SCRATCH_UNITS units (3 bytes each at most) and
// the rest of its last word.
const SCRATCH_BYTES = SCRATCH_UNITS * 3 + 4;
const scratch = new Uint8Array(SCRATCH_BYTES);
const scratch32 = new Uint32Array(scratch.buffer);
const encoder = new TextEncoder();
// The mask that keeps the first 1-3 bytes of a word (its low bytes on a little-endian host).
const LOW_BYTES = [0, 0xff, 0xffff, 0xffffff];

/**
 * Writes the UTF-8 form of `text` (at most SCRATCH_UNITS units) from word `w` of `u32`, the bytes
 * past it in the last word zero, and returns its length in bytes. Its caller reserved
 * align4(3 × text.length) bytes there, or the exact UTF-8 length rounded up to a word.
 */
function writeText(u32, w, text) {
  if (text.length <= LOOP_UNITS) {
    const n = writeAscii(u32, w, text);
    if (n >= 0) return n;
  }
  return writeUtf8(u32, w, text);
}

// The text's units as bytes, four to a word, when every one is below 0x80 (ASCII: the bytes are
// its UTF-8); else -1, the words written holding junk that writeUtf8() writes over.
function writeAscii(u32, w, text) {
  const n = text.length;
  let or = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a = text.charCodeAt(i);
    const b = text.charCodeAt(i + 1);
    const c = text.charCodeAt(i + 2);
    const d = text.charCodeAt(i + 3);
    or |= a | b | c | d;
    u32[w++] = a | (b << 8) | (c << 16) | (d << 24);
  }
  if (i < n) {
    let word = 0;
    for (let shift = 0; i < n; i++, shift += 8) {
      const c = text.charCodeAt(i);
      or |= c;
      word |= c << shift;
    }
    u32[w] = word;
  }
  return or < 0x80 ? n : -1;
}

// encodeInto() into the private scratch, then a copy of whole words.
function writeUtf8(u32, w, text) {
  const n = encode(text, scratch);
  copyEncoded(u32, w, scratch32, n);
  return n;
}

/**
 * Encodes `text` (at most SCRATCH_UNITS units) as UTF-8 at the start of `bytes`, a Uint8Array of
 * at least SCRATCH_BYTES whose buffer starts with it (so that copyEncoded() can read it a word at
 * a time); returns its length in bytes. What a writer calls to learn a text's exact length before
 * it commits to writing it, the bytes then copied with copyEncoded().
 */
function encode(text, bytes) {
  return encoder.encodeInto(text, bytes).written;
}

/**
 * Copies the `n` bytes encode() wrote (read from `words`, a Uint32Array over the same bytes) from
 * word `w` of `u32`, the bytes past them in the last word zero.
 */
function copyEncoded(u32, w, words, n) {
  const whole = n >>> 2;
  for (let k = 0; k < whole; k++) u32[w + k] = words[k];
  const rest = n & 3;
  if (rest !== 0) u32[w + whole] = words[whole] & LOW_BYTES[rest];
}

// READERS[n](u8, at): the string of the n Latin-1 bytes at `at`. Made once, as code: one call
// site per length is what makes each call's argument count fixed. Where code cannot be made from
// text (node --disallow-code-generation-from-strings), there are none and readers use Buffer's.
function makeReaders() {
  const readers = [];
  try {
    for (let n = 0; n <= SHORT_TEXT; n++) {
      const args = Array.from({ length: n }, (_, k) => `u8[at + ${k}]`).join(', ');
      readers.push(new Function('u8', 'at', `return String.fromCharCode(${args});`));
    }
  } catch {
    return null;
  }
  return readers;
}

const READERS = makeReaders();
/** Whether readLatin1() may be called: its readers could be made. */
const READS = READERS !== null;
/** Whether writeText() may be called: a little-endian host (it puts a word's first byte lowest). */
const WRITES = LITTLE_ENDIAN;

/** The string of the `n` (at most SHORT_TEXT) Latin-1 bytes at `at` of `u8`. */
function readLatin1(u8, at, n) {
  return READERS[n](u8, at);
}

module.exports = { LOOP_UNITS, SHORT_TEXT, SCRATCH_UNITS, SCRATCH_BYTES, READS, WRITES, writeText, encode, copyEncoded, readLatin1 };
