'use strict';
// Whole-namespace operations of the pure-JS engine: listing (each bucket read consistently
// under its seqlock, the store as a whole not a snapshot) and clearing (bucket by bucket, under
// each bucket's lock).
const { C, W, H, BASE, AT, UNIT_WORDS, UNIT_HALFS, SIZE_CLASSES } = require('../../layout/layout');
const { xxh32Aligned } = require('../../base/xxhash');
const { NEED_REPAIR, subSaturating } = require('../../ownership/locks');
const { corruptError } = require('./failure');
const { freeBlocks } = require('./alloc');
const maintenance = require('./maintenance');

const ENTRY_COUNT = AT.HEADER.ENTRY_COUNT;
const BUCKET_BASE = BASE.BUCKET;
const B = W.BUCKET;
const E = W.ENTRY;
const KEY_LENGTH = H.ENTRY.KEY_LENGTH;
const VALUE_LENGTH = H.ENTRY.VALUE_LENGTH;
const NS_COUNT = BASE.NAMESPACE + W.NAMESPACE.COUNT;
const NS_WORDS = W.NAMESPACE.WORDS;
const HDR = C.ENTRY_HEADER_SIZE;
const CLASS_SHIFT = C.FLAG_CLASS_SHIFT;
const CLASS_MASK = C.FLAG_CLASS_MASK;
const CLASS_COUNT = SIZE_CLASSES.length;
// As for a get (js-engine.js): a snapshot that keeps failing under an unchanged version is
// corruption, not a race. Repair once, then report it (the threshold: scripts/layout-spec.js).
const CORRUPT_RETRIES = C.CORRUPT_READ_RETRIES;

// Whether the block at unit `u` can be a linked entry: a valid class, not free, inside the store.
function validBlock(e, u) {
  const flags = e.u32[u * UNIT_WORDS + E.FLAGS];
  const cls = (flags >>> CLASS_SHIFT) & CLASS_MASK;
  return cls < CLASS_COUNT && (flags & C.FLAG_FREE) === 0 && u + SIZE_CLASSES[cls] <= e.totalUnits;
}

// Set by clearBucket when it stopped at an invalid chain.
let bucketCorrupt = false;

// Removes every entry of `nsId`, bucket by bucket. Returns how many were removed.
function clear(e, nsId) {
  let removed = 0;
  for (let b = 0; b <= e.mask; b++) {
    const bw = BUCKET_BASE + b * B.WORDS;
    if (Atomics.load(e.u32, bw + B.HEAD) === 0) continue;
    for (let repaired = false; ;) {
      const r = clearBucket(e, bw, nsId);
      if (r === NEED_REPAIR) {
        maintenance.repair(e, false);
        continue;
      }
      removed += r;
      if (!bucketCorrupt) break;
      // An invalid chain under the lock (a cycle, an index out of range, a free block): what was
      // unlinked before it is removed; repair mends the rest and the bucket is cleared again.
      if (repaired) throw corruptError(b);
      repaired = true;
      maintenance.repair(e);
    }
  }
  return removed;
}

// Removes the entries of `nsId` from the bucket whose record starts at word `bw`, under its lock.
function clearBucket(e, bw, nsId) {
  const u32 = e.u32;
  const lw = bw + B.LOCK;
  bucketCorrupt = false;
  if (e.locks.acquire(lw) === NEED_REPAIR) return NEED_REPAIR;
  let link = bw + B.HEAD;
  let n = 0;
  let u = u32[link];
  let freeList = e.freeList;
  for (let steps = 0; u !== 0; steps++) {
    if (u < e.firstUnit || u >= e.totalUnits || steps > e.maxSteps || !validBlock(e, u)) {
      bucketCorrupt = true;
      break;
    }
    const w = u * UNIT_WORDS;
    const next = u32[w + E.NEXT];
    if (u32[w + E.NAMESPACE_ID] === nsId) {
      Atomics.store(u32, link, next);
      if (n === freeList.length) {
        const grown = new Uint32Array(n * 2);
        grown.set(freeList);
        freeList = e.freeList = grown;
      }
      freeList[n++] = u;
    } else {
      link = w + E.NEXT;
    }
    u = next;
  }
  let st = 0;
  if (n) {
    u32[bw + B.COUNT] = u32[bw + B.COUNT] > n ? u32[bw + B.COUNT] - n : 0;
    subSaturating(u32, NS_COUNT + nsId * NS_WORDS, n);
    subSaturating(u32, ENTRY_COUNT, n);
    st = freeBlocks(e, freeList, n);
    e.writes += n;
  }
  e.locks.release(lw);
  if (st === NEED_REPAIR) maintenance.repair(e);
  return n;
}

// Collects [key, value, encoding] of every entry of `nsId`; each bucket is read consistently
// (seqlock), the store as a whole is not a snapshot.
function entries(e, nsId, withValues = true) {
  const out = [];
  const { u16, u32 } = e;
  for (let b = 0; b <= e.mask; b++) {
    const bw = BUCKET_BASE + b * B.WORDS;
    const lw = bw + B.LOCK;
    if (Atomics.load(u32, bw + B.HEAD) === 0) continue;
    for (let stable = 0; ;) {
      const v1 = Atomics.load(u32, lw);
      if (v1 & 1) {
        if (e.locks.waitWhileHeld(lw, v1) === NEED_REPAIR) maintenance.repair(e, false);
        continue;
      }
      const found = [];
      let ok = true;
      let u = Atomics.load(u32, bw + B.HEAD);
      for (let steps = 0; u !== 0; steps++) {
        if (u < e.firstUnit || u >= e.totalUnits || steps > e.maxSteps || !validBlock(e, u)) {
          ok = false;
          break;
        }
        const w = u * UNIT_WORDS;
        if (u32[w + E.NAMESPACE_ID] === nsId) {
          const kl = u16[u * UNIT_HALFS + KEY_LENGTH];
          const vl = u16[u * UNIT_HALFS + VALUE_LENGTH];
          const flags = u32[w + E.FLAGS];
          // Never copy beyond the block (nor beyond the private copy buffer).
          if (kl > C.MAX_KEY_BYTES || HDR + kl + vl > SIZE_CLASSES[(flags >>> CLASS_SHIFT) & CLASS_MASK] * C.UNIT) {
            ok = false;
            break;
          }
          const enc = flags & C.FLAG_ENCODING_MASK;
          e.copyOut(u, kl + vl);
          if (xxh32Aligned(e.copy32, e.copy, 0, kl + vl, (u32[w + E.KEY_HASH] ^ enc) >>> 0) !== u32[w + E.CHECKSUM]) {
            ok = false;
            break;
          }
          const key = e.copy.utf8Slice(0, kl);
          let value;
          if (withValues) {
            value = enc === C.ENC_BINARY ? Buffer.from(e.copy.subarray(kl, kl + vl))
              : e.copy.utf8Slice(kl, kl + vl);
          }
          found.push(withValues ? [key, value, enc] : key);
        }
        u = Atomics.load(u32, w + E.NEXT);
      }
      if (Atomics.load(u32, lw) !== v1) continue;
      if (ok) {
        for (const f of found) out.push(f);
        break;
      }
      if (++stable === CORRUPT_RETRIES) maintenance.repair(e);
      else if (stable >= 2 * CORRUPT_RETRIES) throw corruptError(b);
    }
  }
  return out;
}

module.exports = { clear, entries };
