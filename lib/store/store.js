'use strict';
// The public Store API. It validates every argument, resolves namespace names to ids (cached per
// handle; an engine refuses a cached id whose namespace was dropped since with
// ERR_NAMESPACE_DROPPED, and the name is then resolved again) and drives one of two engines with
// the same internal interface: the native binding or the pure-JS engine.
// The module's own binding of Buffer: the global is an accessor of globalThis, which optimized
// code reads through a call each time.
const { Buffer } = require('buffer');
const v = require('../base/validate');

const { typeError, rangeError } = v;
const { threadId } = require('worker_threads');
const { C, S, AT, STATUS, STATUS_CODE } = require('../layout/layout');
const { JsEngine } = require('./js/store');
const { defaultGeometry, entriesOffsetFor } = require('./js/format');
const { encodeValue, decodeValue } = require('./codec');
const { Segment, openWhenSized, grown, holdBuffer, releaseBuffer } = require('../segment/segment');
const { ShmError } = require('../base/errors');
const { sleepMs } = require('../base/process');
const native = require('../base/native');
const { NamespaceView } = require('./namespace-view');
const flusher = require('./flusher');
const cache = require('./cache-options');
const latency = require('./latency');
const compaction = require('./compaction');
const { ReadCache, readCacheOptions } = require('./read-cache');

const RANGE_STATUSES = new Set([
  STATUS.ERR_KEY_TOO_LONG,
  STATUS.ERR_VALUE_TOO_LONG,
  STATUS.ERR_TOO_MANY_NAMESPACES,
]);
const MESSAGES = {
  [STATUS.ERR_KEY_TOO_LONG]: `key is longer than ${C.MAX_KEY_BYTES} UTF-8 bytes`,
  [STATUS.ERR_VALUE_TOO_LONG]: `encoded value is longer than ${C.MAX_VALUE_BYTES} bytes`,
  [STATUS.ERR_TOO_MANY_NAMESPACES]: 'the store already has as many namespaces as its maxNamespaces allows',
  [STATUS.ERR_STORE_FULL]: 'the store is full (entries or space)',
  [STATUS.ERR_BAD_MAGIC]: 'not a shmstore store (bad magic)',
  [STATUS.ERR_BAD_VERSION]: `unsupported store format version (this shmstore reads version ${C.FORMAT_VERSION})`,
  [STATUS.ERR_BAD_CHECKSUM]: 'store header checksum mismatch (corrupted header)',
  [STATUS.ERR_BAD_SIZE]: 'store size does not match its segment (truncated or too small)',
  [STATUS.ERR_CORRUPT]: 'store structure is corrupt',
  [STATUS.ERR_TOO_MANY_HANDLES]: 'too many open handles on this store',
  [STATUS.ERR_SHM_TOO_LARGE]: 'store too large for this engine',
  [STATUS.ERR_LOCK_TIMEOUT]: 'a lock is held by a live process that does not release it',
  [STATUS.ERR_NO_MEMORY]: 'out of memory (the process heap is exhausted)',
};

function statusError(status, what) {
  const code = STATUS_CODE[status] || 'ERR_UNKNOWN';
  const msg = `${what}: ${MESSAGES[status] || code}`;
  if (RANGE_STATUSES.has(status)) return rangeError(msg, code);
  return new ShmError(code, msg, { status });
}

// Maps an engine failure to the public error. Both engines throw an Error whose numeric
// `status` is a status code (lib/store/contract.js); TypeErrors and RangeErrors pass through.
function engineError(err, what = 'store') {
  if (err && typeof err.status === 'number') return statusError(err.status, what);
  // V8's message when the memory of a typed array cannot be allocated (the JS engine's repair
  // and verify passes allocate one byte per pool unit): the native engine's ERR_NO_MEMORY.
  if (err instanceof RangeError && /allocation failed/i.test(err.message)) {
    return new ShmError('ERR_NO_MEMORY', `${what}: ${MESSAGES[STATUS.ERR_NO_MEMORY]}: ${err.message}`,
      { cause: err, status: STATUS.ERR_NO_MEMORY });
  }
  return err;
}

