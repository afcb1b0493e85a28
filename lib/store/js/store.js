'use strict';
// The pure-JS engine: the store format (docs/format.md) on any SharedArrayBuffer with typed
// arrays and Atomics, no native code. JsEngine implements the engine contract of
// lib/store/contract.js, as the native NativeStore does, so that lib/store/store.js drives
// either one; each method hands over to the file that mirrors its native counterpart
// (read.js ↔ src/store/read.cpp, write.js ↔ write.cpp, ...). Mirrors src/store/store.cpp.
const { C, S, STATUS, storeRegions } = require('../../layout/layout');
const { newCounts, newCountGens, nsCurrent, nsCurrentAfterRead } = require('./counts');
const { LITTLE_ENDIAN } = require('../../base/xxhash');
const { storeOwnership } = require('./locks');
const { failure } = require('./failure');
const { readGeometry, formatStore } = require('./format');
const { Chain } = require('./chain');
const read = require('./read');
const write = require('./write');
const remove = require('./remove');
const namespaces = require('./namespaces');
const repairs = require('./repair');
const { verify } = require('./verify');
const { stats, flushCounters, addHits } = require('./stats');
const cache = require('./cache');
const cells = require('./cells');
const { OUT_EXPIRY, OUT_WORDS } = require('../contract');

const OUT_EXPIRY_HI = OUT_EXPIRY + 1;
const { compactStep } = require('./compact');

const MAX_JS_BYTES = 2 ** 32;

// set()'s expiresAt argument, checked as native's GetExpiry: -1 or an integer in [0, 2^53).
function checkExpiresAt(expiresAt) {
  if (typeof expiresAt !== 'number') throw new TypeError('The "expiresAt" argument must be of type number');
  if (expiresAt !== -1 && !(Number.isSafeInteger(expiresAt) && expiresAt >= 0)) {
    throw new RangeError('The "expiresAt" argument must be -1 or an integer in [0, 2^53)');
  }
}

// An offset or length argument of setEncoded: an integer in [0, 2^32), checked (and worded) as
// native's GetUint32.
function checkIndex(v, name) {
  if (typeof v !== 'number') throw new TypeError(`The "${name}" argument must be of type number`);
  if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) {
    throw new RangeError(`The "${name}" argument is out of range`);
  }
}

class JsEngine {
  // Formats `buf` as an empty store.
  static create(buf, bucketCount, maxEntries, policy = C.POLICY_NONE, maxNamespaces = C.DEFAULT_MAX_NAMESPACES) {
    if (buf.byteLength > MAX_JS_BYTES) throw failure(STATUS.ERR_SHM_TOO_LARGE, 'create');
    const status = formatStore(buf, bucketCount, maxEntries, policy, maxNamespaces);
    if (status !== STATUS.OK) throw failure(status, 'create');
  }

