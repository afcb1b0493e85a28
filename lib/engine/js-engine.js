'use strict';
// The pure-JS engine: format v1 (docs/format.md) on any SharedArrayBuffer with typed arrays and
// Atomics, no native code. It exposes the same internal interface as the native binding
// (binding/store.cc) so that lib/store.js drives either one.
const { C, S, STATUS } = require('../layout');
const { xxh32Aligned, LITTLE_ENDIAN } = require('../xxhash');
const { readGeometry, formatStore } = require('./format');
const { Locks, NEED_REPAIR, CORRUPT, subSaturating, corruptError } = require('./locks');
const { allocBlock, freeBlocks, classFor } = require('./alloc');
const maintenance = require('./maintenance');
const scan = require('./scan');
const namespaces = require('./namespaces');

const H = S.HEADER;
const E = S.ENTRY;
const ENTRY_COUNT = H.ENTRY_COUNT >> 2;
const BUCKET_BASE = C.BUCKETS_OFFSET >> 2;
const NS_BASE = C.NAMESPACES_OFFSET >> 2;
const SIZE_UNITS = require('../layout').SIZE_CLASSES;
const MAX_JS_BYTES = 2 ** 32;
const CORRUPT_RETRIES = C.CORRUPT_READ_RETRIES; // why this many: scripts/layout-spec.js
// Hot-path constants as plain module bindings (cheaper to load than frozen-object properties).
const CLASS_SHIFT = C.FLAG_CLASS_SHIFT;
const CLASS_MASK = C.FLAG_CLASS_MASK;
const CLASS_COUNT = C.SIZE_CLASS_COUNT;
const ENC_MASK = C.FLAG_ENCODING_MASK;
const FLAG_FREE = C.FLAG_FREE;
const UNIT = C.UNIT;
const HDR = E.SIZE;

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
  // Formats `buf` as an empty store; returns a status.
  static create(buf, bucketCount, maxEntries) {
    if (buf.byteLength > MAX_JS_BYTES) return STATUS.ERR_SHM_TOO_LARGE;
    return formatStore(buf, bucketCount, maxEntries);
  }

  constructor(buf, pid, tid, lockTimeoutMs, out) {
    const { status, geometry } = readGeometry(buf);
    if (status !== STATUS.OK) throw Object.assign(new Error('open'), { status });
    // The segment may be longer than the store (format.md §3): only the store must fit.
    if (geometry.totalSize > MAX_JS_BYTES || !LITTLE_ENDIAN) {
      throw Object.assign(new Error('open'), { status: STATUS.ERR_SHM_TOO_LARGE });
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
        throw Object.assign(new Error('open'), { status: STATUS.ERR_TOO_MANY_HANDLES });
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

  // Copies the key+value of the entry at byte offset `off` into this.copy, a word at a time
  // (the block is at least that long, rounded up to 4).
  copyOut(off, n) {
    const src = this.u32;
    const dst = this.copy32;
    const w = (off + E.SIZE) >>> 2; // off may be >= 2^31
    const words = (n + 3) >> 2;
    for (let i = 0; i < words; i++) dst[i] = src[w + i];
  }

  // One pass over the chain whose lock word is at `lw`, without the lock. Returns the word
  // index of the matching entry, 0 when there is none, -1 when the chain looked invalid (a race
  // with a writer, or corruption). Links are read with plain loads: aligned 32-bit typed-array
  // accesses do not tear, every index is bounds-checked, and the caller's version check decides
  // whether the pass counts.
  walk(lw, nsId, kl, h) {
    const { u8, u16, u32, kb } = this;
    const first = this.firstUnit;
    const total = this.totalUnits;
    let u = u32[lw - 2];
    for (let steps = 0; u !== 0; steps++) {
      if (u < first || u >= total || steps > this.maxSteps) return -1;
      const w = u * 16;
      if (u32[w + 1] === h && u32[w + 3] === nsId && u16[w * 2 + 4] === kl) {
        const off = w * 4 + HDR;
        let i = 0;
        while (i < kl && u8[off + i] === kb[i]) i++;
        if (i === kl) return w;
      }
      u = u32[w];
    }
    return 0;
  }

  // The lock-free read of format.md §9. Leaves the key+value in this.copy and returns the value
  // length, or -1 on a miss.
  find(nsId, kl, h) {
    const { u16, u32 } = this;
    const lw = BUCKET_BASE + (h & this.mask) * 8 + 2;
    for (let stable = 0; ; ) {
      const v1 = Atomics.load(u32, lw);
      if (v1 & 1) {
        this.waitForWriter(lw, v1);
        continue;
      }
      let w = this.walk(lw, nsId, kl, h);
      let vl = 0;
      let flags = 0;
      let sum = 0;
      if (w > 0) {
        vl = u16[w * 2 + 5];
        flags = u32[w + 6];
        sum = u32[w + 7];
        const cls = (flags >>> CLASS_SHIFT) & CLASS_MASK;
        // Never copy beyond the block (or the store), whatever a racing writer left here.
        if (cls < CLASS_COUNT && (flags & FLAG_FREE) === 0 && HDR + kl + vl <= SIZE_UNITS[cls] * UNIT &&
          w / 16 + SIZE_UNITS[cls] <= this.totalUnits) {
          this.copyOut(w * 4, kl + vl);
        } else {
          w = -1;
        }
      }
      if (Atomics.load(u32, lw) !== v1) continue;
      if (w === 0) return -1;
      // The copy is trusted only if it hashes to the checksum (the JS memory model gives no
      // fence to order the data loads before the version check; format.md §9).
      const enc = flags & ENC_MASK;
      if (w > 0 && xxh32Aligned(this.copy32, this.copy, 0, kl + vl, (h ^ enc) >>> 0) === sum &&
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
    if (kl < 0) return STATUS.ERR_KEY_TOO_LONG;
    // Strings are measured here and encoded straight into the entry by writeEntry.
    const vl = typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength;
    if (vl > C.MAX_VALUE_BYTES) return STATUS.ERR_VALUE_TOO_LONG;
    // As native: an entry of a namespace that is not live would be corrupt (a handle may still
    // know the id of a namespace that a repair pass dropped, format.md §5).
    if (Atomics.load(this.u32, NS_BASE + nsId * 16) !== C.NS_STATE_LIVE) return STATUS.ERR_INVALID_ARG;
    const h = this.keyHash(kl, nsId);
    const cls = classFor(E.SIZE + kl + vl);
    // Read before taking the lock: the clock is not cheap and the lock is shared.
    this.now = Date.now();
    for (let repaired = false; ;) {
      const r = this.setOnce(nsId, kl, h, value, vl, enc, cls);
      if (r !== NEED_REPAIR && r !== CORRUPT) return r;
      repaired = this.recover(r, h, repaired);
    }
  }

  // Walks the chain of the bucket whose lock word is at `lw` (lock held) for the key in this.kb.
  // Returns the index of the word that links to the entry (head or a predecessor's next), -1 when
  // there is none, -2 when the chain is invalid (under the lock that is corruption, not a race: an
  // index out of range, a cycle, a block without a valid class or marked free, an entry that
  // does not fit its block). Freeing such an entry could free a block twice.
  findLink(lw, nsId, kl, h) {
    const { u8, u16, u32, kb } = this;
    const total = this.totalUnits;
    let link = lw - 2;
    let u = u32[link];
    for (let steps = 0; u !== 0; steps++) {
      if (u < this.firstUnit || u >= total || steps > this.maxSteps) return -2;
      const w = u * 16;
      const flags = u32[w + 6];
      const cls = (flags >>> CLASS_SHIFT) & CLASS_MASK;
      if (cls >= CLASS_COUNT || (flags & FLAG_FREE) !== 0 || u + SIZE_UNITS[cls] > total) return -2;
      if (u32[w + 1] === h && u32[w + 3] === nsId && u16[w * 2 + 4] === kl) {
        if (HDR + kl + u16[w * 2 + 5] > SIZE_UNITS[cls] * UNIT) return -2;
        const off = w * 4 + 32;
        let i = 0;
        while (i < kl && u8[off + i] === kb[i]) i++;
        if (i === kl) return link;
      }
      link = w;
      u = u32[w];
    }
    return -1;
  }

  setOnce(nsId, kl, h, src, vl, enc, cls) {
    const u32 = this.u32;
    const b = h & this.mask;
    const lw = BUCKET_BASE + b * 8 + 2;
    if (this.locks.acquire(lw) === NEED_REPAIR) return NEED_REPAIR;
    const link = this.findLink(lw, nsId, kl, h);
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
    const next = old ? u32[old * 16] : u32[lw - 2];
    this.writeEntry(nu, nsId, kl, h, src, vl, enc, cls, next);
    // The one store that publishes the new entry (and unlinks the old one).
    Atomics.store(u32, old ? link : lw - 2, nu);
    let st = 0;
    if (old) {
      this.freeList[0] = old;
      st = freeBlocks(this, this.freeList, 1);
    } else {
      u32[lw - 1]++;
      Atomics.add(u32, NS_BASE + nsId * 16 + 1, 1);
    }
    this.locks.release(lw);
    this.writes++;
    if (st === NEED_REPAIR) maintenance.repair(this); // reclaims the block not freed
    return STATUS.OK;
  }

  writeEntry(u, nsId, kl, h, src, vl, enc, cls, next) {
    const { u8, u16, u32, kb } = this;
    const w = u * 16;
    const off = w * 4;
    u32[w + 1] = h;
    u16[w * 2 + 4] = kl;
    u16[w * 2 + 5] = vl;
    u32[w + 3] = nsId;
    const now = this.now;
    u32[w + 4] = now % 0x100000000;
    u32[w + 5] = Math.floor(now / 0x100000000);
    for (let i = 0; i < kl; i++) u8[off + 32 + i] = kb[i];
    const voff = off + 32 + kl;
    if (typeof src === 'string') {
      if (vl) this.sbuf.utf8Write(src, voff, vl);
    } else if (vl < 64) {
      for (let i = 0; i < vl; i++) u8[voff + i] = src[i];
    } else {
      u8.set(src, voff);
    }
    u32[w + 7] = xxh32Aligned(u32, u8, off + 32, kl + vl, (h ^ enc) >>> 0);
    Atomics.store(u32, w + 6, (enc | (cls << C.FLAG_CLASS_SHIFT)) >>> 0);
    Atomics.store(u32, w, next);
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
    const lw = BUCKET_BASE + (h & this.mask) * 8 + 2;
    if (this.locks.acquire(lw) === NEED_REPAIR) return NEED_REPAIR;
    const link = this.findLink(lw, nsId, kl, h);
    if (link < 0) {
      this.locks.release(lw);
      return link === -2 ? CORRUPT : false;
    }
    const old = u32[link];
    Atomics.store(u32, link, u32[old * 16]);
    if (u32[lw - 1] !== 0) u32[lw - 1]--;
    subSaturating(u32, NS_BASE + nsId * 16 + 1, 1);
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
    return Atomics.load(this.u32, NS_BASE + nsId * 16 + 1);
  }

  // [key, value, encoding] of every entry of `nsId` (scan.js).
  entries(nsId) {
    return scan.entries(this, nsId, true);
  }

  keys(nsId) {
    return scan.entries(this, nsId, false);
  }

  // The id of namespace `name`, 0 when absent (and create is false), or -status.
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