// ERR_BAD_VERSION on open: names the version found and how to move the data (format.md, "Version
// history": there is no in-place upgrade).
function versionHint(err, buffer) {
  if (!(err instanceof ShmError) || err.code !== 'ERR_BAD_VERSION' || buffer.byteLength < C.HEADER_SIZE) return err;
  const found = new Uint32Array(buffer, 0, C.HEADER_SIZE / 4)[S.HEADER.VERSION / 4];
  err.message = `open: the store has format version ${found}; this shmstore reads version ${C.FORMAT_VERSION}. ` +
    'To move its data, run `npx shmstore dump` with the shmstore version that wrote it, then ' +
    '`npx shmstore load` the dump into a new store';
  return err;
}

function engineClass(name) {
  if (name === undefined) return native.addon ? native.addon.NativeStore : JsEngine;
  if (name === 'js') return JsEngine;
  if (name === 'native') {
    if (!native.addon) {
      throw new ShmError('ERR_ADDON_MISSING',
        `the native engine is not available: ${native.loadError ? native.loadError.message : 'not built'}`);
    }
    return native.addon.NativeStore;
  }
  throw rangeError(`The "options.engine" argument must be 'native' or 'js'. Received ${v.describe(name)}`);
}

const CREATE_KEYS = ['name', 'path', 'buffer', 'size', 'buckets', 'maxEntries', 'maxNamespaces', 'mode',
  'engine', 'lockTimeoutMs', 'eviction', 'latency', 'readCache'];
const OPEN_KEYS = ['name', 'path', 'engine', 'lockTimeoutMs', 'latency', 'readCache'];
const ATTACH_KEYS = ['engine', 'lockTimeoutMs', 'latency', 'readCache'];

// options.latency: false (default) or true, checked before anything is created or opened.
function checkLatency(opts) {
  if (opts.latency !== undefined) v.validateBoolean(opts.latency, 'options.latency');
}

function withLatency(store, opts) {
  if (opts.latency === true) store.enableLatency();
  return store;
}

// Options: an object whose every key is known (a misspelt option is an error, not a silently
// ignored default). The one validation vocabulary of lib/base/validate.js.
function checkOptions(opts, name, allowed) {
  if (opts === undefined) return {};
  v.validateObject(opts, name);
  v.validateKeys(opts, name, allowed);
  return opts;
}

function checkInt(value, name, min, max) {
  v.validateInteger(value, name, min, max);
}

function checkNsName(ns) {
  if (typeof ns !== 'string') throw v.invalidType('namespace', 'of type string', ns);
  const n = Buffer.byteLength(ns);
  if (n < 1 || n > C.MAX_NAMESPACE_BYTES) {
    throw rangeError(`The "namespace" argument must be 1 to ${C.MAX_NAMESPACE_BYTES} UTF-8 bytes. Received ${n} bytes`);
  }
}

function checkKey(key) {
  if (typeof key !== 'string') throw v.invalidType('key', 'of type string', key);
  // A UTF-16 code unit is at least one UTF-8 byte and at most three.
  if (key.length * 3 > C.MAX_KEY_BYTES && Buffer.byteLength(key) > C.MAX_KEY_BYTES) {
    throw statusError(STATUS.ERR_KEY_TOO_LONG, 'key');
  }
}

// The engines measure the encoded value too, but only after the namespace exists: a value that is
// too long must be refused before set() creates one. A UTF-16 unit is at most 3 UTF-8 bytes.
function checkValueLength(payload) {
  const n = typeof payload === 'string'
    ? (payload.length * 3 > C.MAX_VALUE_BYTES ? Buffer.byteLength(payload) : 0)
    : payload.byteLength;
  if (n > C.MAX_VALUE_BYTES) throw statusError(STATUS.ERR_VALUE_TOO_LONG, 'value');
}

// What _lastNs holds before any namespace was used: no argument can be identical to it (with
// `undefined` there, _id(undefined) returned the cached id 0 without validating the name).
const NO_NAMESPACE = Symbol('no namespace');

