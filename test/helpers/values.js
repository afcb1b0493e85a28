'use strict';
// Values that carry their own checksum, so a reader can tell a torn or mixed value from a good one.
const { xxh32 } = require('../../lib/base/xxhash');

function sum(text) {
  const b = Buffer.from(text);
  return xxh32(b, 0, b.length, 0x5eed).toString(16);
}

function valueFor(actor, seq) {
  const body = `${actor}:${seq}:${'p'.repeat(20 + (seq % 90))}`;
  return `${body}|${sum(body)}`;
}

// As valueFor, with lengths spread over 10..1500 bytes (entries of 3 to 98 units: many size
// classes, so that freed blocks strand in lists and compaction has entries of each to move).
function mixedValueFor(actor, seq) {
  const body = `${actor}:${seq}:${'m'.repeat(((seq * 7919) % 1490) + 1)}`;
  return `${body}|${sum(body)}`;
}

function checkValue(v) {
  if (typeof v !== 'string') return false;
  const bar = v.lastIndexOf('|');
  return bar > 0 && sum(v.slice(0, bar)) === v.slice(bar + 1);
}

// A binary value of `size` bytes (at least 16) that ends with the XXH32 of the rest: its actor
// and sequence number first, then bytes that depend on both, so that two values never mix into
// one that checks.
function largeValueFor(actor, seq, size) {
  const b = Buffer.alloc(size);
  const head = Buffer.from(`${actor}:${seq}:`);
  head.copy(b, 0, 0, Math.min(head.length, size - 4));
  for (let i = head.length, x = (seq * 2654435761) >>> 0 || 1; i < size - 4; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  b.writeUInt32LE(xxh32(b, 0, size - 4, 0x5eed), size - 4); // layout-ok: the test value's own trailer
  return b;
}

function checkLargeValue(v) {
  if (!Buffer.isBuffer(v) || v.length < 16) return false;
  const at = v.length - 4; // layout-ok: the test value's own trailer
  return xxh32(v, 0, at, 0x5eed) === v.readUInt32LE(at);
}

// The sequence number of a largeValueFor() value.
function largeSeqOf(v) {
  return Number(v.toString('latin1', 0, 40).split(':')[1]);
}

// A large value (one of largeValueFor's) of 70,000 to 82,000 bytes, depending on seq: stored in a
// large block, and in blocks of a few different sizes.
const bigValueFor = (actor, seq) => largeValueFor(actor, seq, 70000 + (seq % 5) * 3000);

module.exports = { valueFor, mixedValueFor, checkValue, largeValueFor, checkLargeValue, largeSeqOf, bigValueFor };
