'use strict';
// Bytes handed to an application by an adapter own their ArrayBuffer whole: `view.buffer` holds
// exactly the view's bytes, from offset 0. A Buffer cut from a larger one (a part of a record, a
// value from Node's shared allocation pool) would otherwise reach code that reads `view.buffer`
// (new Float32Array(value.buffer), a structured clone of the ArrayBuffer, a transfer to a worker)
// as the bytes around it, or as bytes of unrelated values.

// `value` when it is no ArrayBuffer view or one that owns its buffer whole; else a view of the
// same class over a copy of its bytes.
function ownBytes(value) {
  if (!ArrayBuffer.isView(value)) return value;
  if (value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) return value;
  // ArrayBuffer#slice gives an ArrayBuffer of exactly these bytes; Buffer.from(arrayBuffer) is a
  // view of it, where Buffer.from(buffer) would copy into the shared pool again.
  const copy = value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
  if (Buffer.isBuffer(value)) return Buffer.from(copy);
  return new value.constructor(copy);
}

module.exports = { ownBytes };