function pairsOf(entries) {
  if (entries instanceof Map) return [...entries];
  if (entries === null || typeof entries !== 'object' || typeof entries[Symbol.iterator] !== 'function') {
    throw v.invalidType('entries', 'an iterable of [key, value] pairs or a Map', entries);
  }
  const out = [];
  for (const pair of entries) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw v.invalidType('entries', 'made of [key, value] pairs', pair);
    }
    out.push(pair);
  }
  return out;
}

class Store {
  // Creates a new store on a new segment (name or path) or on a given SharedArrayBuffer.
  static create(opts) {
    opts = checkOptions(opts, 'options', CREATE_KEYS);
    if (opts === undefined || Object.keys(opts).length === 0) throw typeError('The "options" argument is required');
    const Engine = engineClass(opts.engine);
    const lockTimeoutMs = Store._lockTimeout(opts);
    checkLatency(opts);
    const readCache = readCacheOptions(opts.readCache);
    let segment = null;
    let buffer = opts.buffer;
    if (buffer !== undefined) {
      if (!(buffer instanceof SharedArrayBuffer)) throw v.invalidType('options.buffer', 'a SharedArrayBuffer', buffer);
      if (opts.name !== undefined || opts.path !== undefined) {
        throw typeError('Only one of "options.name", "options.path" and "options.buffer" may be given');
      }
      if (opts.size !== undefined || opts.mode !== undefined) {
        throw typeError('"options.size" and "options.mode" do not apply to a buffer (the store takes all of it)');
      }
    } else {
      checkInt(opts.size, 'options.size', entriesOffsetFor(C.MIN_BUCKETS, 1) + C.UNIT, C.MAX_SEGMENT_UNITS * C.BLOCK_UNIT);
    }
    const size = buffer ? buffer.byteLength : opts.size;
    if (opts.buckets !== undefined) {
      checkInt(opts.buckets, 'options.buckets', 1, C.MAX_BUCKETS);
      if (opts.buckets & (opts.buckets - 1)) throw rangeError(`The "options.buckets" argument must be a power of two. Received ${opts.buckets}`);
    }
    if (opts.maxEntries !== undefined) checkInt(opts.maxEntries, 'options.maxEntries', 1, 0xffffffff);
    const maxNamespaces = opts.maxNamespaces === undefined ? C.DEFAULT_MAX_NAMESPACES : opts.maxNamespaces;
    checkInt(maxNamespaces, 'options.maxNamespaces', 1, C.MAX_NAMESPACES);
    const policy = opts.eviction === undefined ? C.POLICY_NONE : cache.policyOf(opts.eviction, 'options.eviction');
    const geo = defaultGeometry(size, opts.buckets, opts.maxEntries, maxNamespaces);
    if (entriesOffsetFor(geo.bucketCount, maxNamespaces) + C.UNIT > size) {
      throw rangeError(`The "options.size" argument (${size}) is too small for ${geo.bucketCount} buckets and ` +
        `${maxNamespaces} namespaces`);
    }
    if (!buffer) {
      segment = Segment.create({ name: opts.name, path: opts.path, size, mode: opts.mode,
        exclusive: true });
      buffer = segment.buffer;
    }
    try {
      try {
        Engine.create(buffer, geo.bucketCount, geo.maxEntries, policy, maxNamespaces);
      } catch (err) {
        throw engineError(err, 'create');
      }
      return withLatency(new this(Engine, buffer, segment, lockTimeoutMs, readCache), opts);
    } catch (err) {
      if (segment) {
        segment.unlink();
        segment.close();
      }
      throw err;
    }
  }

