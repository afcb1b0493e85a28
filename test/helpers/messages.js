'use strict';
// The numbered messages of the messaging tests (test/70-msg/), a payload format of the tests
// only. layout-ok-file: offsets inside a test payload, not the binary layout.
//   numbered(p, i)  8 bytes: producer p, then sequence number i (two u32, little endian)
//   numberedText(p, i) the same numbers in a string (below)
//   textOf(i)       a string numbered i: ASCII of 0-63 letters after the number, and every 7th
//                   with a character that is not (so batches mix one-byte and UTF-8 records)
//   native messages (binding/msg/msg.cc) and the broadcast tests' stamped messages: the sequence
//   number in bytes 0..3, (i & 255) after
const PRODUCER_AT = 0;
const SEQ_AT = 4;

function numbered(p, i) {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32LE(p, PRODUCER_AT);
  b.writeUInt32LE(i, SEQ_AT);
  return b;
}

const textOf = (i) => `${i}:${'abcdefgh'.repeat(8).slice(0, (i * 13) % 64)}${i % 7 === 3 ? '\u00e9\u20ac' : ''}`;
const seqOfText = (m) => Number(m.slice(0, m.indexOf(':')));

// numberedText(p, i): the same numbers as a string "p.i." and 0-39 ASCII letters after them, every
// 7th with a character that is not ASCII (batches of them mix runs of one-byte records and UTF-8
// ones); producerOf() and seqOf() read both forms.
const numberedText = (p, i) => `${p}.${i}.${'abcdefgh'.repeat(5).slice(0, (i * 11) % 40)}${i % 7 === 3 ? '\u00e9' : ''}`;
const textField = (m, k) => Number(m.split('.', 2)[k]);

// paddedText(p, i, bytes): the numbers of numberedText() followed by ASCII letters up to `bytes`
// bytes in all: a large message, whose copy into and out of a slot is most of an enqueue or a
// dequeue (the kill tests aim at that copy); producerOf() and seqOf() read it.
let padding = '';
function paddedText(p, i, bytes) {
  const head = `${p}.${i}.`;
  if (padding.length < bytes) padding = 'x'.repeat(bytes);
  return head + padding.slice(0, bytes - head.length);
}

const producerOf = (m) => (typeof m === 'string' ? textField(m, 0) : m.readUInt32LE(PRODUCER_AT));
const seqOf = (m) => (typeof m === 'string' ? textField(m, 1) : m.readUInt32LE(SEQ_AT));
const nativeSeq = (m) => m.readUInt32LE(0);
const nativeFill = (m) => m[m.length - 1];

function nativeMessage(i, size) {
  const b = Buffer.alloc(size, i & 255);
  b.writeUInt32LE(i, 0);
  return b;
}

/**
 * The number of a nativeMessage() (a Buffer of at least 5 bytes) whose every byte after the
 * number agrees with it, else -1: a message mixed from two writes (torn) gives -1.
 */
function checkStamped(m) {
  if (!Buffer.isBuffer(m) || m.length < 5) return -1;
  const i = nativeSeq(m);
  for (let k = 4; k < m.length; k++) if (m[k] !== (i & 255)) return -1;
  return i;
}

module.exports = { numbered, numberedText, paddedText, textOf, seqOfText, producerOf, seqOf, nativeSeq, nativeFill, nativeMessage, checkStamped, stamped: nativeMessage };