  // Attaches to the store in `buf`: validates the header (§3), makes the views and the private
  // scratch buffers, and claims an owner slot (§6).
  constructor(buf, pid, tid, lockTimeoutMs, out) {
    // As native's: an Int32Array over shared memory holding the GetOut words (lib/store/contract.js).
    if (!(out instanceof Int32Array) || out.length < OUT_WORDS) {
      throw new TypeError(`The "out" argument must be an Int32Array of length >= ${OUT_WORDS}`);
    }
    if (!(out.buffer instanceof SharedArrayBuffer)) {
      throw new TypeError('The "out" argument must be an Int32Array over a SharedArrayBuffer');
    }
    const { status, geometry } = readGeometry(buf);
    if (status !== STATUS.OK) throw failure(status, 'open');
    // The segment may be longer than the store (format.md §3): only the store must fit.
    if (geometry.totalSize > MAX_JS_BYTES || !LITTLE_ENDIAN) throw failure(STATUS.ERR_SHM_TOO_LARGE, 'open');
    Object.assign(this, geometry);
    this.buf = buf;
    this.u8 = new Uint8Array(buf, 0, geometry.totalSize);
    // Division, not >>: a store may be up to 4 GiB, beyond the int32 range of shifts.
    this.u16 = new Uint16Array(buf, 0, geometry.totalSize / 2);
    this.u32 = new Uint32Array(buf, 0, geometry.totalSize / 4);
    // The namespace area (format.md §5): ids 1..maxNs; the u32 indices of record 0 of the
    // Namespace and NsPolicy tables and of slot 0 of the name index, the byte offset of name 0.
    const regions = storeRegions(geometry.bucketCount, geometry.maxNamespaces);
    this.maxNs = geometry.maxNamespaces;
    this.nsBase = regions.namespaces / 4;
    this.polBase = regions.policies / 4;
    this.namesOff = regions.names;
    this.nameSize = S.NS_NAME.SIZE;
    this.indexBase = regions.index / 4;
    this.indexMask = regions.indexSlots - 1;
    // The count cells (format.md §5, "Count cells"): cell 0's u32 index, a cell's stride, and
    // this handle's own (set with its owner slot).
    this.cellsBase = regions.cells / 4;
    this.cellWords = regions.cellSize / 4;
    this.cell = this.cellsBase;
    // The namespace policy table's u64 fields (TTL, counters), read and added atomically.
    this.big = new BigUint64Array(buf, regions.policies, ((this.maxNs + 1) * S.NS_POLICY.SIZE) / 8);
    this.nsc = newCounts(this.maxNs);
    // The generation of each namespace id as this handle resolved it (format.md §5, "Dropping").
    this.nsGen = new Uint32Array(this.maxNs + 1);
    // The life (generation) of each id whose counts this.nsc holds (counts.js countLife).
    this.nscGen = newCountGens(this.maxNs);
    // Set by a read that found an entry (read.js): its unit, flags and expiry.
    this.hitUnit = 0;
    this.hitFlags = 0;
    this.hitSum = 0;
    this.hitExpires = 0;
    this.expiry = 0;
    // Evictions by this handle's hand, modulo EVICT_ADVANCE_EVERY (evict.js).
    this.evictions = 0;
    // The allocations of this handle's sets that found no room (write.js makeRoom):
    // stats().allocationMisses.
    this.allocMisses = 0;
    // The entry block the hand's last removal freed (evict.js removeUnit), for a write that joins
    // what it freed (write.js joinRemoved).
    this.removedUnit = 0;
    // The pinned entry at the end of a write's run where the hand stopped (evict.js evictOne), for
    // the write to move below its run (write.js keepOutOfRun).
    this.keptUnit = 0;
    // Whether a write of this handle holds EvictState.roomLease (evict.js takeRoomLease).
    this.leaseHeld = false;
    // Units this handle's automatic compaction steps covered since one last moved or merged
    // anything (write.js, compactFor).
    this.idleUnits = 0;
    // Successful sets since this handle last looked at the fragmentation hint (compact.js).
    this.autoTick = 0;
    this.mask = geometry.bucketCount - 1;
    // The walk bound of §9 (Readers): a chain holds distinct blocks of at least one unit, so no
    // valid walk is longer than the pool either (with maxEntries 2^32 - 1 on a small store, a
    // cycle would otherwise cost 2^32 steps per attempt). The chain cursor tests
    // `steps > maxSteps` before each entry, so a walk meets at most maxSteps + 1 entries, as the
    // native engine's.
    this.maxSteps = Math.min(geometry.maxEntries, geometry.totalUnits - geometry.firstUnit);
    this.out = out;
    // Its identity, the owner table, the lock waiter and the heartbeat of its long passes.
    Object.assign(this, storeOwnership(this.u32, pid, tid, lockTimeoutMs));
    this.chain = new Chain(this);
    // Private scratch: the encoded key (and after it a short string value a set stages, with
    // a view of the rest of kb after each key length it met: write.js stageValue), the encoded
    // value, and the reader's copy of key+value.
    this.kb32 = new Uint32Array(Math.ceil(write.SCRATCH_BYTES / Uint32Array.BYTES_PER_ELEMENT));
    this.kb = new Uint8Array(this.kb32.buffer);
    this.stageViews = new Array(C.MAX_KEY_BYTES + 1).fill(null);
    // setEncoded's last source (a Uint8Array) and a DataView of it (write.js stageBytes).
    this.stageBytes = null;
    this.stageSource = null;
    this.sbuf = Buffer.from(buf, 0, geometry.totalSize);
    this.copy32 = new Uint32Array(Math.ceil((C.MAX_KEY_BYTES + C.MAX_INLINE_VALUE_BYTES + 8) / Uint32Array.BYTES_PER_ELEMENT));
    this.copy = Buffer.from(this.copy32.buffer);
    // The OR of the words of the last copy find() made (read.js): no top bit set, all ASCII.
    this.copyBits = new Uint32Array(1);
    // A reader's copy of a large value (grown on demand, large.js), and its checksum.
    this.large32 = null;
    this.large = null;
    this.largeSum = 0;
    this.freeList = new Uint32Array(64);
    // The last hit of find() (read.js): its unit, flags, checksum (int32 bits) and expiry, also
    // as its two entry words (the low one as int32 bits).
    this.hitUnit = 0;
    this.hitFlags = 0;
    this.hitSum = 0;
    this.hitExpires = 0;
    this.hitExpLo = 0;
    this.hitExpHi = 0;
    // The blocks this handle parked for its next writes (cache.js, format.md §8).
    this.cache = cache.newCache(this.u32);
    // The progress words of a verify() given some (progress.js), else null.
    this.progress = null;
    this.reads = 0;
    this.writes = 0;
    this.closed = false;
    this.watch = 0;
    this._claimSlot();
  }

