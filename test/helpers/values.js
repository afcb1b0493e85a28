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

function checkValue(v) {
  if (typeof v !== 'string') return false;
  const bar = v.lastIndexOf('|');
  return bar > 0 && sum(v.slice(0, bar)) === v.slice(bar + 1);
}

module.exports = { valueFor, checkValue };
