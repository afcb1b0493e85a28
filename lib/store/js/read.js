'use strict';
// Reads of the pure-JS engine (docs/format.md §9, "Readers"): get and has without a lock (the
// bucket's lock word is its seqlock, and a copy counts only if it hashes to the entry's
// checksum), and the listing of a namespace, each bucket read consistently. Mirrors
// src/store/read.cpp.
// The module's own binding of Buffer: the global is an accessor of globalThis, which optimized
// code reads through a call each time.
const { Buffer } = require('buffer');
const { C, S, W, H, BASE, AT, UNIT_WORDS, UNIT_HALFS, CLASS_UNITS } = require('../../layout/layout');
const REF = S.INDIRECT_REF;
const { xxh32Aligned, xxh32CopyWords } = require('../../base/xxhash');
const { NEED_REPAIR } = require('./locks');
const { corruptError } = require('./failure');
const chain = require('./chain');
const repairs = require('./repair');
const large = require('./large');

// Called through the module objects (R.walk, chain.copyOut, repairs.repair) so that a test can
// count the walks, copies and repair passes of one read.
const R = module.exports;

const CORRUPT_RETRIES = C.CORRUPT_READ_RETRIES; // why this many: scripts/layout-spec.js
const CLASS_SHIFT = C.FLAG_CLASS_SHIFT;
const CLASS_MASK = C.FLAG_CLASS_MASK;
const CLASS_COUNT = C.SIZE_CLASS_COUNT;
const ENC_MASK = C.FLAG_ENCODING_MASK;
// The flag bits an entry's checksum covers, the encoding and FLAG_INDIRECT (format.md §8).
const SUM_FLAGS = C.ENTRY_SUM_FLAGS;
const FLAG_FREE = C.FLAG_FREE;
const UNIT = C.BLOCK_UNIT;
const HDR = C.ENTRY_HEADER_SIZE; // the key starts right after the entry header
const BUCKET_BASE = BASE.BUCKET;
const BUCKET_WORDS = W.BUCKET.WORDS;
const B_HEAD = W.BUCKET.HEAD;
const B_LOCK = W.BUCKET.LOCK;
const E_NEXT = W.ENTRY.NEXT;
const E_HASH = W.ENTRY.KEY_HASH;
const E_NS = H.ENTRY.NAMESPACE_ID;
const E_FLAGS = W.ENTRY.FLAGS;
const E_SUM = W.ENTRY.CHECKSUM;
const E_EXP = W.ENTRY.EXPIRES_LO;
const E_EXP_HI = H.ENTRY.EXPIRES_HI;
const E_WORDS = W.ENTRY.WORDS;
const FLAG_ACCESSED = C.FLAG_ACCESSED;
const FLAG_INDIRECT = C.FLAG_INDIRECT;
const MARKING = AT.EVICT_STATE.MARKING;
const { NSC_HITS, NSC_MISSES, readAt } = require('./counts');
const E_KEY_LENGTH = H.ENTRY.KEY_LENGTH;
const OUT_UNIT = W.GET_OUT.UNIT;
const OUT_KEY_HASH = W.GET_OUT.KEY_HASH;
const OUT_FLAGS = W.GET_OUT.FLAGS;
const OUT_SUM = W.GET_OUT.CHECKSUM;
const OUT_KEY_LENGTH = W.GET_OUT.KEY_LENGTH;
const OUT_VALUE_LENGTH = W.GET_OUT.VALUE_LENGTH;
const OUT_EXP = W.GET_OUT.EXPIRES_AT;
const OUT_EXP_HI = W.GET_OUT.EXPIRES_AT_HI;
const E_VALUE_LENGTH = H.ENTRY.VALUE_LENGTH;

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

// Encodes `key` into e.kb; returns its length, or -1 when it is too long.
function encodeKey(e, key) {
  return utf8Into(key, e.kb, C.MAX_KEY_BYTES);
}

// XXH32 of the key in e.kb, seeded with the namespace id (§8).
function keyHash(e, kl, nsId) {
  return xxh32Aligned(e.kb32, e.kb, 0, kl, nsId);
}

// The word index of the record of the bucket that hash `h` falls in.
function bucketOf(e, h) {
  return BUCKET_BASE + (h & e.mask) * BUCKET_WORDS;
}

