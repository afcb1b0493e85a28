'use strict';
// Where a registry lives (docs/api.md, Registry.create / Registry.open): the options of both,
// validated, and the bytes they name: a new or existing segment, or a SharedArrayBuffer. Returns
// { buffer, segment, timeoutMs, geometry } for the Registry constructor.
const crypto = require('crypto');
const { types } = require('util');
const { C } = require('../layout/layout');
const { ShmError } = require('../base/errors');
const v = require('../base/validate');
const { sleepMs } = require('../base/process');
const { Segment, openWhenSized } = require('../segment/segment');
const { dataOffset, formatHeader, readHeader } = require('./table');

const CREATE_KEYS = ['name', 'path', 'buffer', 'size', 'maxEntries', 'mode', 'timeoutMs'];
const OPEN_KEYS = ['name', 'path', 'buffer', 'timeoutMs'];
const DEFAULT_TIMEOUT_MS = 30000;
const MAX_BYTES = C.MAX_SEGMENT_UNITS * C.UNIT;

function targetOf(options) {
  const given = ['name', 'path', 'buffer'].filter((k) => options[k] !== undefined);
  if (given.length !== 1) {
    throw v.typeError('Exactly one of "options.name", "options.path" or "options.buffer" is required');
  }
  if (options.buffer !== undefined && !types.isSharedArrayBuffer(options.buffer)) {
    throw v.invalidType('options.buffer', 'a SharedArrayBuffer', options.buffer);
  }
  return options.name !== undefined ? { name: options.name } : options.path !== undefined ? { path: options.path } : null;
}

function timeoutOf(options) {
  if (options.timeoutMs === undefined) return DEFAULT_TIMEOUT_MS;
  v.validateNumber(options.timeoutMs, 'options.timeoutMs', { min: 0, allowInfinity: true });
  return options.timeoutMs;
}

// Maps the segment of Registry.open(), waiting a bounded time for a creator that has made the
// segment but not yet sized it or written the header.
function openSegment(target) {
  const deadline = performance.now() + C.REGISTRY_OPEN_WAIT_MS;
  const segment = openWhenSized(target, deadline);
  try {
    for (;;) {
      const geometry = readHeader(segment.buffer);
      if (geometry !== null) return { segment, geometry };
      if (performance.now() > deadline) throw new ShmError('ERR_BAD_MAGIC', 'Not a registry (its header was never written)');
      sleepMs(1);
    }
  } catch (e) {
    segment.close();
    throw e;
  }
}

/** Validates Registry.create()'s options and writes a new registry (a new segment, or the buffer). */
function placeNew(options) {
  v.validateObject(options, 'options');
  v.validateKeys(options, 'options', CREATE_KEYS);
  const target = targetOf(options);
  const timeoutMs = timeoutOf(options);
  let maxEntries = C.REGISTRY_DEFAULT_ENTRIES;
  if (options.maxEntries !== undefined) {
    v.validateInteger(options.maxEntries, 'options.maxEntries', 1, C.REGISTRY_MAX_ENTRIES);
    maxEntries = options.maxEntries;
  }
  const min = dataOffset(maxEntries) + C.UNIT;
  let size;
  if (target === null) {
    if (options.size !== undefined || options.mode !== undefined) {
      throw v.typeError('"options.size" and "options.mode" apply only to a segment (name or path)');
    }
    size = options.buffer.byteLength;
    if (size < min) {
      throw v.rangeError(`The "options.buffer" argument must hold at least ${min} bytes for ${maxEntries} entries. Received ${size}`);
    }
  } else {
    if (options.size === undefined) throw v.typeError('The "options.size" argument is required');
    v.validateInteger(options.size, 'options.size', min, MAX_BYTES);
    size = options.size;
  }
  const endUnit = Math.min(Math.floor(size / C.UNIT), C.MAX_SEGMENT_UNITS);
  const nonce = crypto.randomInt(1, 2 ** 32 - 1) >>> 0;
  const segment = target === null ? null : Segment.create({ ...target, size, mode: options.mode, exclusive: true });
  try {
    const buffer = segment ? segment.buffer : options.buffer;
    formatHeader(buffer, maxEntries, endUnit, nonce);
    return { buffer, segment, timeoutMs, geometry: readHeader(buffer) };
  } catch (e) {
    if (segment) {
      segment.unlink();
      segment.close();
    }
    throw e;
  }
}

/** Validates Registry.open()'s options and maps the registry they name. */
function placeExisting(options) {
  v.validateObject(options, 'options');
  v.validateKeys(options, 'options', OPEN_KEYS);
  const target = targetOf(options);
  const timeoutMs = timeoutOf(options);
  if (target === null) {
    const geometry = readHeader(options.buffer);
    if (geometry === null) throw new ShmError('ERR_BAD_MAGIC', 'Not a registry (zero header: create it with Registry.create)');
    return { buffer: options.buffer, segment: null, timeoutMs, geometry };
  }
  const { segment, geometry } = openSegment(target);
  return { buffer: segment.buffer, segment, timeoutMs, geometry };
}

module.exports = { placeNew, placeExisting };
