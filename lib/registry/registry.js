'use strict';
// Registry: a table of named structures (mutexes, stores, byte blocks, ...) in one segment (by
// name or path) or one SharedArrayBuffer (threads of one process), docs/format.md §14. Processes
// find a structure by name and get a handle on it; creation by name is atomic across processes.
//
// Every operation holds the table lock, a Mutex (format.md §13) in the registry's own bytes, from
// its first read of the table to its last write: names are unique because lookup and creation
// happen under one lock, and an operation never sees another half done. A holder that dies
// (kill -9, a terminated worker with the addon) is recognised by the Mutex's gone rule; the next
// holder is told recovered: true and runs the repair pass (repair.js), which rolls back a
// create or finishes a delete that died halfway and rebuilds the free space from the table.
const { threadId } = require('worker_threads');
const { C } = require('../layout/layout');
const { ShmError } = require('../base/errors');
const v = require('../base/validate');
const { identityOf } = require('../ownership/owners');
const { Mutex } = require('../sync/mutex');
const { Table, STATE, nameHash } = require('./table');
const { placeNew, placeExisting } = require('./place');
const { Space, SpaceDamaged } = require('./space');
const { repair } = require('./repair');
const { KINDS, kindOf } = require('./kinds');

const kInternal = Symbol('shmstore.Registry.internal');

/** The UTF-8 bytes of a structure name: 1..64 bytes, no NUL, no lone surrogate. */
function nameBytes(name) {
  if (typeof name !== 'string') throw v.invalidType('name', 'of type string', name);
  if (name.includes('\0')) throw v.rangeError('The "name" argument must not contain NUL characters');
  if (!name.isWellFormed()) throw v.rangeError('The "name" argument must be well-formed UTF-16 (no lone surrogates)');
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length < 1 || bytes.length > C.REGISTRY_MAX_NAME_BYTES) {
    throw v.rangeError(`The "name" argument must be 1 to ${C.REGISTRY_MAX_NAME_BYTES} UTF-8 bytes. Received ${bytes.length} bytes`);
  }
  return bytes;
}

// The options of a structure: creation options (when the call may create) and handle options.
// open() takes no creation option (the structure has the shape it was made with), and says so
// for one given to it rather than listing only the handle options (often none).
function kindOptions(kind, name, options, creating) {
  if (options === undefined) options = {};
  v.validateObject(options, 'options');
  if (!creating) {
    const key = Object.keys(options).find((k) => kind.createOptions.includes(k) && !kind.openOptions.includes(k));
    if (key !== undefined) {
      const handle = kind.openOptions.length ? `; its handle options: ${kind.openOptions.join(', ')}` : '';
      throw v.typeError(`Option "options.${key}" is a creation option of the ${JSON.stringify(name)} kind: ` +
        `open() takes none (use create() or openOrCreate())${handle}`);
    }
  }
  v.validateKeys(options, 'options', creating ? [...kind.createOptions, ...kind.openOptions] : kind.openOptions);
  if (creating) kind.check(options);
  return options;
}

// The creation options list() shows for a structure: its kind's describe(), which some kinds
// read from the structure's own header (a memory pool's class table). Damage there is the
// structure's, reported by its open (ERR_CORRUPT, ERR_BAD_MAGIC, ...): it must not take the list
// of every other structure with it, so such a structure is listed without options, as one of a
// kind or version this shmstore does not know.
function optionsOf(k, at, info) {
  try {
    return k.describe(at, info);
  } catch (e) {
    if (e instanceof ShmError) return {};
    throw e;
  }
}

// How the registry releases a handle of kind `k` that it returned, and whether it was released
// already: close() and `closed`, or the kind's own (a channel's close() closes the channel for
// every party, and its `closed` says so: its handle is released by dispose()).
function release(k, h) {
  if (k.release) k.release(h);
  else h.close();
}

function released(k, h) {
  return k.released ? k.released(h) : h.closed === true;
}

function notFound(name) {
  return new ShmError('ERR_NOT_FOUND', `No structure named ${JSON.stringify(name)} in the registry`);
}

class Registry {
  #buffer;
  #segment;
  #table;
  #space;
  #lock;
  #timeoutMs;
  #self = null;
  #handles = new Map(); // the handles it returned, to their kinds
  #closed = false;