// Whether the key of the entry at unit `u` (kl bytes, its length already compared) is the one in
// e.kb: whole words first (the key starts on a word in the entry and in e.kb), then the 0-3 bytes
// left, as a byte loop would be about twice as long for a 14-byte key.
function sameKey(e, u, kl) {
  const { u8, u32, kb, kb32 } = e;
  const at = u * UNIT_WORDS + E_WORDS;
  const words = kl >>> 2;
  let i = 0;
  while (i < words && u32[at + i] === kb32[i]) i++;
  if (i !== words) return false;
  const off = u * UNIT + HDR;
  for (let j = words * 4; j < kl; j++) if (u8[off + j] !== kb[j]) return false;
  return true;
}

// One pass over the chain of the bucket whose record starts at word `bw`, without the lock.
// Returns the unit of the matching entry, 0 when there is none, -1 when the chain looked
// invalid (a race with a writer, or corruption): every unit is bounds-checked (the pool, and the
// walk bound of §9 as the chain cursor applies it: `steps > maxSteps` before each entry) and the
// caller's version check decides whether the pass counts. The hot read path walks with locals,
// not with e.chain: the cursor made a cache-resident get miss about 10 ns (a tenth) slower.
function walk(e, bw, nsId, kl, h) {
  const { u16, u32 } = e;
  const first = e.firstUnit;
  const total = e.totalUnits;
  const maxSteps = e.maxSteps;
  let u = u32[bw + B_HEAD];
  for (let steps = 0; u !== 0; steps++) {
    if (u < first || u >= total || steps > maxSteps) return -1;
    const w = u * UNIT_WORDS;
    if (u32[w + E_HASH] === h && u16[u * UNIT_HALFS + E_NS] === nsId && u16[u * UNIT_HALFS + E_KEY_LENGTH] === kl && sameKey(e, u, kl)) {
      return u;
    }
    u = u32[w + E_NEXT];
  }
  return 0;
}

// The expiry (epoch ms, 0: none) of an entry from its two words.
function expiryOf(lo, hi) {
  return hi * 0x100000000 + lo;
}

// The lock-free read of format.md §9 for the key in e.kb. Leaves the key+value in e.copy, the
// encoding in e.out[0], the entry's unit, flags, checksum and expiry in e.hitUnit, e.hitFlags,
// e.hitSum and e.hitExpires, and returns the value length, or -1 on a miss.
function find(e, nsId, kl, h) {
  const { u16, u32 } = e;
  const bw = bucketOf(e, h);
  const lw = bw + B_LOCK;
  for (let stable = 0; ;) {
    const v1 = Atomics.load(u32, lw);
    if (v1 & 1) {
      waitForWriter(e, lw, v1);
      continue;
    }
    let u = R.walk(e, bw, nsId, kl, h);
    let vl = 0;
    let flags = 0;
    let sum = 0;
    let expLo = 0;
    let expHi = 0;
    let got = 0;
    if (u > 0) {
      vl = u16[u * UNIT_HALFS + E_VALUE_LENGTH];
      flags = u32[u * UNIT_WORDS + E_FLAGS];
      sum = u32[u * UNIT_WORDS + E_SUM];
      expLo = u32[u * UNIT_WORDS + E_EXP];
      expHi = u16[u * UNIT_HALFS + E_EXP_HI];
      const cls = (flags >>> CLASS_SHIFT) & CLASS_MASK;
      // Never copy beyond the block (or the store), whatever a racing writer left here.
      if (cls < CLASS_COUNT && (flags & FLAG_FREE) === 0 && HDR + kl + vl <= CLASS_UNITS[cls] * UNIT &&
        u + CLASS_UNITS[cls] <= e.totalUnits) {
        // Copied and hashed in one pass: the checksum is of the very bytes in the copy, and of
        // FLAG_INDIRECT, so that a flipped flag never reads a reference as a value or a value as
        // a reference.
        got = xxh32CopyWords(u32, u * UNIT_WORDS + E_WORDS, e.copy32, 0, e.copy, kl + vl, h ^ (flags & SUM_FLAGS), e.copyBits);
        // An indirect entry: its value is copied from the large block too, before the version
        // check (format.md §8, "Large values").
        if ((flags & FLAG_INDIRECT) !== 0) u = copyIndirect(e, u, kl, vl);
      } else {
        u = -1;
      }
    }
    if (Atomics.load(u32, lw) !== v1) continue;
    if (u === 0) return -1;
    // The copy is trusted only if it hashes to the checksum (the JS memory model gives no
    // fence to order the data loads before the version check; format.md §9).
    const enc = flags & ENC_MASK;
    if (u > 0 && got === sum && copyHoldsKey(e, kl) &&
      ((flags & FLAG_INDIRECT) === 0 || large.largeCopyValid(e, e.largeLength, h))) {
      e.out[0] = enc;
      e.hitUnit = u;
      e.hitFlags = flags;
      e.hitSum = sum | 0; // int32 bits: a small integer for V8, never a boxed number
      e.hitExpLo = expLo | 0; // int32 bits too; reportHit() copies both words as they are
      e.hitExpHi = expHi;
      e.hitExpires = expLo === 0 && expHi === 0 ? 0 : expiryOf(expLo, expHi);
      return (flags & FLAG_INDIRECT) === 0 ? vl : e.largeLength;
    }
    badRead(e, ++stable, h & e.mask);
  }
}

