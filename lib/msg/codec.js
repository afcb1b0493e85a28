'use strict';
// Message payloads (docs/format.md §15, record tags): a string travels as UTF-8 (tag UTF8), a
// Buffer, typed array, DataView or ArrayBuffer as its bytes (tag BINARY, read back as a Buffer),
// and any other JSON value as its JSON text (tag JSON). Values come back as what was sent:
// strings as strings, bytes as a Buffer (a copy), JSON values parsed. Text of one byte per
// character is tagged LATIN1 (JSON_LATIN1) by writeRecord(): the same bytes when they are ASCII,
// read back as a one-byte string without a UTF-8 decode. A number travels as its 8 bytes (tag
// NUMBER) where the structure's messages may be that long, else as JSON text. Every reader
// accepts every tag.
// The module's own binding of Buffer: the global is an accessor of globalThis, which optimized
// code reads through a call each time.
const { Buffer } = require('buffer');
const { types } = require('util');
const { C } = require('../layout/layout');
const { msgError } = require('./errors');
const v = require('../base/validate');
const short = require('./short-text');

const TAG_BINARY = C.MSG_TAG_BINARY;
const TAG_UTF8 = C.MSG_TAG_UTF8;
const TAG_JSON = C.MSG_TAG_JSON;
const TAG_LATIN1 = C.MSG_TAG_LATIN1;
const TAG_JSON_LATIN1 = C.MSG_TAG_JSON_LATIN1;
const TAG_NUMBER = C.MSG_TAG_NUMBER;
const TAG_SHIFT = C.MSG_TAG_SHIFT;
const NUMBER_BYTES = 8;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const MAX_UTF8_PER_UNIT = 3; // a UTF-16 unit becomes at most 3 UTF-8 bytes

/**
 * The bytes of an ArrayBuffer, typed array or DataView as a Uint8Array (no copy), else null. A
 * detached ArrayBuffer is a TypeError naming `name` (ERR_INVALID_ARG). Over a resizable (growable)
 * buffer the view has the length the bytes have now, whatever the buffer does later: the length a
 * structure checks against its room is the length it writes.
 */
function bytesOf(value, name = 'value') {
  let bytes;
  if (types.isUint8Array(value)) bytes = value;
  else if (ArrayBuffer.isView(value) || types.isAnyArrayBuffer(value)) bytes = v.bytesOver(value, name);
  else return null;
  const buffer = bytes.buffer;
  if (buffer.resizable !== true && buffer.growable !== true) return bytes;
  return new Uint8Array(buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Prepares a value for sending. Returns the tag, and either a string (tag UTF8 or JSON), a
 * Uint8Array (tag BINARY) or a number (tag NUMBER, when `room`, the most bytes a message may
 * take, is at least 8: a smaller structure sends numbers as JSON text, as before the tag) in
 * `payload`. The result object is reused: read it before the next call.
 */
const prepared = { tag: TAG_UTF8, payload: '' };
function prepare(value, name, room = 0) {
  if (typeof value === 'string') {
    prepared.tag = TAG_UTF8;
    prepared.payload = value;
    return prepared;
  }
  if (typeof value === 'number' && room >= NUMBER_BYTES) {
    prepared.tag = TAG_NUMBER;
    prepared.payload = value;
    return prepared;
  }
  const bytes = bytesOf(value);
  if (bytes !== null) {
    prepared.tag = TAG_BINARY;
    prepared.payload = bytes;
    return prepared;
  }
  // The text first: a toJSON may prepare a message of its own (a send from it) in `prepared`.
  const text = jsonText(value, name);
  prepared.tag = TAG_JSON;
  prepared.payload = text;
  return prepared;
}

/**
 * The JSON text of `value` (argument `name`), or the error of a value that cannot be sent: nesting
 * deeper than the stack or text longer than a string can be, a RangeError, as the store's codec
 * gives; a cycle, a bigint or a throwing toJSON, a TypeError; both with a code (ERR_INVALID_ARG)
 * and with the error JSON.stringify threw as their `cause` (what a toJSON threw, with its own
 * code: ERR_IN_USE, ERR_CLOSED). No JSON text (undefined, a function, a symbol): a TypeError.
 */
function jsonText(value, name) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    const message = `The "${name}" argument could not be sent as JSON: ${e?.message}`;
    if (e instanceof RangeError) throw v.rangeError(message, undefined, { cause: e });
    throw v.typeError(message, undefined, { cause: e });
  }
  if (text === undefined) {
    throw v.invalidType(name, 'a string, a Buffer, a typed array, an ArrayBuffer or a JSON value', value);
  }
  return text;
}

/** The encoded length of a prepared payload, or an upper bound no larger than `room` when cheaper. */
function encodedLength(payload, room) {
  if (typeof payload === 'number') return NUMBER_BYTES;
  if (typeof payload !== 'string') return payload.byteLength;
  if (payload.length * MAX_UTF8_PER_UNIT <= room) return -1; // fits whatever it encodes to
  return Buffer.byteLength(payload, 'utf8');
}