  // Opens an existing store by segment name or file path. A store another party is creating
  // right now is waited for, up to lockTimeoutMs: its creator makes the segment exclusively, sizes
  // it, then writes the header with the magic last, so until then an opener finds an empty
  // segment (ERR_BAD_SIZE) or a zero magic (ERR_BAD_MAGIC), which after the wait are reported.
  static open(opts) {
    opts = checkOptions(opts, 'options', OPEN_KEYS);
    const Engine = engineClass(opts.engine);
    const lockTimeoutMs = Store._lockTimeout(opts);
    checkLatency(opts);
    const readCache = readCacheOptions(opts.readCache);
    const deadline = performance.now() + lockTimeoutMs;
    for (;; sleepMs(1)) {
      // At least the header, before the engine looks at it: a creator that grows its segment in
      // steps may be seen with part of its size.
      const segment = openWhenSized({ name: opts.name, path: opts.path }, deadline, C.HEADER_SIZE);
      const buffer = segment.buffer;
      try {
        return withLatency(new this(Engine, buffer, segment, lockTimeoutMs, readCache), opts);
      } catch (err) {
        // Read before the close, which leaves zeros where the mapping was. A magic that is there
        // now was stamped since the engine looked: the next attempt opens the store.
        const magic = buffer.byteLength >= C.HEADER_SIZE ? Atomics.load(new Uint32Array(buffer, 0, 1), AT.HEADER.MAGIC) : -1;
        const unfinished = err.code === 'ERR_BAD_MAGIC' && (magic === 0 || magic === C.MAGIC);
        // Too small for what it holds, and larger now than when it was mapped: mapped while its
        // creator was still sizing it (one that grows its segment in steps, segment.js grown()).
        // The next attempt maps it whole. Each such attempt needs the segment to have grown since
        // the last, and a creator's sizing ends, so these retries end too: they are not bounded by
        // the deadline, which a creator sizing a large segment may well outlast.
        const partial = err.code === 'ERR_BAD_SIZE' && grown(segment);
        segment.close();
        if (partial) continue;
        if (!unfinished) throw err;
        if (performance.now() >= deadline) {
          // Still no magic after lockTimeoutMs: a creator that died between its create and its
          // stamp (nothing was ever written to the store), which no open can finish.
          if (magic === 0) err.message += `: the segment holds no store after ${lockTimeoutMs} ms, as a creator killed part way leaves it; unlink the segment (Segment.unlink) and create the store again`;
          throw err;
        }
      }
    }
  }

  /**
   * Creates the store with `opts` (as create()), or opens it (as open(), with the options open
   * takes) when it exists already: of several parties calling this at once, one creates and the
   * others open what it created. An existing store is opened as it is, whatever its geometry.
   */
  static openOrCreate(opts) {
    const { create, open } = this._openOrCreateOptions(opts);
    // Between a creator's first step and the point where an opener finds the store (a creator
    // that fails removes what it made), neither call succeeds: both are tried again, for up to
    // lockTimeoutMs.
    const lockTimeoutMs = Store._lockTimeout(open);
    const deadline = performance.now() + lockTimeoutMs;
    for (;; sleepMs(1)) {
      let exists;
      try {
        return this.create(create);
      } catch (err) {
        if (err.code !== 'ERR_SHM_EXISTS') throw err;
        exists = err;
      }
      try {
        return this.open(open);
      } catch (err) {
        if (err.code !== 'ERR_SHM_NOT_FOUND') throw err;
        // Still neither after lockTimeoutMs: what exists is what a creator killed part way left
        // (a segment without its persistence directory's control file), or is another's. Neither
        // call will ever succeed, and removing it is the caller's decision.
        if (performance.now() >= deadline) {
          throw new ShmError('ERR_SHM_EXISTS', `openOrCreate: ${exists.message}, yet for ${lockTimeoutMs} ms no store could be opened (${err.message}): ` +
            'a creator killed part way leaves this; unlink the segment (Segment.unlink) and call again');
        }
      }
    }
  }

  // openOrCreate's options checked: { create, open }, those of create() and of open().
  static _openOrCreateOptions(opts) {
    opts = checkOptions(opts, 'options', CREATE_KEYS);
    if (opts === undefined || (opts.name === undefined && opts.path === undefined)) {
      throw typeError('The "options.name" or "options.path" argument is required');
    }
    const open = Object.fromEntries(OPEN_KEYS.filter((k) => opts[k] !== undefined).map((k) => [k, opts[k]]));
    return { create: opts, open };
  }

  // Attaches to a store in a SharedArrayBuffer (for example one received through postMessage).
  static attach(buffer, opts) {
    if (!(buffer instanceof SharedArrayBuffer)) throw v.invalidType('buffer', 'a SharedArrayBuffer', buffer);
    opts = checkOptions(opts, 'options', ATTACH_KEYS);
    checkLatency(opts);
    const readCache = readCacheOptions(opts.readCache);
    return withLatency(new this(engineClass(opts.engine), buffer, null, Store._lockTimeout(opts), readCache), opts);
  }