// For find(): the entry at `u` (key + reference copied to e.copy) is indirect. Copies its value
// to e.large (e.largeLength bytes) and returns u, or -1 when the reference cannot name a value.
function copyIndirect(e, u, kl, vl) {
  if (vl !== C.INDIRECT_VALUE_BYTES) return -1;
  const c = e.copy;
  const lu = c.readUInt32LE(kl + REF.UNIT);
  const n = c.readUInt32LE(kl + REF.LENGTH);
  if (!large.largeSource(e, lu, n)) return -1;
  large.copyLarge(e, lu, n);
  e.largeLength = n;
  return u;
}

function waitForWriter(e, lw, seen) {
  if (e.locks.waitWhileHeld(lw, seen) === NEED_REPAIR) repairs.repair(e, false);
}

// Failing again and again under an unchanged version is not a race but corruption: repair
// once, then give up with ERR_CORRUPT.
function badRead(e, stable, bucket) {
  if (stable === CORRUPT_RETRIES) repairs.repair(e);
  else if (stable >= 2 * CORRUPT_RETRIES) throw corruptError(bucket);
}

function copyHoldsKey(e, kl) {
  const { copy, kb } = e;
  for (let i = 0; i < kl; i++) if (copy[i] !== kb[i]) return false;
  return true;
}

// After find(): counts the read, hides (and reclaims) an expired entry, marks a hit (format.md
// §8: only when the mark changes, with a CAS from the flags the read validated). Returns whether
// the read is a hit.
function settle(e, nsId, kl, h, vl) {
  const nsc = e.nsc;
  const at = readAt(e, nsId);
  if (vl < 0) {
    nsc[at + NSC_MISSES]++;
    return false;
  }
  if (e.hitExpires !== 0 && e.hitExpires <= Date.now()) {
    nsc[at + NSC_MISSES]++;
    require('./evict').reclaimExpired(e, nsId, kl, h); // evict.js requires this file
    return false;
  }
  nsc[at + NSC_HITS]++;
  const flags = e.hitFlags;
  // `marking` is a hint that may change right after any read of it (a mark set as it ends, or
  // not set as it starts, is harmless): a plain load, as an Atomics.load (a call into a builtin
  // on every hit) would order nothing here. The CAS is what must be atomic.
  if ((flags & FLAG_ACCESSED) === 0 && e.u32[MARKING] !== 0) {
    Atomics.compareExchange(e.u32, e.hitUnit * UNIT_WORDS + E_FLAGS, flags, (flags | FLAG_ACCESSED) >>> 0);
  }
  return true;
}

// A hit of get(): where the entry was and the header words find() validated, in e.out (the
// GetOut words of the contract, for the facade's read cache, format.md §9 "Cached reads").
// The expiry goes as the two words find() read: splitting the number again would take a
// floating-point remainder, a call out of optimized code on every hit.
function reportHit(e, kl, vl, h) {
  const o = e.out;
  o[OUT_UNIT] = e.hitUnit;
  o[OUT_KEY_HASH] = h;
  o[OUT_FLAGS] = e.hitFlags;
  o[OUT_SUM] = e.hitSum;
  o[OUT_KEY_LENGTH] = kl;
  o[OUT_VALUE_LENGTH] = vl;
  o[OUT_EXP] = e.hitExpLo;
  o[OUT_EXP_HI] = e.hitExpHi;
}

function get(e, nsId, key) {
  const kl = encodeKey(e, key);
  if (kl < 0) return undefined;
  e.reads++;
  const h = keyHash(e, kl, nsId);
  const vl = find(e, nsId, kl, h);
  if (!settle(e, nsId, kl, h, vl)) return undefined;
  reportHit(e, kl, vl, h);
  // A large value was copied to e.large (find): decoded from there.
  const src = (e.hitFlags & FLAG_INDIRECT) === 0 ? e.copy : e.large;
  const at = src === e.copy ? kl : 0;
  if (e.out[0] === C.ENC_BINARY) {
    const b = Buffer.allocUnsafe(vl);
    src.copy(b, 0, at, at + vl);
    return b;
  }
  // ASCII text (find copied no byte with its top bit set) is its own Latin-1: no UTF-8 decoding.
  if (src === e.copy && (e.copyBits[0] & 0x80808080) === 0) return src.latin1Slice(at, at + vl);
  return src.utf8Slice(at, at + vl);
}

