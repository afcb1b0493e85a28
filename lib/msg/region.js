'use strict';
// Where a message region lives (docs/format.md §15): a new or existing segment (`name` or `path`)
// or a SharedArrayBuffer (`buffer`, `byteOffset`), and its 64-byte header: stamped by the
// creator with the magic stored last, checked by every opener.
const { types } = require('util');
const { C, W } = require('../layout/layout');
const { msgError } = require('./errors');
const v = require('../base/validate');
const { Segment, OPEN_WAIT_MS, openWhenSized, waitForStamp, remapIfGrown } = require('../segment/segment');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const HDR = C.MSG_HEADER_OFFSET / WORD;
const MAGIC = HDR + W.MSG_HEADER.MAGIC;
const KIND = HDR + W.MSG_HEADER.KIND;
const VERSION = HDR + W.MSG_HEADER.VERSION;
const CAPACITY = HDR + W.MSG_HEADER.CAPACITY;
const ELEMENT_SIZE = HDR + W.MSG_HEADER.ELEMENT_SIZE;
// The byte of a message region's magic, from the region's start.
const MAGIC_AT = MAGIC * WORD;
const KIND_NAMES = {
  [C.MSG_KIND_SPSC]: 'an SPSC ring',
  [C.MSG_KIND_MPMC]: 'an MPMC queue',
  [C.MSG_KIND_STACK]: 'a stack',
  [C.MSG_KIND_PRIORITY_QUEUE]: 'a priority queue',
  [C.MSG_KIND_BROADCAST]: 'a broadcast channel',
};

// The kinds whose format version moved past MSG_FORMAT_VERSION (format.md §15, "Version history").
const OWN_VERSIONS = {
  [C.MSG_KIND_SPSC]: C.MSG_SPSC_VERSION,
  [C.MSG_KIND_STACK]: C.MSG_STACK_VERSION,
};

/** The format version of the regions of `kind`: the ring's and the stack's have their own (format.md §15, header). */
function versionOf(kind) {
  return OWN_VERSIONS[kind] ?? C.MSG_FORMAT_VERSION;
}

function isPowerOfTwo(n) {
  return n > 0 && (n & (n - 1)) === 0;
}

/** A capacity option: a power of two in [min, max] (max: the structure's own limit, if lower). */
function validateCapacity(value, name, min, max = C.MSG_MAX_CAPACITY) {
  v.validateInteger(value, name, min, max);
  if (!isPowerOfTwo(value)) throw v.rangeError(`The "${name}" argument must be a power of two. Received ${value}`);
}

/**
 * Resolves the placement options into { buffer, byteOffset, segment } holding at least `bytes`
 * bytes from byteOffset (a multiple of 64). `create` makes a new segment (exclusive); opening
 * checks that the existing one is large enough, and waits for its creator to stamp the header.
 * `bytes` is null when opening (the header says). `magicAt` is the byte of the header's magic
 * from the region's start: a message region's by default (a pool's header has its own).
 */
