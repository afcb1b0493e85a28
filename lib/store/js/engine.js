'use strict';
// The pure-JS engine: format v1 (docs/format.md) on any SharedArrayBuffer with typed arrays and
// Atomics, no native code. It exposes the same internal interface as the native binding
// (binding/store/store.cc) so that lib/store/store.js drives either one.
const { C, W, H, BASE, AT, UNIT_WORDS, UNIT_HALFS, STATUS } = require('../../layout/layout');
const { xxh32Aligned, LITTLE_ENDIAN } = require('../../base/xxhash');
const { readGeometry, formatStore } = require('./format');
const { Locks, NEED_REPAIR, CORRUPT, subSaturating } = require('../../ownership/locks');
const { failure, corruptError } = require('./failure');
const { allocBlock, freeBlocks, classFor } = require('./alloc');
const maintenance = require('./maintenance');
const scan = require('./scan');
const namespaces = require('./namespaces');

const ENTRY_COUNT = AT.HEADER.ENTRY_COUNT;
const SIZE_UNITS = require('../../layout/layout').SIZE_CLASSES;
const MAX_JS_BYTES = 2 ** 32;
const CORRUPT_RETRIES = C.CORRUPT_READ_RETRIES; // why this many: scripts/layout-spec.js
// Hot-path constants as plain module bindings (cheaper to load than frozen-object properties).
const CLASS_SHIFT = C.FLAG_CLASS_SHIFT;
const CLASS_MASK = C.FLAG_CLASS_MASK;
const CLASS_COUNT = C.SIZE_CLASS_COUNT;
const ENC_MASK = C.FLAG_ENCODING_MASK;
const FLAG_FREE = C.FLAG_FREE;
const UNIT = C.UNIT;
const HDR = C.ENTRY_HEADER_SIZE; // the key starts right after the entry header
// Word indices (lib/layout/layout.js): bucket b's record starts at u32 index BUCKET_BASE + b * BUCKET_WORDS;
// the entry at unit u at u32 index u * UNIT_WORDS (u16 index u * UNIT_HALFS, byte u * UNIT).
const BUCKET_BASE = BASE.BUCKET;
const BUCKET_WORDS = W.BUCKET.WORDS;
const B_HEAD = W.BUCKET.HEAD;
const B_COUNT = W.BUCKET.COUNT;
const B_LOCK = W.BUCKET.LOCK;
const E_NEXT = W.ENTRY.NEXT;
const E_HASH = W.ENTRY.KEY_HASH;
const E_NS = W.ENTRY.NAMESPACE_ID;
const E_TIME = W.ENTRY.TIMESTAMP;
const E_TIME_HI = W.ENTRY.TIMESTAMP_HI;
const E_FLAGS = W.ENTRY.FLAGS;
const E_SUM = W.ENTRY.CHECKSUM;
const E_WORDS = W.ENTRY.WORDS;
const E_KEY_LENGTH = H.ENTRY.KEY_LENGTH;
const E_VALUE_LENGTH = H.ENTRY.VALUE_LENGTH;
// Namespace i's count: u32 index NS_COUNT + i * NS_WORDS.
const NS_COUNT = BASE.NAMESPACE + W.NAMESPACE.COUNT;
const NS_WORDS = W.NAMESPACE.WORDS;
const NS_STATE = BASE.NAMESPACE + W.NAMESPACE.STATE;

const encoder = new TextEncoder();

// Writes the UTF-8 bytes of `s` to `out`; returns the length, or -1 when it exceeds `max`.
// `out` must have room for max + 4 bytes.
function utf8Into(s, out, max) {
  const n = s.length;
  if (n <= max) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[i] = c;
    }
    if (i === n) return n;
  }
  const r = encoder.encodeInto(s, out);
  return r.read < n || r.written > max ? -1 : r.written;
}

class JsEngine {
  // Formats `buf` as an empty store.
  static create(buf, bucketCount, maxEntries) {
    if (buf.byteLength > MAX_JS_BYTES) throw failure(STATUS.ERR_SHM_TOO_LARGE, 'create');
    const status = formatStore(buf, bucketCount, maxEntries);
    if (status !== STATUS.OK) throw failure(status, 'create');
  }

