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
// eight bytes are folded with eight lookups (slice-by-8).
const TABLE = new Int32Array(8 * BYTE_VALUES);
for (let b = 0; b < BYTE_VALUES; b++) {
  let c = b;
  for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  TABLE[b] = c;
}
for (let b = 0; b < BYTE_VALUES; b++) {
  let c = TABLE[b];
  for (let k = 1; k < 8; k++) {
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
    c = T[1792 + (lo & 0xff)] ^ T[1536 + ((lo >>> 8) & 0xff)]
      ^ T[1280 + ((lo >>> 16) & 0xff)] ^ T[1024 + (lo >>> 24)]
      ^ T[768 + bytes[i + 4]] ^ T[512 + bytes[i + 5]]
      ^ T[256 + bytes[i + 6]] ^ T[bytes[i + 7]];
  }
  for (; i < n; i++) c = T[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const nativeCrc = native.addon && typeof native.addon.crc32c === 'function' ? native.addon.crc32c : null;

// The addon call costs a few tens of nanoseconds; below this many bytes the table walk is as fast.
const NATIVE_FROM = 64;

/** CRC32C of `bytes` continuing from `crc`: the addon's when it is loaded, else crc32cJs. */
function crc32c(bytes, crc = 0) {
  if (nativeCrc !== null && bytes.length >= NATIVE_FROM) return nativeCrc(bytes, crc);
  return crc32cJs(bytes, crc);
}

module.exports = { crc32c, crc32cJs, nativeCrc32c: nativeCrc };