function place(options, { create, keys, bytes, magicAt = MAGIC_AT }) {
  const given = ['name', 'path', 'buffer'].filter((k) => options[k] !== undefined);
  v.validateKeys(options, 'options', keys);
  if (given.length !== 1) {
    throw v.typeError('Exactly one of "options.name", "options.path" or "options.buffer" is required');
  }
  let byteOffset = 0;
  if (options.byteOffset !== undefined) {
    v.validateInteger(options.byteOffset, 'options.byteOffset', 0);
    if (options.byteOffset % C.UNIT !== 0) {
      throw v.rangeError(`The "options.byteOffset" argument must be a multiple of ${C.UNIT}. Received ${options.byteOffset}`);
    }
    byteOffset = options.byteOffset;
  }
  const need = byteOffset + (bytes ?? C.MSG_HEADER_OFFSET + W.MSG_HEADER.WORDS * WORD);
  if (options.buffer !== undefined) {
    if (!types.isSharedArrayBuffer(options.buffer)) throw v.invalidType('options.buffer', 'a SharedArrayBuffer', options.buffer);
    if (options.size !== undefined) throw v.typeError('"options.size" applies only to a segment (name or path)');
    if (options.buffer.byteLength < need) {
      throw v.rangeError(`The "options.buffer" argument must hold at least ${need} bytes. Received ${options.buffer.byteLength}`);
    }
    return { buffer: options.buffer, byteOffset, segment: null };
  }
  const target = options.name !== undefined ? { name: options.name } : { path: options.path };
  if (create) {
    let size = need;
    if (options.size !== undefined) {
      v.validateInteger(options.size, 'options.size', need, Segment.MAX_SIZE);
      size = options.size;
    }
    return { buffer: null, byteOffset, segment: Segment.create({ ...target, size }) };
  }
  // A creator makes its segment with 0 bytes, sizes it next and then stamps the header, the
  // magic last (format.md §15, §17, "Creating"): an opener in between waits for the size and
  // then for the magic, OPEN_WAIT_MS in all, rather than take the segment for one too small or
  // for one that holds no structure. A segment still empty, or too small for the header, after
  // that is refused here, one still without its magic by the kind's header check: with the
  // errors of a segment that nobody ever sized or stamped (ERR_BAD_SIZE, ERR_BAD_MAGIC). A
  // creator that grows its segment in steps may be seen with part of its size: the opener waits
  // for one that holds the header, and reads the size again once the magic is there
  // (remapIfGrown), before the header is checked against it. A SharedArrayBuffer is never waited
  // for: it is the caller's, and its creator has returned.
  const deadline = performance.now() + OPEN_WAIT_MS;
  let segment = openWhenSized(target, deadline, need);
  if (segment.size < need) {
    segment.close();
    throw msgError('ERR_BAD_SIZE', `The segment holds ${segment.size} bytes, the region at ${byteOffset} needs ${need}`);
  }
  waitForStamp(new Uint32Array(segment.buffer, byteOffset + magicAt, 1), 0, deadline);
  segment = remapIfGrown(segment, target);
  return { buffer: null, byteOffset, segment };
}

/** The header words of a region, read once: { magic, kind, version, capacity, elementSize }. */
function readHeader(buffer, byteOffset) {
  const u32 = new Uint32Array(buffer, byteOffset, W.MSG_HEADER.WORDS);
  return {
    magic: Atomics.load(u32, MAGIC),
    kind: Atomics.load(u32, KIND),
    version: Atomics.load(u32, VERSION),
    capacity: Atomics.load(u32, CAPACITY),
    elementSize: Atomics.load(u32, ELEMENT_SIZE),
  };
}

/** Stamps the header of a region being created: every field, then the magic. */
function stamp(buffer, byteOffset, kind, capacity, elementSize) {
  const u32 = new Uint32Array(buffer, byteOffset, W.MSG_HEADER.WORDS);
  Atomics.store(u32, KIND, kind);
  Atomics.store(u32, VERSION, versionOf(kind));
  Atomics.store(u32, CAPACITY, capacity);
  Atomics.store(u32, ELEMENT_SIZE, elementSize);
  Atomics.store(u32, MAGIC, C.MSG_MAGIC);
}

/** Checks the header of an existing region of `kind`; returns it. */
function checkHeader(buffer, byteOffset, kind) {
  const h = readHeader(buffer, byteOffset);
  if (h.magic !== C.MSG_MAGIC) throw msgError('ERR_BAD_MAGIC', 'Not a message region (bad magic: not created yet?)');
  if (h.kind !== kind) {
    throw msgError('ERR_BAD_MAGIC', `The message region is ${KIND_NAMES[h.kind] || `of unknown kind ${h.kind}`}, not ${KIND_NAMES[kind]}`);
  }
  const version = versionOf(kind);
  if (h.version !== version) {
    // An earlier version of the kind was made by an earlier shmstore, whose processes follow
    // another protocol on the same bytes: there is no upgrade in place, only a new region.
    const earlier = h.version >= C.MSG_FORMAT_VERSION && h.version < version
      ? ': it was made by an earlier version of shmstore, which cannot share it with this one; create it again once no process of that version uses it'
      : '';
    throw msgError('ERR_BAD_VERSION', `Message region version ${h.version}, expected ${version} for ${KIND_NAMES[kind]}${earlier}`);
  }
  if (!isPowerOfTwo(h.capacity) || h.capacity > C.MSG_MAX_CAPACITY) {
    throw msgError('ERR_CORRUPT', `Message region capacity ${h.capacity} is not an allowed capacity`);
  }
  return h;
}

