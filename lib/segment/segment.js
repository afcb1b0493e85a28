'use strict';
// Segment: a POSIX shared memory object (by name) or a file (by path), mapped read-write and
// exposed as one SharedArrayBuffer over the mapping (no copy).
//
// What close() guarantees (docs/api.md repeats this for users):
// - the file descriptor is closed at once and `closed` becomes true;
// - `buffer` throws ShmError ERR_CLOSED from then on (the handle drops its reference);
// - if another thread still holds the SharedArrayBuffer (it was posted to a worker that still
//   has it, or a native thread of the addon works on it), the memory stays mapped for everyone
//   and they keep reading and writing the shared memory safely; it is unmapped when the last
//   reference is garbage collected (the V8 backing-store deleter);
// - otherwise the shared pages are released at once: the range is replaced by private
//   zero-filled memory, so views this thread kept from before close() see zeros (never a
//   crash) and no longer share anything. (V8 does not count shared memory as GC pressure;
//   waiting for a GC would let create/close loops pile up memory.)
// - if `buffer` was never asked for, the mapping is simply unmapped.
// - while handles of this thread that share the buffer are open (holdBuffer: a Store, a sync
//   object, a message structure or a pool on it), the pages are not released: those handles keep
//   using the shared memory, which is unmapped when the last reference is garbage collected, as
//   for other threads.
// close() does not remove the segment: unlink() does (existing mappings stay valid).
const path = require('path');
const { fileURLToPath } = require('url');
const { inspect } = require('util');
const { addon, requireAddon } = require('../base/native');
const { C } = require('../layout/layout');
const { ShmError } = require('../base/errors');
const v = require('../base/validate');
const { sleepMs } = require('../base/process');

const KIND_SHM = 0;
const KIND_FILE = 1;
// The limits the addon enforces, as it was compiled (the same values as lib/layout.js, both
// generated from scripts/layout-spec.js, unless the addon is stale). Sizes: 2^47 bytes is the
// whole user address space of x86-64, nothing larger can be mapped.
const LIMITS = addon ? addon.layout.C : C;
const MAX_SIZE = LIMITS.MAX_SEGMENT_BYTES;
const MAX_NAME_LENGTH = LIMITS.MAX_SEGMENT_NAME_BYTES;
const MAX_PATH_LENGTH = LIMITS.MAX_SEGMENT_PATH_BYTES;
const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;
const CREATE_KEYS = ['name', 'path', 'size', 'mode', 'exclusive', 'reserve'];
const TARGET_KEYS = ['name', 'path'];
// The permission bits of a segment created without `mode`.
const DEFAULT_MODE = 0o600;
const kInternal = Symbol('shmstore.Segment.internal');
// The size of the object a handle mapped, as it is now (fstat of its descriptor): a method kept
// off the public API, for the openers of this file's helpers (grown, remapIfGrown).
const kFileSize = Symbol('shmstore.Segment.fileSize');

// SharedArrayBuffer -> how many open handles of this thread use it (a Store, a sync object's
// region, a message structure, a pool): close() must not swap their shared pages for private
// zeros. Every such handle holds the buffer from its construction to its close().
const holds = new WeakMap();

/** Marks `buffer` as used by one more open handle of this thread, until releaseBuffer(buffer). */
function holdBuffer(buffer) {
  holds.set(buffer, (holds.get(buffer) || 0) + 1);
}

/** Ends one holdBuffer(buffer). */
function releaseBuffer(buffer) {
  const n = (holds.get(buffer) || 0) - 1;
  if (n > 0) holds.set(buffer, n);
  else holds.delete(buffer);
}

// Validates { name | path } and returns { kind, id, name, path } for the addon.
function parseTarget(options, allowed) {
  v.validateObject(options, 'options');
  v.validateKeys(options, 'options', allowed);
  const hasName = options.name !== undefined;
  const hasPath = options.path !== undefined;
  if (hasName === hasPath) {
    throw v.typeError('Exactly one of "options.name" (shared memory) or "options.path" (file) is required');
  }
  if (hasName) {
    const name = options.name;
    v.validateString(name, 'options.name', {
      minLength: 1,
      maxLength: MAX_NAME_LENGTH,
      pattern: NAME_PATTERN,
      patternText: 'contain only A-Z, a-z, 0-9, ".", "_" and "-" (no "/": it is added internally)',
    });
    if (name === '.' || name === '..') throw v.rangeError(`The "options.name" argument must not be "${name}"`);
    return { kind: KIND_SHM, id: name, name, path: null };
  }
  let p = options.path;
  if (p instanceof URL) {
    if (p.protocol !== 'file:') throw v.typeError(`The "options.path" argument must be a string or a file: URL. Received a ${p.protocol} URL`);
    try {
      p = fileURLToPath(p);
    } catch (err) {
      throw v.typeError(`The "options.path" argument is a file: URL that names no local path: ${err.message}`);
    }
  }
  v.validateString(p, 'options.path', { minLength: 1, maxLength: MAX_PATH_LENGTH });
  // Absolute, so that the path still names the same file for workers or children with
  // another working directory.
  const abs = path.resolve(p);
  return { kind: KIND_FILE, id: abs, name: null, path: abs };
}