  static _lockTimeout(opts) {
    if (opts.lockTimeoutMs === undefined) return 1000;
    checkInt(opts.lockTimeoutMs, 'options.lockTimeoutMs', 1, 3600000);
    return opts.lockTimeoutMs;
  }

  // readCache: the settings of lib/store/read-cache.js, or null for none.
  constructor(Engine, buffer, segment, lockTimeoutMs, readCache = null) {
    // Shared memory: a native handle keeps a pointer to it, and it cannot be detached.
    this._out = new Int32Array(new SharedArrayBuffer(S.GET_OUT.SIZE));
    try {
      this._e = new Engine(buffer, process.pid, threadId, lockTimeoutMs, this._out);
    } catch (err) {
      throw versionHint(engineError(err, 'open'), buffer);
    }
    this._buffer = buffer;
    this._segment = segment;
    // Another handle's segment closing must leave this handle's shared memory in place.
    holdBuffer(buffer);
    this._ns = new Map();
    // The name each cached id was resolved for: an id is reused by another name after a drop, and
    // the engine keeps one generation per id, so resolving the new name must make the handle
    // forget the old one (whose generation check would otherwise pass with the new generation).
    this._nsNames = new Map();
    this._lastNs = NO_NAMESPACE;
    this._lastId = 0;
    this._latency = null; // lib/store/latency.js, when enabled
    this.engine = Engine === JsEngine ? 'js' : 'native';
    // The read cache answers gets of unchanged entries without the engine; its hits are added to
    // the engine's counts (addHits) before anything reads or flushes them.
    this._rc = readCache !== null && ReadCache.fits(buffer) ? new ReadCache(buffer, this._out, readCache) : null;
    this._flushKey = flusher.watch(this, flushStore);
  }

  get buffer() {
    this._live();
    return this._buffer;
  }

  get closed() {
    return this._e === null;
  }

  _live() {
    if (this._e === null) throw new ShmError('ERR_CLOSED', 'the store is closed');
    return this._e;
  }

  // Namespace id for `ns`, or 0 when it does not exist and `create` is false.
  _id(ns, create) {
    // Most callers use one namespace many times in a row: compare before hashing.
    if (ns === this._lastNs) return this._lastId;
    let id = this._ns.get(ns);
    if (id === undefined) {
      checkNsName(ns);
      // The read cache's hits go to the engine before it resolves a name: resolving may give an
      // id a new generation, and hits of the old one must not count for the new.
      this._flushHits();
      try {
        id = this._live().resolveNamespace(ns, create);
      } catch (err) {
        throw engineError(err, `namespace '${ns}'`);
      }
      if (id === 0) return 0; // not cached: it may be created later
      const previous = this._nsNames.get(id);
      if (previous !== undefined && previous !== ns) this._forget(previous);
      this._ns.set(ns, id);
      this._nsNames.set(id, ns);
    }
    this._lastNs = ns;
    this._lastId = id;
    return id;
  }

  // After ERR_NAMESPACE_DROPPED (the namespace this handle resolved was dropped since, here or in
  // another handle): forgets the cached id, so that a retry resolves the name again. Whether
  // `err` was that failure.
  _dropped(err, ns) {
    if (err === null || typeof err !== 'object' || err.status !== STATUS.ERR_NAMESPACE_DROPPED) return false;
    this._forget(ns);
    return true;
  }

  _forget(ns) {
    const id = this._ns.get(ns);
    if (id !== undefined && this._rc !== null) {
      this._flushHits();
      this._rc.forget(id);
    }
    if (id !== undefined && this._nsNames.get(id) === ns) this._nsNames.delete(id);
    this._ns.delete(ns);
    if (this._lastNs === ns) {
      this._lastNs = NO_NAMESPACE;
      this._lastId = 0;
    }
  }

  // fn(id) for the existing namespace `ns`, again with the new id if it was dropped meanwhile;
  // `absent` when there is no such namespace.
  _nsCall(ns, absent, fn, what) {
    for (;;) {
      const id = this._id(ns, false);
      if (id === 0) return absent;
      try {
        return fn(id);
      } catch (err) {
        if (!this._dropped(err, ns)) throw engineError(err, what);
      }
    }
  }