function has(e, nsId, key) {
  const kl = encodeKey(e, key);
  if (kl < 0) return false;
  e.reads++;
  const h = keyHash(e, kl, nsId);
  return settle(e, nsId, kl, h, find(e, nsId, kl, h));
}

// The expiry of the key's entry (0: none), or -1 when it is absent or expired.
function expiresAt(e, nsId, key) {
  const kl = encodeKey(e, key);
  if (kl < 0) return -1;
  e.reads++;
  const h = keyHash(e, kl, nsId);
  return settle(e, nsId, kl, h, find(e, nsId, kl, h)) ? e.hitExpires : -1;
}

// The entries of `nsId` in the bucket whose record starts at word `bw`, read without the lock:
// pushes them to `found` and returns true, or returns false when the chain looked invalid.
function listBucket(e, bw, nsId, withValues, found, now) {
  const { u16, u32 } = e;
  const c = e.chain;
  for (let u = c.from(bw + B_HEAD); u !== 0; u = c.next()) {
    if (!c.atEntry()) return false;
    const w = u * UNIT_WORDS;
    if (u16[u * UNIT_HALFS + E_NS] !== nsId) continue;
    const expLo = u32[w + E_EXP];
    const expHi = u16[u * UNIT_HALFS + E_EXP_HI];
    if ((expLo !== 0 || expHi !== 0) && expiryOf(expLo, expHi) <= now) continue;
    const kl = chain.keyLengthOf(e, u);
    const vl = chain.valueLengthOf(e, u);
    const flags = u32[w + E_FLAGS];
    // Never copy beyond the block (nor beyond the private copy buffer).
    if (kl > C.MAX_KEY_BYTES || !chain.fitsBlock(flags, kl, vl)) return false;
    const enc = flags & ENC_MASK;
    chain.copyOut(e, u, kl + vl);
    const h = u32[w + E_HASH];
    if (xxh32Aligned(e.copy32, e.copy, 0, kl + vl, (h ^ (flags & SUM_FLAGS)) >>> 0) !== u32[w + E_SUM]) {
      return false;
    }
    const k = e.copy.utf8Slice(0, kl);
    if (!withValues) {
      found.push(k);
      continue;
    }
    let value;
    if ((flags & FLAG_INDIRECT) !== 0) {
      // The large value is copied and checked here; the caller's version check decides.
      if (copyIndirect(e, u, kl, vl) < 0 || !large.largeCopyValid(e, e.largeLength, h)) return false;
      const n = e.largeLength;
      value = enc === C.ENC_BINARY ? Buffer.from(e.large.subarray(0, n)) : e.large.utf8Slice(0, n);
    } else {
      value = enc === C.ENC_BINARY ? Buffer.from(e.copy.subarray(kl, kl + vl)) : e.copy.utf8Slice(kl, kl + vl);
    }
    found.push([k, value, enc]);
  }
  return true;
}

// [key, value, encoding] (or only the key) of every entry of `nsId`. Each bucket is read
// consistently (seqlock); the store as a whole is not a snapshot.
function entries(e, nsId, withValues) {
  const out = [];
  const u32 = e.u32;
  const now = Date.now(); // one instant for the whole listing: expired entries are left out
  for (let b = 0; b <= e.mask; b++) {
    const bw = BUCKET_BASE + b * BUCKET_WORDS;
    const lw = bw + B_LOCK;
    if (Atomics.load(u32, bw + B_HEAD) === 0) continue;
    for (let stable = 0; ;) {
      const v1 = Atomics.load(u32, lw);
      if (v1 & 1) {
        waitForWriter(e, lw, v1);
        continue;
      }
      const found = [];
      const ok = listBucket(e, bw, nsId, withValues, found, now);
      if (Atomics.load(u32, lw) !== v1) continue;
      if (ok) {
        for (const f of found) out.push(f);
        break;
      }
      badRead(e, ++stable, b);
    }
  }
  return out;
}

Object.assign(R, {
  utf8Into, encodeKey, keyHash, bucketOf, walk, sameKey, find, get, has, expiresAt, entries, expiryOf,
});
