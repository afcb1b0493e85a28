'use strict';
// CRC32C (Castagnoli: reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF),
// the checksum of the write-ahead log and of snapshots (docs/format.md §16). Two
// implementations of one function, equal bit for bit: the addon's (Intel ISA-L, SSE4.2) and a
// slice-by-8 table walk in JavaScript for when the addon is absent. `crc32c` is the faster one
// available; `crc32cJs` is always the JavaScript one (tests compare them).
const native = require('../base/native');

const POLY = 0x82f63b78;
// One table row per value of a byte.
const BYTE_VALUES = 256;

// TABLE[k * 256 + b]: the CRC state after feeding byte b followed by k zero bytes, so that
// eight (sixteen) bytes are folded with eight (sixteen) independent lookups (slice-by-8, -16).
const SLICES = 16;
const TABLE = new Int32Array(SLICES * BYTE_VALUES);
for (let b = 0; b < BYTE_VALUES; b++) {
  let c = b;
  for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  TABLE[b] = c;
}
for (let b = 0; b < BYTE_VALUES; b++) {
  let c = TABLE[b];
  for (let k = 1; k < SLICES; k++) {
    c = TABLE[c & 0xff] ^ (c >>> 8);
    TABLE[k * BYTE_VALUES + b] = c;
  }
}

/**
 * CRC32C of `bytes` (a Uint8Array), continuing from `crc` (the CRC32C of the bytes before
 * them; 0 for none). Returns an unsigned 32-bit number.
 */
function crc32cJs(bytes, crc = 0) {
  const T = TABLE;
  let c = ~crc;
  const n = bytes.length;
  let i = 0;
  const end8 = n - (n & 7);
  for (; i < end8; i += 8) {
    const lo = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c = crc32cPairStep(lo, bytes[i + 4] | (bytes[i + 5] << 8) | (bytes[i + 6] << 16) | (bytes[i + 7] << 24));
  }
  for (; i < n; i++) c = T[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// One step of the table walk over eight bytes: `lo` the CRC state XORed with the first four
// (read as a little-endian word), `hi` the next four. Returns the new state.
function crc32cPairStep(lo, hi) {
  const T = TABLE;
  return T[1792 + (lo & 0xff)] ^ T[1536 + ((lo >>> 8) & 0xff)]
    ^ T[1280 + ((lo >>> 16) & 0xff)] ^ T[1024 + (lo >>> 24)]
    ^ T[768 + (hi & 0xff)] ^ T[512 + ((hi >>> 8) & 0xff)]
    ^ T[256 + ((hi >>> 16) & 0xff)] ^ T[hi >>> 24];
}

// One step over sixteen bytes: `a` the state XORed with the first four, `b`, `d`, `e` the next
// three words.
function crc32cQuadStep(a, b, d, e) {
  const T = TABLE;
  return T[3840 + (a & 0xff)] ^ T[3584 + ((a >>> 8) & 0xff)] ^ T[3328 + ((a >>> 16) & 0xff)] ^ T[3072 + (a >>> 24)]
    ^ T[2816 + (b & 0xff)] ^ T[2560 + ((b >>> 8) & 0xff)] ^ T[2304 + ((b >>> 16) & 0xff)] ^ T[2048 + (b >>> 24)]
    ^ T[1792 + (d & 0xff)] ^ T[1536 + ((d >>> 8) & 0xff)] ^ T[1280 + ((d >>> 16) & 0xff)] ^ T[1024 + (d >>> 24)]
    ^ T[768 + (e & 0xff)] ^ T[512 + ((e >>> 8) & 0xff)] ^ T[256 + ((e >>> 16) & 0xff)] ^ T[e >>> 24];
}

// One step over four bytes: `x` the state XORed with them (a little-endian word).
function crc32cWordStep(x) {
  const T = TABLE;
  return T[768 + (x & 0xff)] ^ T[512 + ((x >>> 8) & 0xff)] ^ T[256 + ((x >>> 16) & 0xff)] ^ T[x >>> 24];
}

// One step over one byte.
function crc32cByteStep(c, byte) {
  return TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
}

const nativeCrc = native.addon && typeof native.addon.crc32c === 'function' ? native.addon.crc32c : null;

// The addon call costs a few tens of nanoseconds; below this many bytes the table walk is as fast.
const NATIVE_FROM = 64;

/** CRC32C of `bytes` continuing from `crc`: the addon's when it is loaded, else crc32cJs. */
function crc32c(bytes, crc = 0) {
  if (nativeCrc !== null && bytes.length >= NATIVE_FROM) return nativeCrc(bytes, crc);
  return crc32cJs(bytes, crc);
}

module.exports = { crc32c, crc32cJs, nativeCrc32c: nativeCrc, crc32cPairStep, crc32cQuadStep, crc32cWordStep, crc32cByteStep };