  // Runs an engine call; maps the engine's internal failures to ShmError.
  _call(fn, what) {
    this._live();
    try {
      return fn();
    } catch (err) {
      throw engineError(err, what);
    }
  }

  get(ns, key) {
    const e = this._live();
    const id = this._id(ns, false);
    checkKey(key);
    if (id === 0) return undefined;
    const rc = this._rc;
    if (rc === null) return this._engineGet(e, ns, id, key);
    const hit = rc.get(id, key);
    return hit !== undefined ? hit : this._engineGet(e, ns, id, key);
  }

  // A get through the engine; its hit refreshes the read cache (when the cache looked).
  _engineGet(e, ns, id, key) {
    const rc = this._rc !== null && this._rc.looked ? this._rc : null;
    if (rc !== null) rc.before(id);
    let raw;
    try {
      raw = e.get(id, key);
    } catch (err) {
      if (this._dropped(err, ns)) return Store.prototype.get.call(this, ns, key);
      throw engineError(err, 'get');
    }
    if (raw === undefined) return undefined;
    if (rc !== null) rc.fill(id, key, raw);
    return decodeValue(raw, this._out[0]);
  }

  // Adds the hits the read cache answered to the engine's counts.
  _flushHits() {
    if (this._rc === null || this._e === null) return;
    for (const [id, n] of this._rc.takeHits()) {
      try {
        this._e.addHits(id, n);
      } catch (err) {
        throw engineError(err, 'stats');
      }
    }
  }

  has(ns, key) {
    const e = this._live();
    const id = this._id(ns, false);
    checkKey(key);
    if (id === 0) return false;
    // No closure through _call(): has() is a hot path.
    try {
      return e.has(id, key);
    } catch (err) {
      if (this._dropped(err, ns)) return Store.prototype.has.call(this, ns, key);
      throw engineError(err, 'has');
    }
  }

  set(ns, key, value, opts) {
    const e = this._live();
    let id = ns === this._lastNs ? this._lastId : this._ns.get(ns);
    if (id === undefined) checkNsName(ns);
    checkKey(key);
    const [payload, enc] = encodeValue(value);
    checkValueLength(payload);
    const expiry = opts === undefined ? cache.EXPIRY_DEFAULT : cache.expiryOf(opts);
    // Set and expired at once: what stays is no entry at all. This class's own delete, not a
    // subclass's: the persisted store calls this set holding the key's locks and logs it as one
    // record, which a logged delete inside it would overwrite. For the same reason every retry
    // after a dropped namespace below calls this class's own method again.
    if (cache.alreadyExpired(expiry)) {
      Store.prototype.delete.call(this, ns, key);
      return this;
    }
    // The namespace is created only once everything else is known to be valid.
    if (id === undefined) id = this._id(ns, true);
    try {
      e.set(id, key, payload, enc, expiry);
    } catch (err) {
      if (this._dropped(err, ns)) return Store.prototype.set.call(this, ns, key, value, opts);
      throw engineError(err, `set '${key}'`);
    }
    return this;
  }

  // Milliseconds until the entry expires, Infinity when it never does, undefined when it is
  // absent or expired.
  ttl(ns, key) {
    const e = this._live();
    const id = this._id(ns, false);
    checkKey(key);
    if (id === 0) return undefined;
    let at;
    try {
      at = e.expiresAt(id, key);
    } catch (err) {
      if (this._dropped(err, ns)) return Store.prototype.ttl.call(this, ns, key);
      throw engineError(err, 'ttl');
    }
    return cache.remainingOf(at);
  }

  delete(ns, key) {
    const e = this._live();
    const id = this._id(ns, false);
    checkKey(key);
    if (id === 0) return false;
    try {
      return e.delete(id, key);
    } catch (err) {
      if (this._dropped(err, ns)) return Store.prototype.delete.call(this, ns, key);
      throw engineError(err, 'delete');
    }
  }

  clear(ns) {
    const e = this._live();
    return this._nsCall(ns, 0, (id) => e.clear(id), 'clear');
  }

