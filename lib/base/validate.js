'use strict';
// Small argument validators shared by every public function. They throw before anything
// reaches the native addon: TypeError for a wrong type (or a missing required value),
// RangeError for a value of the right type that is not allowed. Both carry
// code 'ERR_INVALID_ARG' so that callers can branch on err.code as with ShmError.
const { types } = require('util');

const INVALID = 'ERR_INVALID_ARG';

function describe(value) {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    if (value.constructor && value.constructor.name) return `an instance of ${value.constructor.name}`;
    return 'an object';
  }
  if (typeof value === 'string') {
    const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
    return `type string (${JSON.stringify(shown)})`;
  }
  if (typeof value === 'bigint') return `type bigint (${value}n)`;
  if (typeof value === 'symbol') return `type symbol (${String(value)})`;
  return `type ${typeof value} (${String(value)})`;
}

/** `options`: { cause } of the error (the error behind it), as the Error constructor takes it. */
function typeError(message, code = INVALID, options = undefined) {
  const e = new TypeError(message, options);
  e.code = code;
  return e;
}

function rangeError(message, code = INVALID, options = undefined) {
  const e = new RangeError(message, options);
  e.code = code;
  return e;
}

function invalidType(name, expected, value) {
  return typeError(`The "${name}" argument must be ${expected}. Received ${describe(value)}`);
}

/**
 * A plain options object (not null, not an array). Nor an AbortSignal: it has no enumerable keys,
 * so where `{ signal }` is meant (`lockAsync(50, signal)`) it would pass as empty options and its
 * abort would never be seen.
 */
function validateObject(value, name) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidType(name, 'an object', value);
  }
  if (value instanceof AbortSignal) {
    throw typeError(`The "${name}" argument must be an options object, not an AbortSignal: pass the signal as { signal }`);
  }
}

/** Throws TypeError when `obj` has an own enumerable key not in `allowed` (catches typos). */
function validateKeys(obj, name, allowed) {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      const what = allowed.length ? `Allowed: ${allowed.join(', ')}` : 'This call takes no options';
      throw typeError(`Unknown option "${name}.${key}". ${what}`);
    }
  }
}

/**
 * validateKeys for options in which an option given as undefined is one not given, whatever its
 * name: an options object spread from a configuration whose unset members are undefined. Only
 * the keys that hold a value must be known.
 */
function validateGivenKeys(obj, name, allowed) {
  for (const key of Object.keys(obj)) {
    if (obj[key] !== undefined) validateKeys({ [key]: obj[key] }, name, allowed);
  }
}

function validateBoolean(value, name) {
  if (typeof value !== 'boolean') throw invalidType(name, 'of type boolean', value);
}

/**
 * A string of minLength..maxLength UTF-16 units, optionally matching `pattern`
 * (described by `patternText` in the message). Never allows NUL characters.
 */
function validateString(value, name, { minLength = 0, maxLength = Infinity, pattern, patternText } = {}) {
  if (typeof value !== 'string') throw invalidType(name, 'of type string', value);
  if (value.length < minLength || value.length > maxLength) {
    const range = maxLength === Infinity ? `at least ${minLength}` : `${minLength} to ${maxLength}`;
    throw rangeError(`The "${name}" argument must be ${range} characters long. Received length ${value.length}`);
  }
  if (value.includes('\0')) throw rangeError(`The "${name}" argument must not contain NUL characters`);
  if (pattern && !pattern.test(value)) {
    throw rangeError(`The "${name}" argument must ${patternText || `match ${pattern}`}. Received ${describe(value)}`);
  }
}

/**
 * A number that is an integer in [min, max] (inclusive). TypeError when not a number,
 * RangeError otherwise. `tooLargeCode` replaces the code for values above max.
 */
function validateInteger(value, name, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER, tooLargeCode) {
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value);
  if (!Number.isInteger(value)) {
    throw rangeError(`The "${name}" argument must be an integer. Received ${describe(value)}`);
  }
  if (value < min || value > max) {
    const err = rangeError(`The "${name}" argument must be >= ${min} and <= ${max}. Received ${value}`);
    if (value > max && tooLargeCode) err.code = tooLargeCode;
    throw err;
  }
}

/**
 * A number >= min (fractions allowed); +Infinity only when allowInfinity. NaN is refused.
 */
function validateNumber(value, name, { min = -Infinity, allowInfinity = false } = {}) {
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value);
  if (Number.isNaN(value) || value < min || (value === Infinity && !allowInfinity)) {
    throw rangeError(`The "${name}" argument must be a number >= ${min}${allowInfinity ? ' or Infinity' : ''}. Received ${value}`);
  }
}

/** An Int32Array whose buffer is a SharedArrayBuffer (required for futexes and Atomics.wait). */
function validateSharedInt32Array(value, name) {
  if (!types.isInt32Array(value)) throw invalidType(name, 'an Int32Array', value);
  if (!types.isSharedArrayBuffer(value.buffer)) {
    throw typeError(`The "${name}" argument must be an Int32Array over a SharedArrayBuffer (it is over an ArrayBuffer)`);
  }
}

/** An index into an array-like of `length` elements. */
function validateIndex(value, name, length) {
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < 0 || value >= length) {
    throw rangeError(`The "${name}" argument must be an integer in [0, ${length - 1}]. Received ${describe(value)}`);
  }
}

/**
 * A Uint8Array over the bytes of `source`, an ArrayBuffer (all of it) or a typed array or
 * DataView (its range): a TypeError (ERR_INVALID_ARG) naming `name` when the buffer was detached
 * (transferred to another thread), where reading the view or constructing over it throws a
 * TypeError without a code.
 */
function bytesOver(source, name) {
  try {
    return ArrayBuffer.isView(source) ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength) : new Uint8Array(source);
  } catch (err) {
    if (err instanceof TypeError) throw typeError(`The "${name}" argument's ArrayBuffer is detached (transferred); it holds no bytes`);
    throw err;
  }
}

/**
 * JSON.stringify(value) with the engine's refusals as the package's: a cycle or a bigint a
 * TypeError, nesting deeper than the stack (JSON.stringify recurses) or text longer than a string
 * can be a RangeError, both with ERR_INVALID_ARG and `what` before the engine's message. Anything
 * else a toJSON throws goes on as it is.
 */
function jsonText(value, what) {
  try {
    return JSON.stringify(value);
  } catch (err) {
    if (err instanceof TypeError) throw typeError(`${what}: ${err.message}`);
    if (err instanceof RangeError) throw rangeError(`${what}: ${err.message}`);
    throw err;
  }
}

module.exports = {
  bytesOver,
  jsonText,
  describe,
  invalidType,
  typeError,
  rangeError,
  validateObject,
  validateKeys,
  validateGivenKeys,
  validateBoolean,
  validateString,
  validateInteger,
  validateNumber,
  validateSharedInt32Array,
  validateIndex,
};