/**
 * Checks the header of an existing region of `kind` whose capacity counts slots or nodes of
 * `elementSize` payload bytes: the shape must be allowed (`limits`: { minCapacity, maxCapacity,
 * maxMessageBytes, maxBytes, bytesFor(capacity, messageBytes), what }) and fit in the memory.
 * Returns { capacity, messageBytes, bytes }. With `shape` ({ capacity, messageBytes }: a region
 * being created) the header is stamped first.
 */
function checkShape(buffer, byteOffset, kind, limits, shape) {
  if (shape) stamp(buffer, byteOffset, kind, shape.capacity, shape.messageBytes);
  const h = checkHeader(buffer, byteOffset, kind);
  const { what } = limits;
  if (h.capacity > limits.maxCapacity || h.capacity < limits.minCapacity || h.elementSize < 1 ||
      h.elementSize > limits.maxMessageBytes || limits.bytesFor(h.capacity, h.elementSize) > limits.maxBytes) {
    throw msgError('ERR_CORRUPT', `${what[0].toUpperCase()}${what.slice(1)} header: capacity ${h.capacity}, message bytes ${h.elementSize}`);
  }
  const bytes = limits.bytesFor(h.capacity, h.elementSize);
  if (byteOffset + bytes > buffer.byteLength) {
    throw msgError('ERR_BAD_SIZE', `The ${what} needs ${bytes} bytes at ${byteOffset}; the memory holds ${buffer.byteLength}`);
  }
  return { capacity: h.capacity, messageBytes: h.elementSize, bytes };
}

/**
 * The `messageBytes` of bytesFor(capacity, options), whose keys may be `keys` (validated by the
 * caller's shape check).
 */
function messageBytesOption(options, fallback, keys = ['messageBytes']) {
  if (options === undefined) return fallback;
  v.validateObject(options, 'options');
  v.validateKeys(options, 'options', keys);
  return options.messageBytes ?? fallback;
}

/**
 * Validates the shape a creator asks for against `limits` (as checkShape's, with `noun` and
 * `unit` naming the structure and its slots in the message): a power-of-two capacity in
 * [minCapacity, maxCapacity], 1 to maxMessageBytes bytes per message, at most maxBytes in all.
 * `capacityName` names the capacity in messages: 'options.capacity' (create's option, the
 * default) or 'capacity' (bytesFor's first argument).
 */
function validateShape(capacity, messageBytes, limits, capacityName = 'options.capacity') {
  // Out of range either way, the message names the structure's own bounds.
  validateCapacity(capacity, capacityName, limits.minCapacity, Math.min(limits.maxCapacity, C.MSG_MAX_CAPACITY));
  v.validateInteger(messageBytes, 'options.messageBytes', 1, limits.maxMessageBytes);
  if (limits.bytesFor(capacity, messageBytes) > limits.maxBytes) {
    throw v.rangeError(`A ${limits.noun} of ${capacity} ${limits.unit} of ${messageBytes} bytes exceeds ${limits.maxBytes} bytes`);
  }
}

/**
 * The shape create() `options` ask for ({ capacity, messageBytes? }, `fallback` bytes per
 * message when not given), validated as validateShape() does under the options' names: returns
 * { messageBytes, bytes }.
 */
function createShape(options, limits, fallback) {
  const messageBytes = options.messageBytes ?? fallback;
  validateShape(options.capacity, messageBytes, limits);
  return { messageBytes, bytes: limits.bytesFor(options.capacity, messageBytes) };
}

/** The options of create(): an object with a `capacity`. */
function validateCreateOptions(options) {
  v.validateObject(options, 'options');
  if (options.capacity === undefined) throw v.typeError('The "options.capacity" argument is required');
}

/** The `startPosition` creation option (a test hook for the wrap of positions at 2^32): 0 by default. */
function startPositionOf(options) {
  if (options.startPosition === undefined) return 0;
  v.validateInteger(options.startPosition, 'options.startPosition', 0, 2 ** 32 - 1);
  return options.startPosition;
}

/** A region that is closed: every further call throws ERR_CLOSED. */
function closedError(what) {
  return msgError('ERR_CLOSED', `The ${what} is closed`);
}

module.exports = {
  place, stamp, checkHeader, checkShape, readHeader, validateCapacity, validateShape, createShape, validateCreateOptions, isPowerOfTwo,
  closedError, messageBytesOption, startPositionOf, versionOf,
};
