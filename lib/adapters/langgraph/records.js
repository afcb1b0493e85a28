'use strict';
// The bytes the LangGraph checkpointer keeps in its entries (docs/api.md, LangGraph: what is
// stored where). A record is one line of JSON followed by the serialized parts it describes:
//
//   { ...fields, "parts": [[type, byteLength], ...] } '\n' part bytes · part bytes · ...
//
// (JSON text never holds a raw newline, so the first one ends the header.) The parts are what
// the saver's serializer produced (`serde.dumpsTyped` → [type, bytes]), kept as bytes so that no
// value is re-encoded on the way in or out.
const { typeError } = require('../../base/validate');

const NEWLINE = '\n'.charCodeAt(0);

// Separator of the fields of a key: never inside a field (checked by fieldOf).
const SEP = '\u0000';

function encodeRecord(fields, parts) {
  const header = JSON.stringify({ ...fields, parts: parts.map(([t, b]) => [t, b.byteLength]) });
  return Buffer.concat([Buffer.from(header + '\n'), ...parts.map(([, b]) => b)]);
}

// → { fields, parts: [[type, Uint8Array], ...] }
function decodeRecord(buf) {
  const end = buf.indexOf(NEWLINE);
  const { parts, ...fields } = JSON.parse(buf.toString('utf8', 0, end));
  let at = end + 1;
  return {
    fields,
    parts: parts.map(([type, len]) => {
      const b = buf.subarray(at, at + len);
      at += len;
      return [type, b];
    }),
  };
}

// A field of a key: a string without SEP. Versions may be numbers.
function fieldOf(value, name, { allowEmpty = false } = {}) {
  if (typeof value === 'number' && Number.isFinite(value)) value = String(value);
  if (typeof value !== 'string') {
    throw typeError(`The configurable "${name}" must be a string. Received ${value === null ? 'null' : typeof value}`);
  }
  if (!allowEmpty && value === '') throw typeError(`The configurable "${name}" must not be empty`);
  if (value.includes(SEP)) throw typeError(`The configurable "${name}" must not contain NUL characters`);
  return value;
}

const keyOf = (...fields) => fields.join(SEP);
const splitKey = (key) => key.split(SEP);

module.exports = { SEP, encodeRecord, decodeRecord, fieldOf, keyOf, splitKey };