  /** @private Use Registry.create() or Registry.open(). */
  constructor(token, where) {
    if (token !== kInternal) throw new TypeError('Registry cannot be constructed directly: use Registry.create() or Registry.open()');
    this.#buffer = where.buffer;
    this.#segment = where.segment;
    this.#timeoutMs = where.timeoutMs;
    this.#table = new Table(where.buffer, where.geometry);
    this.#space = new Space(this.#table);
    try {
      this.#lock = where.lock || Mutex.open({ buffer: where.buffer, byteOffset: C.REGISTRY_LOCK_OFFSET });
    } catch (e) {
      if (this.#segment) this.#segment.close();
      throw e;
    }
  }

  /** Creates a registry: a new segment (exclusive), or the bytes of a SharedArrayBuffer. */
  static create(options) {
    const where = placeNew(options);
    try {
      return new Registry(kInternal, where);
    } catch (e) {
      if (where.segment) {
        where.segment.unlink();
        where.segment.close();
      }
      throw e;
    }
  }

  /** Opens an existing registry: { name | path | buffer, timeoutMs? }. */
  static open(options) {
    return new Registry(kInternal, placeExisting(options));
  }

  /** Creates the structure `name` of `kind` and returns a handle on it (ERR_EXISTS if the name is taken). */
  create(kind, name, options) {
    const k = kindOf(kind);
    const bytes = nameBytes(name);
    const opts = kindOptions(k, kind, options, true);
    return this.#locked(() => {
      if (this.#table.find(bytes, nameHash(bytes)) >= 0) {
        throw new ShmError('ERR_EXISTS', `A structure named ${JSON.stringify(name)} already exists in the registry`);
      }
      return this.#create(k, kind, bytes, opts);
    });
  }

  /** Opens the structure `name`, which must be of `kind` (ERR_NOT_FOUND, ERR_KIND_MISMATCH). */
  open(kind, name, options) {
    const k = kindOf(kind);
    const bytes = nameBytes(name);
    const opts = kindOptions(k, kind, options, false);
    return this.#locked(() => {
      const slot = this.#find(bytes);
      if (slot < 0) throw notFound(name);
      return this.#open(k, kind, name, slot, opts);
    });
  }

  /** Opens the structure `name` of `kind` if it exists, else creates it: either way one structure. */
  openOrCreate(kind, name, options) {
    const k = kindOf(kind);
    const bytes = nameBytes(name);
    const opts = kindOptions(k, kind, options, true);
    return this.#locked(() => {
      const slot = this.#find(bytes);
      if (slot >= 0) return this.#open(k, kind, name, slot, opts);
      return this.#create(k, kind, bytes, opts);
    });
  }

  /** Deletes the structure `name` and frees its space (ERR_NOT_FOUND; ERR_IN_USE while handles are open). */
  delete(name) {
    const bytes = nameBytes(name);
    this.#locked(() => {
      const table = this.#table;
      const slot = this.#find(bytes);
      if (slot < 0) throw notFound(name);
      const info = table.read(slot);
      if (!Object.hasOwn(KINDS, info.kind)) {
        throw new ShmError('ERR_KIND_MISMATCH', `${JSON.stringify(name)} is of kind '${info.kind}', which this version of shmstore does not know`);
      }
      const k = KINDS[info.kind];
      // Its bytes are read only as a version whose in-use check and release this shmstore knows
      // (format.md §14): its own, or an earlier one it can still delete (deletableVersions), so
      // that an entry made by an older shmstore can be removed after an upgrade.
      const deletable = k.deletableVersions ?? [k.version];
      if (!deletable.includes(info.version)) {
        throw new ShmError('ERR_BAD_VERSION',
          `${JSON.stringify(name)} (${info.kind}) has format version ${info.version}; this shmstore deletes version${deletable.length > 1 ? 's' : ''} ${deletable.join(', ')}`);
      }
      const at = table.block(info);
      if (k.inUse && k.inUse(at, info, this.#identity())) {
        throw new ShmError('ERR_IN_USE', `${JSON.stringify(name)} is open in a live thread or process: close its handles first`);
      }
      table.set(slot, 'STATE', STATE.DELETING);
      if (k.discard) {
        try {
          k.discard(at, info);
        } catch (e) {
          table.set(slot, 'STATE', STATE.LIVE); // nothing was released: the entry stays as it was
          throw e;
        }
      }
      try {
        this.#space.free(info.unit, info.units);
        table.clear(slot);
      } catch (e) {
        if (!(e instanceof SpaceDamaged)) throw e;
        this.#repair(); // finishes the delete (the entry is DELETING) and rebuilds the free list
      }
      table.bump('CHANGES');
    });
  }

  /** The live structures: [{ name, kind, version, byteOffset, byteLength, options }], by name. */
  list() {
    return this.#locked(() => {
      const table = this.#table;
      // A live entry whose block lies outside the data area is damage, which the repair pass
      // clears: first, so that every entry listed below is sound.
      for (let slot = 0; slot < table.maxEntries; slot++) {
        if (table.state(slot) === STATE.LIVE && !table.blockInside(table.read(slot))) {
          this.#repair();
          break;
        }
      }
      const out = [];
      for (let slot = 0; slot < table.maxEntries; slot++) {
        if (table.state(slot) !== STATE.LIVE) continue;
        const info = table.read(slot);
        const at = table.block(info);
        const k = Object.hasOwn(KINDS, info.kind) ? KINDS[info.kind] : null;
        out.push({
          name: info.nameBytes.toString('utf8'),
          kind: info.kind,
          version: info.version,
          byteOffset: at.byteOffset,
          byteLength: at.byteLength,
          options: k && k.version === info.version ? optionsOf(k, at, info) : {},
        });
      }
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  /** { entries, maxEntries, bytes, freeBytes, largestFreeBytes, freeBlocks, repairs, changes }. */
  stats() {
    return this.#locked(() => {
      const table = this.#table;
      let entries = 0;
      for (let slot = 0; slot < table.maxEntries; slot++) if (table.state(slot) === STATE.LIVE) entries++;
      const usage = this.#withSpace(() => this.#space.usage());
      return {
        entries,
        maxEntries: table.maxEntries,
        bytes: (table.endUnit - table.dataUnit) * C.UNIT,
        freeBytes: usage.freeUnits * C.UNIT,
        largestFreeBytes: usage.largestFreeUnits * C.UNIT,
        freeBlocks: usage.freeBlocks,
        repairs: table.header('REPAIRS'),
        changes: table.header('CHANGES'),
      };
    });
  }

  /** The SharedArrayBuffer of the registry (the segment's, or the one given). */
  get buffer() {
    this.#usable();
    return this.#buffer;
  }

  /** The segment's shared memory name, or null. */
  get name() {
    return this.#segment ? this.#segment.name : null;
  }

  /** The segment's absolute file path, or null. */
  get path() {
    return this.#segment ? this.#segment.path : null;
  }

  get maxEntries() {
    return this.#table.maxEntries;
  }

  get closed() {
    return this.#closed;
  }

  /**
   * Releases every handle this registry returned that is still open, then closes the table
   * lock's handle and the segment. Idempotent.
   */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    for (const [h, k] of this.#handles) {
      try {
        release(k, h);
      } catch {
        // a handle that cannot close (already closed elsewhere) keeps nothing of ours
      }
    }
    this.#handles.clear();
    this.#lock.close();
    if (this.#segment) this.#segment.close();
  }

  #usable() {
    if (this.#closed) throw new ShmError('ERR_CLOSED', 'The registry is closed');
  }

  #identity() {
    if (this.#self === null) this.#self = identityOf(process.pid, threadId);
    return this.#self;
  }

  // Runs fn() holding the table lock, after the repair pass if the last holder was gone.
  #locked(fn) {
    this.#usable();
    let got;
    try {
      got = this.#lock.lock(this.#timeoutMs);
    } catch (e) {
      if (e.code !== 'ERR_LOCK_TIMEOUT') throw e;
      throw new ShmError('ERR_LOCK_TIMEOUT', `The registry's table lock was not acquired within ${this.#timeoutMs} ms`, { cause: e });
    }
    try {
      if (got.recovered) this.#repair();
      return fn();
    } finally {
      this.#lock.unlock();
    }
  }

  #repair() {
    repair(this.#table, this.#space, KINDS);
  }

  // fn() over the free list; damage found on the way is repaired and fn() runs once more.
  #withSpace(fn) {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof SpaceDamaged)) throw e;
      this.#repair();
      return fn();
    }
  }

  #create(k, kindName, bytes, options) {
    // A kind that needs the registry's segment (a store names its own after it) is refused in a
    // SharedArrayBuffer before the table is looked at for room (a name taken, or an entry of
    // another kind under it, is said first).
    if (k.noSegment !== undefined && this.#segment === null) throw k.noSegment();
    const table = this.#table;
    const slot = table.freeSlot();
    if (slot < 0) throw new ShmError('ERR_REGISTRY_FULL', `The registry's table is full (${table.maxEntries} entries)`);
    const generation = (table.get(slot, 'GENERATION') + 1) >>> 0;
    const segment = this.#segment;
    const ctx = { name: segment ? segment.name : null, path: segment ? segment.path : null,
      buffer: segment ? null : this.#buffer, nonce: table.nonce, slot, generation };
    const units = Math.max(1, Math.ceil(k.bytes(options, ctx) / C.UNIT));
    const unit = this.#withSpace(() => this.#space.alloc(units));
    if (unit === 0) {
      const { largestFreeUnits } = this.#withSpace(() => this.#space.usage());
      throw new ShmError('ERR_REGISTRY_FULL',
        `No space for ${units * C.UNIT} bytes in the registry (the largest free block has ${largestFreeUnits * C.UNIT})`);
    }
    const at = { buffer: this.#buffer, byteOffset: unit * C.UNIT, byteLength: units * C.UNIT };
    new Uint8Array(at.buffer, at.byteOffset, at.byteLength).fill(0);
    table.write(slot, { generation, nameBytes: bytes, hash: nameHash(bytes), kind: kindName, version: k.version,
      params: k.params(options), unit, units });
    let handle;
    try {
      handle = k.init(at, options, ctx);
    } catch (e) {
      this.#rollback(k, slot);
      throw e;
    }
    table.set(slot, 'STATE', STATE.LIVE);
    table.bump('CHANGES');
    return this.#track(k, handle);
  }

  // Undoes a create whose init failed: its entry is CREATING, its block allocated.
  #rollback(k, slot) {
    const info = this.#table.read(slot);
    try {
      if (k.discard) k.discard(this.#table.block(info), info);
      this.#space.free(info.unit, info.units);
      this.#table.clear(slot);
    } catch {
      this.#repair();
    }
  }

  #open(k, kindName, name, slot, options) {
    const info = this.#table.read(slot);
    if (info.kind !== kindName) {
      throw new ShmError('ERR_KIND_MISMATCH', `${JSON.stringify(name)} is a ${info.kind}, not a ${kindName}`);
    }
    if (info.version !== k.version) {
      const upgrade = (k.deletableVersions ?? []).includes(info.version)
        ? ` (made by an earlier shmstore: delete it and create it again)` : '';
      throw new ShmError('ERR_BAD_VERSION',
        `${JSON.stringify(name)} (${kindName}) has format version ${info.version}; this shmstore reads version ${k.version}${upgrade}`);
    }
    return this.#track(k, k.open(this.#table.block(info), info, options));
  }

  // The slot of the live entry named `bytes`, or -1. One whose block lies outside the data area
  // is damage, which the repair pass clears (format.md §14, "Repair"): it runs, and the name is
  // then not found (ERR_NOT_FOUND from open and delete, a new structure from openOrCreate),
  // instead of a RangeError of every later call on it.
  #find(bytes) {
    const slot = this.#table.find(bytes, nameHash(bytes));
    if (slot < 0 || this.#table.blockInside(this.#table.read(slot))) return slot;
    this.#repair();
    return -1;
  }

  // Records a handle of kind `k` for close(), forgetting those released meanwhile. Runs after the
  // structure is made or opened: nothing here may throw (a handle whose state cannot be read is
  // forgotten), or a create that succeeded would report a failure and lose its handle.
  #track(k, handle) {
    if (handle === null || typeof handle !== 'object' || (!k.release && typeof handle.close !== 'function')) return handle;
    for (const [h, hk] of this.#handles) {
      let gone;
      try {
        gone = released(hk, h);
      } catch {
        gone = true;
      }
      if (gone) this.#handles.delete(h);
    }
    this.#handles.set(handle, k);
    return handle;
  }
}

if (typeof Symbol.dispose === 'symbol') Registry.prototype[Symbol.dispose] = Registry.prototype.close;

module.exports = { Registry };