  constructor(buf, pid, tid, lockTimeoutMs, out) {
    const { status, geometry } = readGeometry(buf);
    if (status !== STATUS.OK) throw failure(status, 'open');
    // The segment may be longer than the store (format.md §3): only the store must fit.
    if (geometry.totalSize > MAX_JS_BYTES || !LITTLE_ENDIAN) {
      throw failure(STATUS.ERR_SHM_TOO_LARGE, 'open');
    }
    Object.assign(this, geometry);
    this.buf = buf;
    this.u8 = new Uint8Array(buf, 0, geometry.totalSize);
    // Division, not >>: a store may be up to 4 GiB, beyond the int32 range of shifts.
    this.u16 = new Uint16Array(buf, 0, geometry.totalSize / 2);
    this.u32 = new Uint32Array(buf, 0, geometry.totalSize / 4);
    this.mask = geometry.bucketCount - 1;
    // A chain holds distinct blocks of at least one unit, so no valid walk is longer than the pool
    // either: with maxEntries 2^32 - 1 on a small store, a cycle would otherwise cost 2^32 steps
    // per attempt (minutes before a reader gets to its repair pass). The walks test
    // `steps > maxSteps` before each entry, so they meet at most maxSteps + 1 entries, as the
    // native engine (format.md §9, Readers).
    this.maxSteps = Math.min(geometry.maxEntries, geometry.totalUnits - geometry.firstUnit);
    this.out = out;
    this.locks = new Locks(this.u32, pid, tid, lockTimeoutMs);
    // Private scratch: the encoded key, the encoded value, and the reader's copy of key+value.
    this.kb32 = new Uint32Array((C.MAX_KEY_BYTES + 8) >> 2);
    this.kb = new Uint8Array(this.kb32.buffer);
    this.sbuf = Buffer.from(buf, 0, geometry.totalSize);
    this.copy32 = new Uint32Array((C.MAX_KEY_BYTES + C.MAX_VALUE_BYTES + 8) >> 2);
    this.copy = Buffer.from(this.copy32.buffer);
    this.freeList = new Uint32Array(64);
    this.reads = 0;
    this.writes = 0;
    this.now = 0;
    this.closed = false;
    if (!this.locks.claimSlot()) {
      if (!this.locks.adoptDeadSlot()) {
        throw failure(STATUS.ERR_TOO_MANY_HANDLES, 'open');
      }
      try {
        maintenance.repair(this);
      } catch (err) {
        this.locks.releaseSlot(); // the handle does not exist: its slot must not stay claimed
        throw err;
      }
    }
  }

  close() {
    if (this.closed) return;
    maintenance.flushCounters(this);
    this.locks.releaseSlot();
    this.closed = true;
  }

  utf8Into(s, max) {
    return utf8Into(s, this.kb, max);
  }

  // Encodes `key` into this.kb; returns its length or -1 when too long.
  keyLength(key) {
    return utf8Into(key, this.kb, C.MAX_KEY_BYTES);
  }

  keyHash(kl, nsId) {
    return xxh32Aligned(this.kb32, this.kb, 0, kl, nsId);
  }

  // Copies the key+value of the entry at unit `u` into this.copy, a word at a time (the block
  // is at least that long, rounded up to 4).
  copyOut(u, n) {
    const src = this.u32;
    const dst = this.copy32;
    const w = u * UNIT_WORDS + E_WORDS;
    const words = (n + 3) >> 2;
    for (let i = 0; i < words; i++) dst[i] = src[w + i];
  }

  // One pass over the chain of the bucket whose record starts at word `bw`, without the lock.
  // Returns the unit of the matching entry, 0 when there is none, -1 when the chain looked
  // invalid (a race with a writer, or corruption). Links are read with plain loads: aligned
  // 32-bit typed-array accesses do not tear, every index is bounds-checked, and the caller's
  // version check decides whether the pass counts.
  walk(bw, nsId, kl, h) {
    const { u8, u16, u32, kb } = this;
    const first = this.firstUnit;
    const total = this.totalUnits;
    let u = u32[bw + B_HEAD];
    for (let steps = 0; u !== 0; steps++) {
      if (u < first || u >= total || steps > this.maxSteps) return -1;
      const w = u * UNIT_WORDS;
      if (u32[w + E_HASH] === h && u32[w + E_NS] === nsId && u16[u * UNIT_HALFS + E_KEY_LENGTH] === kl) {
        const off = u * UNIT + HDR;
        let i = 0;
        while (i < kl && u8[off + i] === kb[i]) i++;
        if (i === kl) return u;
      }
      u = u32[w + E_NEXT];
    }
    return 0;
  }

