'use strict';
// The numbered messages of the messaging tests (test/70-msg/), a payload format of the tests
// only. layout-ok-file: offsets inside a test payload, not the binary layout.
//   numbered(p, i)  8 bytes: producer p, then sequence number i (two u32, little endian)
//   native messages (binding/msg/msg.cc): the sequence number in bytes 0..3, (i & 255) after
const PRODUCER_AT = 0;
const SEQ_AT = 4;

function numbered(p, i) {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32LE(p, PRODUCER_AT);
  b.writeUInt32LE(i, SEQ_AT);
  return b;
}

const producerOf = (m) => m.readUInt32LE(PRODUCER_AT);
const seqOf = (m) => m.readUInt32LE(SEQ_AT);
const nativeSeq = (m) => m.readUInt32LE(0);
const nativeFill = (m) => m[m.length - 1];

function nativeMessage(i, size) {
  const b = Buffer.alloc(size, i & 255);
  b.writeUInt32LE(i, 0);
  return b;
}

module.exports = { numbered, producerOf, seqOf, nativeSeq, nativeFill, nativeMessage };