function optional(options, key, fallback, check) {
  const value = options[key];
  if (value === undefined) return fallback;
  check(value, `options.${key}`);
  return value;
}

class Segment {
  #handle;
  #buffer = null;
  #closed = false;
  #target;
  #size;

  /** @private Use Segment.create() or Segment.open(). */
  constructor(token, handle, target) {
    if (token !== kInternal) {
      throw new TypeError('Segment cannot be constructed directly: use Segment.create() or Segment.open()');
    }
    this.#handle = handle;
    this.#target = target;
    this.#size = handle.size;
  }

  /**
   * Creates a segment (or, with exclusive: false, opens an existing one and grows it to at
   * least `size`; it is never shrunk) and maps it.
   */
  static create(options) {
    const target = parseTarget(options, CREATE_KEYS);
    if (options.size === undefined) throw v.typeError('The "options.size" argument is required');
    v.validateInteger(options.size, 'options.size', 1, MAX_SIZE, 'ERR_SHM_TOO_LARGE');
    const mode = optional(options, 'mode', DEFAULT_MODE, (x, n) => v.validateInteger(x, n, 0, 0o777));
    const exclusive = optional(options, 'exclusive', true, v.validateBoolean);
    const reserve = optional(options, 'reserve', true, v.validateBoolean);
    const handle = requireAddon().segmentCreate(target.kind, target.id, options.size, mode, exclusive, reserve);
    return new Segment(kInternal, handle, target);
  }

  /** Maps an existing segment at its current size. */
  static open(options) {
    const target = parseTarget(options, TARGET_KEYS);
    return new Segment(kInternal, requireAddon().segmentOpen(target.kind, target.id), target);
  }

  /** Removes a segment's name (or file). Mappings of it stay valid until closed. */
  static unlink(options) {
    const target = parseTarget(options, TARGET_KEYS);
    requireAddon().segmentUnlink(target.kind, target.id);
  }

  /**
   * The SharedArrayBuffer over the mapping: the same object on every access (one V8 backing
   * store per mapping). Throws ShmError ERR_CLOSED after close().
   */
  get buffer() {
    const b = this.#buffer;
    return b !== null ? b : this.#materialize();
  }

  #materialize() {
    if (this.#closed) throw new ShmError('ERR_CLOSED', `${this.#describe()} is closed`);
    this.#buffer = this.#handle.buffer();
    return this.#buffer;
  }