  // The lock-free read of format.md §9. Leaves the key+value in this.copy and returns the value
  // length, or -1 on a miss.
  find(nsId, kl, h) {
    const { u16, u32 } = this;
    const bw = BUCKET_BASE + (h & this.mask) * BUCKET_WORDS;
    const lw = bw + B_LOCK;
    for (let stable = 0; ; ) {
      const v1 = Atomics.load(u32, lw);
      if (v1 & 1) {
        this.waitForWriter(lw, v1);
        continue;
      }
      let u = this.walk(bw, nsId, kl, h);
      let vl = 0;
      let flags = 0;
      let sum = 0;
      if (u > 0) {
        const w = u * UNIT_WORDS;
        vl = u16[u * UNIT_HALFS + E_VALUE_LENGTH];
        flags = u32[w + E_FLAGS];
        sum = u32[w + E_SUM];
        const cls = (flags >>> CLASS_SHIFT) & CLASS_MASK;
        // Never copy beyond the block (or the store), whatever a racing writer left here.
        if (cls < CLASS_COUNT && (flags & FLAG_FREE) === 0 && HDR + kl + vl <= SIZE_UNITS[cls] * UNIT &&
          u + SIZE_UNITS[cls] <= this.totalUnits) {
          this.copyOut(u, kl + vl);
        } else {
          u = -1;
        }
      }
      if (Atomics.load(u32, lw) !== v1) continue;
      if (u === 0) return -1;
      // The copy is trusted only if it hashes to the checksum (the JS memory model gives no
      // fence to order the data loads before the version check; format.md §9).
      const enc = flags & ENC_MASK;
      if (u > 0 && xxh32Aligned(this.copy32, this.copy, 0, kl + vl, (h ^ enc) >>> 0) === sum &&
        this.copyHoldsKey(kl)) {
        this.out[0] = enc;
        return vl;
      }
      this.badRead(++stable, h);
    }
  }

  waitForWriter(lw, seen) {
    if (this.locks.waitWhileHeld(lw, seen) === NEED_REPAIR) maintenance.repair(this, false);
  }

  // Failing again and again under an unchanged version is not a race but corruption: repair
  // once, then give up with ERR_CORRUPT.
  badRead(stable, h) {
    if (stable === CORRUPT_RETRIES) maintenance.repair(this);
    else if (stable >= 2 * CORRUPT_RETRIES) throw corruptError(h & this.mask);
  }

  copyHoldsKey(kl) {
    const { copy, kb } = this;
    for (let i = 0; i < kl; i++) if (copy[i] !== kb[i]) return false;
    return true;
  }

  get(nsId, key) {
    const kl = this.keyLength(key);
    if (kl < 0) return undefined;
    this.reads++;
    const vl = this.find(nsId, kl, this.keyHash(kl, nsId));
    if (vl < 0) return undefined;
    if (this.out[0] === C.ENC_BINARY) {
      const b = Buffer.allocUnsafe(vl);
      this.copy.copy(b, 0, kl, kl + vl);
      return b;
    }
    return this.copy.utf8Slice(kl, kl + vl);
  }

  has(nsId, key) {
    const kl = this.keyLength(key);
    if (kl < 0) return false;
    this.reads++;
    return this.find(nsId, kl, this.keyHash(kl, nsId)) >= 0;
  }

  set(nsId, key, value, enc) {
    const kl = this.keyLength(key);
    if (kl < 0) throw failure(STATUS.ERR_KEY_TOO_LONG, 'set');
    // Strings are measured here and encoded straight into the entry by writeEntry.
    const vl = typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength;
    if (vl > C.MAX_VALUE_BYTES) throw failure(STATUS.ERR_VALUE_TOO_LONG, 'set');
    // As native: an entry of a namespace that is not live would be corrupt (a handle may still
    // know the id of a namespace that a repair pass dropped, format.md §5).
    if (Atomics.load(this.u32, NS_STATE + nsId * NS_WORDS) !== C.NS_STATE_LIVE) {
      throw failure(STATUS.ERR_INVALID_ARG, 'set');
    }
    const h = this.keyHash(kl, nsId);
    const cls = classFor(HDR + kl + vl);
    // Read before taking the lock: the clock is not cheap and the lock is shared.
    this.now = Date.now();
    for (let repaired = false; ;) {
      const r = this.setOnce(nsId, kl, h, value, vl, enc, cls);
      if (r === STATUS.OK) return;
      if (r !== NEED_REPAIR && r !== CORRUPT) throw failure(r, 'set');
      repaired = this.recover(r, h, repaired);
    }
  }