  // Claims an owner slot (§6); with every slot taken, adopts one whose owner is gone and repairs
  // (the repair takes over the locks that still name the adopted slot and frees the other gone
  // owners' slots).
  _claimSlot() {
    let slot = this.owners.claim(this.identity);
    const adopted = slot === 0;
    if (adopted) slot = this.owners.adopt(this.identity);
    if (slot === 0) throw failure(STATUS.ERR_TOO_MANY_HANDLES, 'open');
    this.locks.setSlot(slot);
    this.heartbeat.slot = slot;
    this.cell = cells.cellOf(this, slot);
    try {
      // A worker stopped by terminate() cannot release the slot: the addon marks it dead then.
      this.watch = this.owners.watch(slot, this.identity);
      if (adopted) repairs.repair(this);
    } catch (err) {
      this._releaseSlot(); // the handle does not exist: its slot must not stay claimed
      throw err;
    }
  }

  _releaseSlot() {
    this.owners.leave(this.locks.slot, this.watch);
    this.watch = 0;
  }

  close() {
    if (this.closed) return;
    flushCounters(this);
    // Parked blocks go back before the slot that names them is released. Blocks left parked (the
    // allocator lock timed out) keep the slot claimed and marked dead instead (as native's Close):
    // a released slot could be claimed by a new handle first, whose repair passes would then keep
    // them as its own; a dead slot is gone for every repair pass, which frees them and the slot.
    cache.returnParked(this, repairs.repair);
    // So do blocks forgotten after a repair pass cut the pool (cache.js, forgetIfCut).
    if (this.cache.units !== 0 || this.cache.orphaned) {
      // Marked dead before its watch ends: a thread terminated between the two then leaves a
      // dead record (its watch's own mark fails on it), not a live one that nothing watches any
      // more, which would keep the slot and its blocks for as long as the process lives.
      const dead = this.owners.markDead(this.locks.slot, this.identity);
      this.owners.unwatch(this.watch);
      this.watch = 0;
      if (dead) {
        this.closed = true;
        return;
      }
    }
    this._releaseSlot();
    this.closed = true;
  }

  // Reads check the namespace after the lookup (format.md §5, "Dropping"): the generation then is
  // the one the handle resolved only if no drop started before the check, so what was found
  // belongs to the namespace the caller named.
  _current(nsId, result, what) {
    if (!nsCurrentAfterRead(this, nsId)) throw failure(STATUS.ERR_NAMESPACE_DROPPED, what);
    return result;
  }