  #describe() {
    const t = this.#target;
    return t.name !== null ? `segment '${t.name}'` : `segment '${t.path}'`;
  }

  /** Size of the mapping in bytes (stays readable after close). */
  get size() {
    return this.#size;
  }

  /** Name of a shared memory segment (without the leading '/'), or null for a file. */
  get name() {
    return this.#target.name;
  }

  /** Absolute path of a file segment, or null for a shared memory segment. */
  get path() {
    return this.#target.path;
  }

  get closed() {
    return this.#closed;
  }

  /**
   * The permission bits (0..0o777) of the object this handle mapped, as they are now (fstat of
   * its descriptor: still that object after its name was unlinked or reused). Throws ShmError
   * ERR_CLOSED after close(), which closes the descriptor.
   */
  get mode() {
    if (this.#closed) throw new ShmError('ERR_CLOSED', `${this.#describe()} is closed`);
    return this.#handle.mode;
  }

  /** @private The size of the object now (larger than `size` once it grew); ERR_CLOSED after close(). */
  [kFileSize]() {
    if (this.#closed) throw new ShmError('ERR_CLOSED', `${this.#describe()} is closed`);
    return this.#handle.fileSize;
  }

  /** Idempotent. See the top of this file for exactly what it guarantees. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    const held = this.#buffer !== null && holds.has(this.#buffer);
    this.#buffer = null;
    this.#handle.close(!held);
  }

  /** Removes this segment's name (or file); allowed before or after close(). */
  unlink() {
    requireAddon().segmentUnlink(this.#target.kind, this.#target.id);
  }

  [inspect.custom](depth, options) {
    const what = this.#target.name !== null ? `name: '${this.#target.name}'` : `path: '${this.#target.path}'`;
    return `Segment { ${what}, size: ${options.stylize(String(this.#size), 'number')}, closed: ${this.#closed} }`;
  }
}

if (typeof Symbol.dispose === 'symbol') {
  Segment.prototype[Symbol.dispose] = Segment.prototype.close;
}

Object.defineProperty(Segment, 'MAX_SIZE', { value: MAX_SIZE, enumerable: true });

// How long an opener by name or path waits for the creator of what it opens: a creator makes its
// segment exclusively with 0 bytes, sizes it next and then stamps its header, the magic last
// (a few stores: only a creator that died or was stopped midway makes an opener wait this long).
const OPEN_WAIT_MS = 1000;

/**
 * Segment.open(options), waiting until `deadline` (a performance.now() time) while the segment
 * has fewer than `minBytes` bytes (at least 1): a creator makes a segment exclusively and sizes it
 * next, so an opener in between finds it empty (ERR_BAD_SIZE, the only case Segment.open refuses
 * with it, thrown after the deadline), or, where the creator grows it in steps (an older version
 * of this package, another tool: see grown()), with part of its size. `minBytes` is what the
 * opener needs to find the header it checks; past the deadline the mapping is returned even if
 * it is still smaller, and refusing it is the caller's, as is waiting for what the creator
 * writes next.
 */
function openWhenSized(options, deadline, minBytes = 1) {
  for (;;) {
    let segment;
    try {
      segment = Segment.open(options);
    } catch (err) {
      if (err.code !== 'ERR_BAD_SIZE' || performance.now() >= deadline) throw err;
    }
    if (segment !== undefined) {
      if (segment.size >= minBytes || performance.now() >= deadline) return segment;
      segment.close();
    }
    sleepMs(1);
  }
}

/**
 * Waits until `deadline` (a performance.now() time) while word `index` of `u32` (a view of a
 * SharedArrayBuffer) reads 0: the magic of a header that its creator stamps last. Returns the
 * word as last read; what a word still 0 after the deadline means is the caller's to say.
 */
function waitForStamp(u32, index, deadline) {
  const i32 = new Int32Array(u32.buffer, u32.byteOffset, u32.length);
  let word = Atomics.load(u32, index);
  // Nobody notifies: the creator's stores are plain stamps, so each wait is a 1 ms sleep.
  while (word === 0 && performance.now() < deadline) {
    Atomics.wait(i32, index, 0, 1);
    word = Atomics.load(u32, index);
  }
  return word;
}

/**
 * Whether the object `segment` mapped is now larger than the mapping: it was mapped while its
 * creator was still sizing it. (This package's creator sets the size in one step, but an older
 * one or another tool may grow it in steps: posix_fallocate does on ext4 for a large size, and
 * glibc's fallback, on file systems without fallocate, block by block.) False when the size
 * cannot be read (a closed handle).
 */
function grown(segment) {
  try {
    return segment[kFileSize]() > segment.size;
  } catch {
    // A closed handle, or an fstat that failed: nothing known to have grown.
    return false;
  }
}

/**
 * The segment an opener by name or path checks a header in, once it has seen the header's magic
 * (or waited for it in vain): a creator sizes its segment before it stamps the magic, so the size
 * is final by then, and a mapping taken before may hold only part of it (grown() says when).
 * Returns `segment`, or, when the object grew since it was mapped, a new mapping of it
 * (Segment.open(options), at its full size) and `segment` closed: its SharedArrayBuffer then
 * reads zeros, so views made of it must be made again. If that open fails, `segment` is kept,
 * and its header checks report what is wrong.
 */
function remapIfGrown(segment, options) {
  if (!grown(segment)) return segment;
  let whole;
  try {
    whole = Segment.open(options);
  } catch {
    return segment;
  }
  if (whole.size <= segment.size) {
    // The name now names another, smaller object (unlinked and made again meanwhile).
    whole.close();
    return segment;
  }
  segment.close();
  return whole;
}

module.exports = {
  Segment,
  MAX_SIZE,
  DEFAULT_MODE,
  OPEN_WAIT_MS,
  openWhenSized,
  waitForStamp,
  grown,
  remapIfGrown,
  holdBuffer,
  releaseBuffer,
};