  // Walks the chain of the bucket whose record starts at word `bw` (lock held) for the key in
  // this.kb. Returns the index of the word that links to the entry (head or a predecessor's next),
  // -1 when there is none, -2 when the chain is invalid (under the lock that is corruption, not a
  // race: an index out of range, a cycle, a block without a valid class or marked free, an entry
  // that does not fit its block). Freeing such an entry could free a block twice.
  findLink(bw, nsId, kl, h) {
    const { u8, u16, u32, kb } = this;
    const total = this.totalUnits;
    let link = bw + B_HEAD;
    let u = u32[link];
    for (let steps = 0; u !== 0; steps++) {
      if (u < this.firstUnit || u >= total || steps > this.maxSteps) return -2;
      const w = u * UNIT_WORDS;
      const flags = u32[w + E_FLAGS];
      const cls = (flags >>> CLASS_SHIFT) & CLASS_MASK;
      if (cls >= CLASS_COUNT || (flags & FLAG_FREE) !== 0 || u + SIZE_UNITS[cls] > total) return -2;
      if (u32[w + E_HASH] === h && u32[w + E_NS] === nsId && u16[u * UNIT_HALFS + E_KEY_LENGTH] === kl) {
        if (HDR + kl + u16[u * UNIT_HALFS + E_VALUE_LENGTH] > SIZE_UNITS[cls] * UNIT) return -2;
        const off = u * UNIT + HDR;
        let i = 0;
        while (i < kl && u8[off + i] === kb[i]) i++;
        if (i === kl) return link;
      }
      link = w + E_NEXT;
      u = u32[link];
    }
    return -1;
  }

  setOnce(nsId, kl, h, src, vl, enc, cls) {
    const u32 = this.u32;
    const bw = BUCKET_BASE + (h & this.mask) * BUCKET_WORDS;
    const lw = bw + B_LOCK;
    if (this.locks.acquire(lw) === NEED_REPAIR) return NEED_REPAIR;
    const link = this.findLink(bw, nsId, kl, h);
    if (link === -2) {
      this.locks.release(lw);
      return CORRUPT; // a chain that is invalid under its lock: only repair can mend it
    }
    const old = link >= 0 ? u32[link] : 0;
    if (!old && Atomics.add(u32, ENTRY_COUNT, 1) >= this.maxEntries) {
      Atomics.sub(u32, ENTRY_COUNT, 1);
      this.locks.release(lw);
      return STATUS.ERR_STORE_FULL;
    }
    let nu;
    try {
      nu = allocBlock(this, cls);
    } catch (err) {
      nu = err; // a lock timeout: the bucket lock must not stay held
    }
    if (typeof nu !== 'number' || nu <= 0) {
      if (!old) Atomics.sub(u32, ENTRY_COUNT, 1);
      this.locks.release(lw);
      if (typeof nu !== 'number') throw nu;
      return nu === 0 ? STATUS.ERR_STORE_FULL : nu;
    }
    const next = old ? u32[old * UNIT_WORDS + E_NEXT] : u32[bw + B_HEAD];
    this.writeEntry(nu, nsId, kl, h, src, vl, enc, cls, next);
    // The one store that publishes the new entry (and unlinks the old one).
    Atomics.store(u32, old ? link : bw + B_HEAD, nu);
    let st = 0;
    if (old) {
      this.freeList[0] = old;
      st = freeBlocks(this, this.freeList, 1);
    } else {
      u32[bw + B_COUNT]++;
      Atomics.add(u32, NS_COUNT + nsId * NS_WORDS, 1);
    }
    this.locks.release(lw);
    this.writes++;
    if (st === NEED_REPAIR) maintenance.repair(this); // reclaims the block not freed
    return STATUS.OK;
  }