/**
 * Writes a prepared payload at byte `at` of `buf` and returns its record header (tag and length,
 * format.md §15). Text whose UTF-8 form has as many bytes as the string has UTF-16 units is ASCII
 * (every other unit takes at least two bytes, a surrogate pair four for its two units): its
 * record is tagged LATIN1 (JSON_LATIN1), whose bytes are the same, so that a reader decodes it
 * as one-byte text. Learning it costs one comparison after the write. Text of up to
 * SCRATCH_UNITS units is written by short-text.js when `u32` (a view with the same start as
 * `buf`) is given and `at` is a word's: the same bytes, with a cheaper native call.
 */
function writeRecord(buf, at, tag, payload, u32 = undefined) {
  if (typeof payload === 'string') {
    const n = u32 !== undefined && payload.length <= short.SCRATCH_UNITS && short.WRITES && (at & 3) === 0
      ? short.writeText(u32, at / WORD, payload)
      : buf.utf8Write(payload, at);
    return textHeader(tag, payload, n);
  }
  if (typeof payload === 'number') {
    buf.writeDoubleLE(payload, at);
    return ((TAG_NUMBER << TAG_SHIFT) | NUMBER_BYTES) >>> 0;
  }
  try {
    buf.set(payload, at);
  } catch (err) {
    // The only bytes set() cannot read: a buffer detached (transferred), or shrunk past the view,
    // since the message was checked. Nothing of it was written.
    if (err instanceof TypeError) throw detachedSince();
    throw err;
  }
  return ((tag << TAG_SHIFT) | payload.byteLength) >>> 0;
}

/**
 * The record header of text `payload` (tag UTF8 or JSON) whose UTF-8 form, as written, has `n`
 * bytes: tagged LATIN1 (JSON_LATIN1) when that is as many bytes as the string has units (ASCII,
 * writeRecord() says why).
 */
function textHeader(tag, payload, n) {
  if (n === payload.length) tag = tag === TAG_UTF8 ? TAG_LATIN1 : TAG_JSON_LATIN1;
  return ((tag << TAG_SHIFT) | n) >>> 0;
}

/** The TypeError (ERR_INVALID_ARG) of a message's bytes that can no longer be read when written. */
function detachedSince() {
  return v.typeError('The bytes of a message were detached (transferred) or their buffer shrunk after it was given; it was not sent');
}

/** Whether records of `tag` are one-byte text (decodeText() reads them out of a latin1 string). */
function isLatin1(tag) {
  return tag === TAG_LATIN1 || tag === TAG_JSON_LATIN1;
}

/**
 * Decodes a one-byte text record whose payload is characters `from` to `to` of `text` (a
 * latin1 decode of the bytes around it): one decode serves a run of records.
 */
function decodeText(text, from, to, tag) {
  return tag === TAG_LATIN1 ? text.substring(from, to) : parse(text.substring(from, to));
}

// A JSON record's text was made by JSON.stringify: text that does not parse is damage.
function parse(text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw corrupt(`a JSON record that does not parse (${e.message})`);
  }
}

function corrupt(what) {
  return msgError('ERR_CORRUPT', `Message region: ${what}`);
}

/** The one-byte text of `len` bytes at `at` of `buf`: short text without a native call. */
function latin1(buf, at, len) {
  return len <= short.SHORT_TEXT && short.READS ? short.readLatin1(buf, at, len) : buf.latin1Slice(at, at + len);
}

/**
 * A new Buffer holding a copy of the `len` bytes at `at` of Buffer `buf`: what
 * Buffer.copyBytesFrom() makes (small ones from Buffer's pool, as it does), at a fraction of its
 * cost here (it slices the shared view and copies twice: some 650 ns for 48 bytes of a region,
 * against some 100 ns for this one copy into an unfilled Buffer).
 */
function copyBytes(buf, at, len) {
  const out = Buffer.allocUnsafe(len);
  out.set(new Uint8Array(buf.buffer, buf.byteOffset + at, len));
  return out;
}

/** Decodes `len` bytes at `at` of `buf` with `tag`. */
function decode(buf, at, len, tag) {
  if (tag === TAG_LATIN1) return latin1(buf, at, len);
  if (tag === TAG_JSON_LATIN1) return parse(latin1(buf, at, len));
  if (tag === TAG_UTF8) return buf.utf8Slice(at, at + len);
  if (tag === TAG_JSON) return parse(buf.utf8Slice(at, at + len));
  if (tag === TAG_BINARY) return copyBytes(buf, at, len);
  if (tag === TAG_NUMBER) {
    if (len !== NUMBER_BYTES) throw corrupt(`a number record of ${len} bytes`);
    return buf.readDoubleLE(at);
  }
  throw corrupt(`a record with the unknown tag ${tag}`);
}

function tooLarge(length, max) {
  return msgError('ERR_MESSAGE_TOO_LARGE', `A message of ${length} bytes is larger than the ${max} bytes this queue can hold`);
}

module.exports = {
  prepare, jsonText, encodedLength, writeRecord, textHeader, isLatin1, decodeText, decode, latin1, copyBytes, bytesOf, tooLarge, corrupt, detachedSince,
};
