'use strict';
// A message record's payload decoded by docs/format.md §15's table of tags, for the tests'
// independent readers of the message regions (they read offsets from the document, never from
// lib/layout). layout-ok-file: the tags are the document's numbers, not a layout.
//   0 bytes, 1 UTF-8 text, 2 JSON in UTF-8, 3 Latin-1 text (one byte per character), 4 JSON in
//   Latin-1, 5 a binary64 little-endian
const assert = require('assert');

/** The value of a record with tag `tag` and payload `bytes` (a Buffer). */
function decodeRecord(tag, bytes) {
  assert.ok(tag <= 5, `tag ${tag}`);
  if (tag === 0) return Buffer.from(bytes);
  if (tag === 5) {
    assert.strictEqual(bytes.length, 8);
    return new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true);
  }
  const text = bytes.toString(tag >= 3 ? 'latin1' : 'utf8');
  return tag === 2 || tag === 4 ? JSON.parse(text) : text;
}

module.exports = { decodeRecord };
