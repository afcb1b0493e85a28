'use strict';
// Value encodings (docs/format.md §8): strings as UTF-8, bytes as bytes, everything else that
// JSON can represent as JSON text. The entry's flags record which, so `get` returns what `set`
// was given.
const { types } = require('util');
const { typeError, rangeError, invalidType, bytesOver, jsonText } = require('../base/validate');
const { C } = require('../layout/layout');

// A value already encoded by encodeValue ([payload, encoding] as `pair`), which encodeValue
// hands back as it is: a caller that checks a value by encoding it before it writes it (the Keyv
// adapter's setMany, lib/adapters/keyv) writes what it checked, and a value's toJSON runs once.
// Internal: the store's API takes values, never an EncodedValue from outside the package.
class EncodedValue {
  constructor(pair) {
    this.pair = pair;
  }
}

// Returns [payload, encoding]; the payload is a string or a Uint8Array. Throws TypeError or
// RangeError for values the store cannot represent.
function encodeValue(value) {
  if (typeof value === 'string') return [value, C.ENC_UTF8];
  // A view over a transferred (detached) buffer reads as empty: refused by bytesOver, like the
  // other views, instead of being stored as an empty value. Only an empty view can be one.
  if (value instanceof Uint8Array) return [value.byteLength === 0 ? bytesOver(value, 'value') : value, C.ENC_BINARY];
  if (ArrayBuffer.isView(value)) {
    return [bytesOver(value, 'value'), C.ENC_BINARY];
  }
  // Not instanceof: an ArrayBuffer from another realm (vm, some test runners) is bytes too, not '{}'.
  if (types.isAnyArrayBuffer(value)) {
    return [bytesOver(value, 'value'), C.ENC_BINARY];
  }
  if (value instanceof EncodedValue) return value.pair;
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw rangeError(`The "value" argument must be a finite number. Received ${value}`);
      break;
    case 'undefined':
    case 'function':
    case 'symbol':
    case 'bigint':
      throw invalidType('value', 'a string, bytes or a JSON value', value);
    default:
      break;
  }
  // A cycle, a nested bigint or nesting too deep: with the code of every other refused value.
  const text = jsonText(value, 'The "value" argument cannot be represented as JSON');
  if (typeof text !== 'string') throw typeError('The "value" argument cannot be represented as JSON');
  return [text, C.ENC_JSON];
}

function decodeValue(raw, encoding) {
  return encoding === C.ENC_JSON ? JSON.parse(raw) : raw;
}

module.exports = { encodeValue, decodeValue, EncodedValue };