  // Removes namespace `ns`: its entries, its policy and counters, and its id, which a later
  // namespace may reuse (format.md §5, "Dropping"). Returns how many entries it removed, or false
  // when there is no such namespace.
  dropNamespace(ns) {
    const e = this._live();
    const n = this._nsCall(ns, false, (id) => e.dropNamespace(id), 'dropNamespace');
    this._forget(ns);
    return n;
  }

  keys(ns) {
    const e = this._live();
    return this._nsCall(ns, [], (id) => e.keys(id), 'keys');
  }

  entries(ns) {
    const e = this._live();
    return this._nsCall(ns, [], (id) => e.entries(id), 'entries').map(([k, raw, enc]) => [k, decodeValue(raw, enc)]);
  }

  count(ns) {
    const e = this._live();
    if (ns === undefined) return this._call(() => e.count(0), 'count');
    return this._nsCall(ns, 0, (id) => e.count(id), 'count');
  }

  namespaces() {
    const e = this._live();
    return this._call(() => e.namespaces(), 'namespaces').map(([name]) => name);
  }

  getMany(ns, keys) {
    const e = this._live();
    if (!Array.isArray(keys)) throw v.invalidType('keys', 'an array of strings', keys);
    const id = this._id(ns, false);
    for (const k of keys) checkKey(k);
    const values = new Array(keys.length).fill(undefined);
    if (id === 0) return values;
    // One engine call per key: cheaper than one call that walks JS arrays through Node-API.
    const rc = this._rc;
    try {
      for (let i = 0; i < keys.length; i++) {
        if (rc !== null) {
          const hit = rc.get(id, keys[i]);
          if (hit !== undefined) {
            values[i] = hit;
            continue;
          }
          if (rc.looked) rc.before(id);
        }
        const raw = e.get(id, keys[i]);
        if (raw === undefined) continue;
        if (rc !== null && rc.looked) rc.fill(id, keys[i], raw);
        values[i] = decodeValue(raw, this._out[0]);
      }
    } catch (err) {
      if (this._dropped(err, ns)) return Store.prototype.getMany.call(this, ns, keys);
      throw engineError(err, 'getMany');
    }
    return values;
  }

  // Validates and encodes every pair before writing any, so bad input changes nothing. A store
  // that fills up part way leaves the pairs before the failing one written (err.written).
  setMany(ns, entries, opts) {
    const e = this._live();
    checkNsName(ns);
    const pairs = pairsOf(entries);
    // One expiry for every pair, computed once (a ttl counts from this call).
    const expiry = opts === undefined ? cache.EXPIRY_DEFAULT : cache.expiryOf(opts);
    const keys = new Array(pairs.length);
    const payloads = new Array(pairs.length);
    const encs = new Array(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      checkKey(pairs[i][0]);
      keys[i] = pairs[i][0];
      [payloads[i], encs[i]] = encodeValue(pairs[i][1]);
      checkValueLength(payloads[i]);
    }
    if (cache.alreadyExpired(expiry)) {
      for (const k of keys) Store.prototype.delete.call(this, ns, k);
      return keys.length;
    }
    let id = this._id(ns, true);
    for (let i = 0; i < keys.length; i++) {
      try {
        e.set(id, keys[i], payloads[i], encs[i], expiry);
      } catch (err) {
        if (this._dropped(err, ns)) {
          // Dropped part way: the pairs written so far went with it; all go to the new namespace.
          id = this._id(ns, true);
          i = -1;
          continue;
        }
        throw Object.assign(engineError(err, `setMany '${keys[i]}'`), { written: i });
      }
    }
    return keys.length;
  }

  stats() {
    const e = this._live();
    this._flushHits();
    const s = this._call(() => e.stats(), 'stats');
    s.engine = this.engine;
    const rows = this._call(() => e.namespaces(), 'namespaces');
    s.namespaceCounts = Object.fromEntries(rows.map(([n, , c]) => [n, c]));
    s.eviction = cache.POLICY_NAMES[s.policy] || 'none';
    delete s.policy;
    // (id, generation) names the life of the namespace the row was read from (format.md §5): a
    // drop and a new creation of the name change it, and its counters start over at zero.
    s.namespaceStats = Object.fromEntries(rows.map(([n, id, count, policy, ttlMs, hits, misses, evictions, expirations, bytes, generation]) => [n, {
      count, hits, misses, evictions, expirations, bytes,
      eviction: policy === C.POLICY_INHERIT ? s.eviction : cache.POLICY_NAMES[policy],
      ttl: ttlMs === 0 ? Infinity : ttlMs,
      id, generation,
    }]));
    return s;
  }

