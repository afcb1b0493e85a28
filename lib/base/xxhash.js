'use strict';
// XXH32 (the xxHash 32-bit function, as in the xxHash C library) over a byte range of a
// Uint8Array. The store's key hashes and entry checksums must agree bit for bit with the native
// engine, which calls the C library. test/format-doc.test.js checks both functions here against
// published vectors and an independent implementation; test/store.interop.test.js compares the
// hashes the native engine stored with these on random keys.

const P1 = 0x9e3779b1 | 0;
const P2 = 0x85ebca77 | 0;
const P3 = 0xc2b2ae3d | 0;
const P4 = 0x27d4eb2f | 0;
const P5 = 0x165667b1 | 0;

function rd32(b, p) {
  return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
}

function round(acc, input) {
  acc = (acc + Math.imul(input, P2)) | 0;
  return Math.imul((acc << 13) | (acc >>> 19), P1);
}

function merge(v1, v2, v3, v4) {
  return (((v1 << 1) | (v1 >>> 31)) + ((v2 << 7) | (v2 >>> 25)) + ((v3 << 12) | (v3 >>> 20)) +
    ((v4 << 18) | (v4 >>> 14))) | 0;
}

// The last 0-3 bytes.
function tailBytes(h, b, p, end) {
  for (; p < end; p++) {
    h = (h + Math.imul(b[p], P5)) | 0;
    h = Math.imul((h << 11) | (h >>> 21), P1);
  }
  return h;
}

// The final mix, as int32 bits: the word-wise functions below return those from a core that may
// not be inlined, and their exported wrappers make them unsigned where they are inlined. A call
// that is not inlined returns an int32 as it is, but a uint32 of 2^31 or more as a heap number:
// an allocation on every other get and set.
function avalanche(h) {
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  return h ^ (h >>> 16);
}

function xxh32(b, off, len, seed) {
  const end = off + len;
  let p = off;
  let h;
  seed |= 0;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed;
    let v4 = (seed - P1) | 0;
    const limit = end - 16;
    do {
      v1 = round(v1, rd32(b, p));
      v2 = round(v2, rd32(b, p + 4));
      v3 = round(v3, rd32(b, p + 8));
      v4 = round(v4, rd32(b, p + 12));
      p += 16;
    } while (p <= limit);
    h = merge(v1, v2, v3, v4);
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  while (p + 4 <= end) {
    h = (h + Math.imul(rd32(b, p), P3)) | 0;
    h = Math.imul((h << 17) | (h >>> 15), P4);
    p += 4;
  }
  return avalanche(tailBytes(h, b, p, end)) >>> 0;
}

// The same function over bytes that start at a 4-aligned offset of the buffer that `w` (a
// Uint32Array) and `b` (a Uint8Array) both view from byte 0: whole words are read at once, which
// is what makes the pure-JS engine's hashing and checksums cheap. Little-endian hosts only (the
// caller checks; every platform Node supports for shared memory here is little-endian).
function xxh32Aligned(w, b, off, len, seed) {
  return alignedBits(w, b, off, len, seed) >>> 0;
}

// xxh32Aligned as int32 bits (avalanche).
function alignedBits(w, b, off, len, seed) {
  const end = off + len;
  let p = off;
  let h;
  seed |= 0;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed;
    let v4 = (seed - P1) | 0;
    const limit = end - 16;
    do {
      const i = p >>> 2; // byte offsets reach 2^32 in a 4 GiB store
      v1 = round(v1, w[i]);
      v2 = round(v2, w[i + 1]);
      v3 = round(v3, w[i + 2]);
      v4 = round(v4, w[i + 3]);
      p += 16;
    } while (p <= limit);
    h = merge(v1, v2, v3, v4);
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  while (p + 4 <= end) {
    h = (h + Math.imul(w[p >>> 2], P3)) | 0;
    h = Math.imul((h << 17) | (h >>> 15), P4);
    p += 4;
  }
  return avalanche(tailBytes(h, b, p, end));
}

// Copies the len bytes at word `from` of `src` (a Uint32Array) to word `to` of `dst` (a
// Uint32Array; `dst8` views the same bytes) a word at a time, the last word whole, and returns
// XXH32 of the len bytes copied, hashed from the words as they are copied: the value
// xxh32Aligned(dst, dst8, to * 4, len, seed) has afterwards, without reading the copy again. With
// `bits` (a Uint32Array, or null) bits[0] is set to the OR of the words copied.
function xxh32CopyWords(src, from, dst, to, dst8, len, seed, bits) {
  return copyWordsBits(src, from, dst, to, dst8, len, seed, bits) >>> 0;
}

// xxh32CopyWords as int32 bits (avalanche).
function copyWordsBits(src, from, dst, to, dst8, len, seed, bits) {
  let i = 0; // words copied
  let any = 0;
  let h;
  seed |= 0;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed;
    let v4 = (seed - P1) | 0;
    const stripeWords = (len >>> 4) * 4;
    do {
      const a = (dst[to + i] = src[from + i]);
      const b = (dst[to + i + 1] = src[from + i + 1]);
      const c = (dst[to + i + 2] = src[from + i + 2]);
      const d = (dst[to + i + 3] = src[from + i + 3]);
      any |= a | b | c | d;
      v1 = round(v1, a);
      v2 = round(v2, b);
      v3 = round(v3, c);
      v4 = round(v4, d);
      i += 4;
    } while (i < stripeWords);
    h = merge(v1, v2, v3, v4);
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  const whole = len >>> 2;
  for (; i < whole; i++) {
    const w = (dst[to + i] = src[from + i]);
    any |= w;
    h = (h + Math.imul(w, P3)) | 0;
    h = Math.imul((h << 17) | (h >>> 15), P4);
  }
  if ((len & 3) !== 0) any |= dst[to + i] = src[from + i];
  if (bits !== null) bits[0] = any;
  return avalanche(tailBytes(h, dst8, (to + whole) * 4, to * 4 + len));
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

module.exports = { xxh32, xxh32Aligned, xxh32CopyWords, LITTLE_ENDIAN };