  get(nsId, key) {
    return this._current(nsId, read.get(this, nsId, key), 'get');
  }

  has(nsId, key) {
    return this._current(nsId, read.has(this, nsId, key), 'has');
  }

  set(nsId, key, value, enc, expiresAt = 0) {
    // As native's: write.set takes a number for a key setEncoded staged.
    if (typeof key !== 'string') throw new TypeError('The "key" argument must be of type string');
    checkExpiresAt(expiresAt);
    write.set(this, nsId, key, value, enc, expiresAt);
    this._setDone();
  }

  setEncoded(nsId, bytes, keyAt, keyLength, valueLength, enc, expiresAt = 0) {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('The "bytes" argument must be a Uint8Array');
    checkIndex(keyAt, 'keyAt');
    checkIndex(keyLength, 'keyLength');
    checkIndex(valueLength, 'valueLength');
    if (keyAt + keyLength + valueLength > bytes.length) {
      throw new RangeError('The key and value bytes must lie within "bytes"');
    }
    if (!(enc === C.ENC_BINARY || enc === C.ENC_UTF8 || enc === C.ENC_JSON)) {
      throw new RangeError('The "encoding" argument is out of range');
    }
    checkExpiresAt(expiresAt);
    write.setEncoded(this, nsId, bytes, keyAt, keyLength, valueLength, enc, expiresAt);
    this._setDone();
  }

  // The expiry the entry got (lib/store/contract.js, `out`), as the native engine leaves it.
  _setDone() {
    const exp = this.expiry;
    const lo = exp >>> 0;
    this.out[OUT_EXPIRY] = lo;
    this.out[OUT_EXPIRY_HI] = (exp - lo) / 0x100000000;
  }

  expiresAt(nsId, key) {
    return this._current(nsId, read.expiresAt(this, nsId, key), 'expiresAt');
  }

  configureNamespace(nsId, policy, ttlMs) {
    namespaces.configure(this, nsId, policy, ttlMs);
  }

  delete(nsId, key) {
    return remove.delete(this, nsId, key);
  }

  clear(nsId) {
    const n = nsCurrent(this, nsId) ? remove.clear(this, nsId) : -1;
    if (n < 0) throw failure(STATUS.ERR_NAMESPACE_DROPPED, 'clear');
    return n;
  }

  dropNamespace(nsId) {
    return namespaces.drop(this, nsId);
  }

  count(nsId) {
    if (nsId === 0) return cells.entryCount(this);
    if (!(nsId >= 1 && nsId <= this.maxNs)) return this._current(nsId, 0, 'count');
    return this._current(nsId, cells.nsCount(this, nsId), 'count');
  }

  keys(nsId) {
    return this._current(nsId, read.entries(this, nsId, false), 'keys');
  }

  entries(nsId) {
    return this._current(nsId, read.entries(this, nsId, true), 'entries');
  }

  resolveNamespace(name, create) {
    return namespaces.resolve(this, name, create);
  }

  namespaces() {
    return namespaces.list(this);
  }

  stats() {
    return stats(this);
  }

  flushCounters() {
    flushCounters(this);
  }

  addHits(nsId, hits) {
    addHits(this, nsId, hits);
  }

  verify(progress) {
    if (progress !== undefined && !(progress instanceof Int32Array && progress.length >= 2)) {
      throw Object.assign(new TypeError('The "progress" argument must be an Int32Array of length >= 2'), { code: 'ERR_INVALID_ARG' });
    }
    return verify(this, progress === undefined ? null : progress);
  }

  // One step of the incremental compaction (compact.js): [moved, movedUnits, merged, obstacles,
  // start, end, cursor, done].
  compactStep(maxUnits) {
    return compactStep(this, maxUnits);
  }

  repair() {
    repairs.repair(this);
  }
}

module.exports = { JsEngine };