  // options.progress: an Int32Array (length >= 2, over a SharedArrayBuffer to be read from another
  // thread) that the check keeps at [work done, work in all] while it runs.
  verify(opts) {
    const e = this._live();
    opts = checkOptions(opts, 'options', ['progress']);
    const progress = opts.progress;
    if (progress !== undefined && !(progress instanceof Int32Array && progress.length >= 2)) {
      throw v.invalidType('options.progress', 'an Int32Array of length >= 2', progress);
    }
    return this._call(() => (progress === undefined ? e.verify() : e.verify(progress)), 'verify');
  }

  // Runs a repair pass (format.md §9): normally triggered automatically when a lock holder is
  // gone; callable after verify() reported a problem.
  repair() {
    const e = this._live();
    this._call(() => e.repair(), 'repair');
  }

  // Incremental compaction (format.md §8, "Compaction"): steps that move the live entries of a
  // window of the pool down, into holes or free space below them, and merge the window's free
  // runs, each holding the
  // allocator lock for one window only. options.maxBytes bounds the pool bytes the call's windows
  // cover, options.maxMs its time (checked between steps); without either it sweeps the whole
  // pool once.
  compact(opts) {
    const e = this._live();
    opts = compaction.checkCompactOptions(opts);
    const before = this._call(() => e.stats(), 'compact');
    const t0 = performance.now();
    const r = this._call(() => compaction.runSteps(e, opts, before, () => performance.now()), 'compact');
    const ms = performance.now() - t0;
    const after = this._call(() => e.stats(), 'compact');
    return {
      ms, bytesFree: after.bytesFree, bytesLargestFreeBefore: before.bytesLargestFree,
      bytesLargestFree: after.bytesLargestFree, ...r,
    };
  }

  // A view of namespace `name`. With options, creates the namespace if needed and records its
  // eviction policy and default TTL in the store, where every handle and process sees them.
  namespace(name, opts) {
    const e = this._live();
    checkNsName(name);
    const config = cache.namespaceConfigOf(opts);
    if (config !== null) {
      for (;;) {
        const id = this._id(name, true);
        try {
          e.configureNamespace(id, config[0], config[1]);
          break;
        } catch (err) {
          if (!this._dropped(err, name)) throw engineError(err, `namespace '${name}'`);
        }
      }
    }
    return new NamespaceView(this, name);
  }

  close() {
    if (this._e === null) return;
    this._flushHits();
    if (this._rc !== null) this._rc = null;
    const e = this._e;
    this._e = null;
    flusher.unwatch(this._flushKey);
    e.close();
    releaseBuffer(this._buffer);
    if (this._segment) this._segment.close();
  }
}

// `using store = Store.open(...)` closes the handle at the end of the block. It calls close()
// through the instance, not as a copy of this class's method, so that a subclass's close() (the
// persisted store's: its log and control segment) runs.
if (typeof Symbol.dispose === 'symbol') {
  Store.prototype[Symbol.dispose] = function dispose() {
    this.close();
  };
}

// The periodic flush of the handle's private counters (lib/store/flusher.js): the read cache's
// hits first, then the engine's.
function flushStore(store) {
  if (store._e === null) return;
  store._flushHits();
  store._e.flushCounters();
}

// The validation helpers are shared with the persist room's Store, which extends this class.
// Latency histograms (lib/store/latency.js): enableLatency(), disableLatency(), latencyEnabled,
// latency({ reset }) and Store.mergeLatency(); instrumented methods on one instance only. A closed
// handle cannot enable them.
latency.installLatency(Store, latency, (store) => store._live());

module.exports = { Store, engineError, checkNsName, checkKey, checkValueLength, pairsOf };
