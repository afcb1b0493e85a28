'use strict';
// Payloads of the buffer pool tests: payload i has a length in 1..view.length that varies with
// i and bytes that depend on i and their place, so a block read before it was filled, or filled
// for another payload, fails the checksum.

/** Fills `view` with payload i; returns its length. */
function fill(view, i) {
  const length = 1 + ((i * 2654435761) >>> 0) % view.length;
  for (let k = 0; k < length; k++) view[k] = (i * 31 + k * 7 + (k >>> 8)) & 0xff;
  return length;
}

/** FNV-1a (32-bit) of the first `length` bytes of `view`. */
function checksum(view, length) {
  let h = 0x811c9dc5;
  for (let k = 0; k < length; k++) h = Math.imul(h ^ view[k], 0x01000193) >>> 0;
  return h;
}

module.exports = { fill, checksum };
