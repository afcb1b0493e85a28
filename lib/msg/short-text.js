'use strict';
// Short ASCII text written and read in JavaScript (docs/format.md §15, tags 3 and 4). For a
// message of a few dozen characters the native calls Buffer's UTF-8 write and Latin-1 read make
// cost more than their bytes: on the machines measured, some 85 ns of a 95 ns write of 32
// characters is the call itself. Text of at most SHORT_TEXT UTF-16 units, every unit below 0x80,
// is its own Latin-1 (and UTF-8) bytes, tagged Latin-1 as every JavaScript producer tags ASCII
// text; a loop copies them four to a word, and a read makes the string with
// one String.fromCharCode call of exactly as many arguments as it has characters (an argument
// count fixed per call site, the only form V8 builds a flat string from without a native call
// or a concatenation to flatten later).
const { LITTLE_ENDIAN } = require('../base/xxhash');

const SHORT_TEXT = 64;

/**
 * Writes `text` (at most SHORT_TEXT units) as one byte a unit from word `w` of `u32`, four
 * characters to a word, the last word's spare bytes zero. Returns text.length when every unit is
 * below 0x80 (the text is ASCII, the bytes its Latin-1 and UTF-8 form), else -1: the words written then hold junk,
 * and the caller writes the text another way over them. Its caller reserved
 * ceil(text.length / 4) words there.
 */
function writeLatin1(u32, w, text) {
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

const READERS = LITTLE_ENDIAN ? makeReaders() : null;
/** Whether short text goes through this module (a little-endian host that can make its readers). */
const ENABLED = READERS !== null;

/** The string of the `n` (at most SHORT_TEXT) Latin-1 bytes at `at` of `u8`. */
function readLatin1(u8, at, n) {
  return READERS[n](u8, at);
}

module.exports = { SHORT_TEXT, ENABLED, writeLatin1, readLatin1 };
