'use strict';
// Where a registry lives (docs/api.md, Registry.create / Registry.open): the options of both,
// validated, and the bytes they name: a new or existing segment, or a SharedArrayBuffer. Returns
// { buffer, segment, timeoutMs, geometry, lock } for the Registry constructor (`lock`: a handle
// on the table lock, released, when placing took it; else null).
const crypto = require('crypto');
const { types } = require('util');
const { C, W } = require('../layout/layout');
const { ShmError } = require('../base/errors');
const v = require('../base/validate');
const { Segment, openWhenSized, waitForStamp, remapIfGrown } = require('../segment/segment');
const { Mutex } = require('../sync/mutex');
const { dataOffset, formatHeader, readHeader, unfinishedGeometry } = require('./table');

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

function newNonce() {
  return crypto.randomInt(1, 2 ** 32 - 1) >>> 0;
}

// A handle on the table lock of the registry bytes in `buffer`, acquired within `timeoutMs`.
function lockTable(buffer, timeoutMs) {
  const lock = Mutex.open({ buffer, byteOffset: C.REGISTRY_LOCK_OFFSET });
  try {
    lock.lock(timeoutMs);
    return lock;
  } catch (e) {
    lock.close();
    if (e.code !== 'ERR_LOCK_TIMEOUT') throw e;
    throw new ShmError('ERR_LOCK_TIMEOUT', `The registry's table lock was not acquired within ${timeoutMs} ms`, { cause: e });
  }
}

// Maps the segment of Registry.open(), waiting a bounded time for a creator that has made the
// segment but not yet sized it or written the header. A segment still without its magic after
// that wait is finished here, holding the table lock (format.md §14, "Opening"): its creator
// writes the header holding that lock, so the lock is free (or taken over from a creator that
// is gone) only when no creator is writing it any more. Returns { segment, geometry, lock }:
// `lock` the opener's handle on the table lock, or null.
function openSegment(target, timeoutMs) {
  const deadline = performance.now() + C.REGISTRY_OPEN_WAIT_MS;
  // As many bytes as readHeader needs to look at the magic: a creator that grows its segment in
  // steps may be seen with part of its size.
  let segment = openWhenSized(target, deadline, C.REGISTRY_ENTRIES_OFFSET);
  let lock = null;
  try {
    // readHeader refuses a segment still too small for the header (ERR_BAD_SIZE) before it looks
    // at the magic: only one that holds it is waited on.
    if (segment.size >= C.REGISTRY_ENTRIES_OFFSET) {
      waitForStamp(new Uint32Array(segment.buffer, C.REGISTRY_HEADER_OFFSET, W.REGISTRY_HEADER.WORDS), W.REGISTRY_HEADER.MAGIC, deadline);
    }
    // The creator sized the segment before it wrote the magic, and one killed before its magic
    // will not size it any more: the mapping, maybe of part of a size that grew in steps, is
    // taken again at the full size before the geometry is checked against it (or an unfinished
    // registry finished to fit it).
    segment = remapIfGrown(segment, target);
    const stamped = readHeader(segment.buffer);
    if (stamped !== null) return { segment, geometry: stamped, lock: null };
    const unfinished = () => new ShmError('ERR_BAD_MAGIC', 'Not a registry (its header was never written, and its bytes are not those of an unfinished registry)');
    if (unfinishedGeometry(segment.buffer, 0) === null) throw unfinished();
    lock = lockTable(segment.buffer, timeoutMs);
    try {
      let geometry = readHeader(segment.buffer);
      if (geometry === null) {
        const g = unfinishedGeometry(segment.buffer, newNonce());
        if (g === null) throw unfinished();
        formatHeader(segment.buffer, g.maxEntries, g.endUnit, g.nonce, true);
        geometry = readHeader(segment.buffer);
      }
      return { segment, geometry, lock };
    } finally {
      lock.unlock();
    }
  } catch (e) {
    if (lock !== null) lock.close();
    segment.close();
    throw e;
  }
}

// Writes the header of the new segment registry in `segment` holding its table lock (format.md
// §14, "Creating"). Returns the lock's handle. An opener that found the segment without its
// magic past REGISTRY_OPEN_WAIT_MS may have finished it first (this creator was stopped that
// long before it took the lock): then the registry is that opener's, and the create fails
// without unlinking it (`e.keep`).
function formatSegment(segment, maxEntries, endUnit, timeoutMs) {
  const lock = lockTable(segment.buffer, timeoutMs);
  try {
    if (Atomics.load(new Uint32Array(segment.buffer, C.REGISTRY_HEADER_OFFSET, 1), 0) !== 0) {
      const e = new ShmError('ERR_SHM_EXISTS', 'The registry segment was finished by an opener while its creator was stopped');
      e.keep = true;
      throw e;
    }
    formatHeader(segment.buffer, maxEntries, endUnit, newNonce(), true);
  } catch (e) {
    lock.unlock();
    lock.close();
    throw e;
  }
  lock.unlock();
  return lock;
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
  if (target === null) {
    // The caller's buffer, which no opener waits on (one with magic 0 is refused at once).
    formatHeader(options.buffer, maxEntries, endUnit, newNonce());
    return { buffer: options.buffer, segment: null, timeoutMs, geometry: readHeader(options.buffer), lock: null };
  }
  const segment = Segment.create({ ...target, size, mode: options.mode, exclusive: true });
  try {
    const lock = formatSegment(segment, maxEntries, endUnit, timeoutMs);
    return { buffer: segment.buffer, segment, timeoutMs, geometry: readHeader(segment.buffer), lock };
  } catch (e) {
    if (!e.keep) segment.unlink();
    segment.close();
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
    return { buffer: options.buffer, segment: null, timeoutMs, geometry, lock: null };
  }
  const { segment, geometry, lock } = openSegment(target, timeoutMs);
  return { buffer: segment.buffer, segment, timeoutMs, geometry, lock };
}

module.exports = { placeNew, placeExisting };