  writeEntry(u, nsId, kl, h, src, vl, enc, cls, next) {
    const { u8, u16, u32, kb } = this;
    const w = u * UNIT_WORDS;
    const hw = u * UNIT_HALFS;
    const koff = u * UNIT + HDR;
    u32[w + E_HASH] = h;
    u16[hw + E_KEY_LENGTH] = kl;
    u16[hw + E_VALUE_LENGTH] = vl;
    u32[w + E_NS] = nsId;
    const now = this.now;
    u32[w + E_TIME] = now % 0x100000000;
    u32[w + E_TIME_HI] = Math.floor(now / 0x100000000);
    for (let i = 0; i < kl; i++) u8[koff + i] = kb[i];
    const voff = koff + kl;
    if (typeof src === 'string') {
      if (vl) this.sbuf.utf8Write(src, voff, vl);
    } else if (vl < 64) {
      for (let i = 0; i < vl; i++) u8[voff + i] = src[i];
    } else {
      u8.set(src, voff);
    }
    u32[w + E_SUM] = xxh32Aligned(u32, u8, koff, kl + vl, (h ^ enc) >>> 0);
    Atomics.store(u32, w + E_FLAGS, (enc | (cls << C.FLAG_CLASS_SHIFT)) >>> 0);
    Atomics.store(u32, w + E_NEXT, next);
  }

  // After a write attempt that could not finish: runs the repair pass it needs and returns
  // whether a pass for corruption has now run (a second one means the chain cannot be mended).
  recover(r, h, repaired) {
    if (r === NEED_REPAIR) {
      maintenance.repair(this, false);
      return repaired;
    }
    if (repaired) throw corruptError(h & this.mask);
    maintenance.repair(this);
    return true;
  }

  delete(nsId, key) {
    const kl = this.keyLength(key);
    if (kl < 0) return false;
    const h = this.keyHash(kl, nsId);
    for (let repaired = false; ;) {
      const r = this.deleteOnce(nsId, kl, h);
      if (r !== NEED_REPAIR && r !== CORRUPT) return r;
      repaired = this.recover(r, h, repaired);
    }
  }

  deleteOnce(nsId, kl, h) {
    const u32 = this.u32;
    const bw = BUCKET_BASE + (h & this.mask) * BUCKET_WORDS;
    const lw = bw + B_LOCK;
    if (this.locks.acquire(lw) === NEED_REPAIR) return NEED_REPAIR;
    const link = this.findLink(bw, nsId, kl, h);
    if (link < 0) {
      this.locks.release(lw);
      return link === -2 ? CORRUPT : false;
    }
    const old = u32[link];
    Atomics.store(u32, link, u32[old * UNIT_WORDS + E_NEXT]);
    if (u32[bw + B_COUNT] !== 0) u32[bw + B_COUNT]--;
    subSaturating(u32, NS_COUNT + nsId * NS_WORDS, 1);
    subSaturating(u32, ENTRY_COUNT, 1);
    this.freeList[0] = old;
    const st = freeBlocks(this, this.freeList, 1);
    this.locks.release(lw);
    this.writes++;
    if (st === NEED_REPAIR) maintenance.repair(this);
    return true;
  }

  // Removes every entry of `nsId`, bucket by bucket. Returns how many were removed.
  clear(nsId) {
    return scan.clear(this, nsId);
  }

  count(nsId) {
    if (nsId === 0) return Atomics.load(this.u32, ENTRY_COUNT);
    return Atomics.load(this.u32, NS_COUNT + nsId * NS_WORDS);
  }

  // [key, value, encoding] of every entry of `nsId` (scan.js).
  entries(nsId) {
    return scan.entries(this, nsId, true);
  }

  keys(nsId) {
    return scan.entries(this, nsId, false);
  }

  // The id of namespace `name`, 0 when absent (and create is false).
  resolveNamespace(name, create) {
    return namespaces.resolve(this, name, create);
  }

  namespaces() {
    return namespaces.list(this);
  }

  stats() {
    return maintenance.stats(this);
  }

  verify() {
    return maintenance.verify(this);
  }

  repair() {
    maintenance.repair(this);
  }
}

module.exports = { JsEngine, utf8Into };
