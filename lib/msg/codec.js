'use strict';
// Message payloads (docs/format.md §15, record tags): a string travels as UTF-8 (tag UTF8), a
// Buffer, typed array, DataView or ArrayBuffer as its bytes (tag BINARY, read back as a Buffer),
// and any other JSON value as its JSON text (tag JSON). Values come back as what was sent:
// strings as strings, bytes as a Buffer (a copy), JSON values parsed.
const { types } = require('util');
const { C } = require('../layout/layout');
const { msgError } = require('./errors');
const v = require('../base/validate');

const TAG_BINARY = C.MSG_TAG_BINARY;
const TAG_UTF8 = C.MSG_TAG_UTF8;
const TAG_JSON = C.MSG_TAG_JSON;
const MAX_UTF8_PER_UNIT = 3; // a UTF-16 unit becomes at most 3 UTF-8 bytes

/** The bytes of an ArrayBuffer, typed array or DataView as a Uint8Array (no copy), else null. */
function bytesOf(value) {
  if (types.isUint8Array(value)) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (types.isAnyArrayBuffer(value)) return new Uint8Array(value);
  return null;
}

/**
 * Prepares a value for sending. Returns the tag, and either a string (tag UTF8 or JSON) or a
 * Uint8Array (tag BINARY) in `payload`. The result object is reused: read it before the next call.
 */
const prepared = { tag: TAG_UTF8, payload: '' };
function prepare(value, name) {
  if (typeof value === 'string') {
    prepared.tag = TAG_UTF8;
    prepared.payload = value;
    return prepared;
  }
  const bytes = bytesOf(value);
  if (bytes !== null) {
    prepared.tag = TAG_BINARY;
    prepared.payload = bytes;
    return prepared;
  }
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw v.typeError(`The "${name}" argument could not be sent as JSON: ${e.message}`);
  }
  if (text === undefined) {
    throw v.invalidType(name, 'a string, a Buffer, a typed array, an ArrayBuffer or a JSON value', value);
  }
  prepared.tag = TAG_JSON;
  prepared.payload = text;
  return prepared;
}

/** The encoded length of a prepared payload, or an upper bound no larger than `room` when cheaper. */
function encodedLength(payload, room) {
  if (typeof payload !== 'string') return payload.byteLength;
  if (payload.length * MAX_UTF8_PER_UNIT <= room) return -1; // fits whatever it encodes to
  return Buffer.byteLength(payload, 'utf8');
}

/** Writes a prepared payload at byte `at` of `buf` (a Buffer over the region); returns its length. */
function writePayload(buf, at, payload) {
  if (typeof payload === 'string') return buf.utf8Write(payload, at);
  buf.set(payload, at);
  return payload.byteLength;
}

function corrupt(what) {
  return msgError('ERR_CORRUPT', `Message region: ${what}`);
}

/** Decodes `len` bytes at `at` of `buf` with `tag`. */
function decode(buf, at, len, tag) {
  if (tag === TAG_UTF8) return buf.utf8Slice(at, at + len);
  if (tag === TAG_JSON) return JSON.parse(buf.utf8Slice(at, at + len));
  if (tag === TAG_BINARY) return Buffer.copyBytesFrom(buf, at, len);
  throw corrupt(`a record with the unknown tag ${tag}`);
}

function tooLarge(length, max) {
  return msgError('ERR_MESSAGE_TOO_LARGE', `A message of ${length} bytes is larger than the ${max} bytes this queue can hold`);
}

module.exports = { prepare, encodedLength, writePayload, decode, bytesOf, tooLarge, corrupt };
