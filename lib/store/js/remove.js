'use strict';
// Removals of the pure-JS engine (docs/format.md §9, "Writers"; §5 "Dropping"): delete, clear and
// the clearing of a dropped namespace, under the lock of one bucket at a time, as set (write.js).
// An entry leaves its chain by one atomic store into its predecessor's link, so a chain stays a
// valid list of valid entries at every instant; its block is freed after it is unlinked. Mirrors
// src/store/remove.cpp.
const { W, H, BASE, UNIT_WORDS, UNIT_HALFS, STATUS } = require('../../layout/layout');
const { NEED_REPAIR, CORRUPT } = require('./locks');
const { failure, corruptError } = require('./failure');
const { freeBlocks } = require('./alloc');
const large = require('./large');
const { encodeKey, keyHash, bucketOf } = require('./read');
const repairs = require('./repair');
const cells = require('./cells');
const { NSC_WORDS, NSC_BYTES, nsCurrent } = require('./counts');
const chain = require('./chain');
const { findLink, recover, INVALID } = require('./write');
// Used at call time: evict.js and write.js require each other.
const evict = require('./evict');

const BUCKET_BASE = BASE.BUCKET;
const BUCKET_WORDS = W.BUCKET.WORDS;
const B_HEAD = W.BUCKET.HEAD;
const B_COUNT = W.BUCKET.COUNT;
const B_LOCK = W.BUCKET.LOCK;
const E_NEXT = W.ENTRY.NEXT;
const E_NS = H.ENTRY.NAMESPACE_ID;

function del(e, nsId, key) {
  const kl = encodeKey(e, key);
  if (kl < 0) return false;
  const h = keyHash(e, kl, nsId);
  for (let repaired = false; ;) {
    const r = deleteOnce(e, nsId, kl, h);
    if (r === STATUS.ERR_NAMESPACE_DROPPED) throw failure(r, 'delete');
    if (r !== NEED_REPAIR && r !== CORRUPT) return r;
    repaired = recover(e, r, h, repaired);
  }
}

// One attempt of delete under the bucket's lock: whether a live entry was removed, NEED_REPAIR or
// CORRUPT. An entry expired (at Date.now(), as a read judges it) is removed as a reader reclaims
// it, counted as an expiration, and reported as no entry (false).
function deleteOnce(e, nsId, kl, h) {
  const u32 = e.u32;
  const bw = bucketOf(e, h);
  const lw = bw + B_LOCK;
  if (e.locks.acquire(lw) === NEED_REPAIR) return NEED_REPAIR;
  if (!nsCurrent(e, nsId)) {
    e.locks.release(lw);
    return STATUS.ERR_NAMESPACE_DROPPED;
  }
  const link = findLink(e, bw, nsId, kl, h);
  if (link < 0) {
    e.locks.release(lw);
    return link === INVALID ? CORRUPT : false;
  }
  const old = u32[link];
  // Read before the block is freed (and may be taken by another writer).
  const bytes = large.payloadOf(e, old);
  const exp = chain.expiresAtOf(e, old);
  // The clock is read only for an entry that has an expiry, as a read reads it.
  const live = exp === 0 || exp > Date.now();
  Atomics.store(u32, link, u32[old * UNIT_WORDS + E_NEXT]);
  if (live) {
    e.nsc[nsId * NSC_WORDS + NSC_BYTES] -= bytes;
    if (u32[bw + B_COUNT] !== 0) u32[bw + B_COUNT]--;
    cells.removed(e, nsId, 1, exp !== 0 ? 1 : 0);
    e.writes++;
  } else {
    evict.countRemoved(e, bw, nsId, bytes, evict.EXPIRE, 1);
  }
  e.freeList[0] = old;
  const st = freeBlocks(e, e.freeList, 1);
  e.locks.release(lw);
  if (st === NEED_REPAIR) repairs.repair(e);
  return live;
}

// clear(nsId): removes every entry of `nsId`, bucket by bucket. Returns how many live entries
// were removed; those expired when the clear started (one instant for the whole clear, as for a
// listing) are removed too and counted as expirations, as a reader's reclaim counts them. -1 -
// removed once the namespace is no longer current (the caller throws ERR_NAMESPACE_DROPPED).
function clear(e, nsId) {
  return clearWhile(e, nsId, () => nsCurrent(e, nsId), Date.now());
}

// A drop's clear (namespaces.js): removes and returns every entry of `nsId`, expired or not (the
// namespace's counters are zeroed when the drop ends). `still()` says whether the drop is still
// under way; -1 - removed when it is not (a repair pass finished that drop).
function clearDropping(e, nsId, still) {
  return clearWhile(e, nsId, still, 0);
}

// Removes every entry of `nsId`, bucket by bucket, while `still()`, called under each bucket's
// lock, says the namespace is still the one to clear; -1 - removed once it is not. Returns how
// many were removed but for those expired at `now` (0: none), counted as expirations.
function clearWhile(e, nsId, still, now) {
  let removed = 0;
  for (let b = 0; b <= e.mask; b++) {
    const bw = BUCKET_BASE + b * BUCKET_WORDS;
    // Skipped without its lock only when empty and no writer held the lock meanwhile: lock free,
    // head 0, lock unchanged (as src/store/remove.cpp's ClearAll, format.md §5 "Dropping").
    const w = Atomics.load(e.u32, bw + B_LOCK);
    if ((w & 1) === 0 && Atomics.load(e.u32, bw + B_HEAD) === 0 && Atomics.load(e.u32, bw + B_LOCK) === w) continue;
    for (let repaired = false; ;) {
      const r = clearBucket(e, bw, nsId, still, now);
      if (r === NEED_REPAIR) {
        repairs.repair(e, false);
        continue;
      }
      if (r === STALE) return -1 - removed;
      removed += r.removed;
      if (!r.invalid) break;
      // An invalid chain under the lock (a cycle, an index out of range, a free block): what was
      // unlinked before it is removed; repair mends the rest and the bucket is cleared again.
      if (repaired) throw corruptError(b);
      repaired = true;
      repairs.repair(e);
    }
  }
  return removed;
}

// Removes the entries of `nsId` from the bucket whose record starts at word `bw`, under its
// lock. Returns NEED_REPAIR, or { removed, invalid } (removed: the entries not expired at `now`;
// invalid: it stopped at an invalid link).
function clearBucket(e, bw, nsId, still, now) {
  const u32 = e.u32;
  const lw = bw + B_LOCK;
  if (e.locks.acquire(lw) === NEED_REPAIR) return NEED_REPAIR;
  if (!still()) {
    e.locks.release(lw);
    return STALE;
  }
  const c = e.chain;
  let n = 0; // unlinked, in e.freeList
  let live = 0;
  let expiring = 0; // of the live ones
  let invalid = false;
  for (let u = c.from(bw + B_HEAD); u !== 0;) {
    if (!c.atEntry()) {
      invalid = true;
      break;
    }
    if (e.u16[u * UNIT_HALFS + E_NS] !== nsId) {
      u = c.next();
      continue;
    }
    const bytes = large.payloadOf(e, u);
    const exp = chain.expiresAtOf(e, u);
    if (exp !== 0 && exp <= now) {
      evict.countRemoved(e, bw, nsId, bytes, evict.EXPIRE, 1);
    } else {
      e.nsc[nsId * NSC_WORDS + NSC_BYTES] -= bytes;
      if (exp !== 0) expiring++;
      live++;
    }
    Atomics.store(u32, c.link, c.nextOfCurrent());
    if (n === e.freeList.length) {
      const grown = new Uint32Array(n * 2);
      grown.set(e.freeList);
      e.freeList = grown;
    }
    e.freeList[n++] = u;
    u = c.afterUnlink();
  }
  if (live) dropCounted(e, bw, nsId, live, expiring);
  const st = n ? freeBlocks(e, e.freeList, n) : 0;
  e.locks.release(lw);
  if (st === NEED_REPAIR) repairs.repair(e);
  return { removed: live, invalid };
}

// clearBucket's result when the namespace is no longer the one being cleared.
const STALE = -13;

// Counts the n live entries of `nsId` that clearBucket unlinked, `expiring` of them with an
// expiry.
function dropCounted(e, bw, nsId, n, expiring) {
  const u32 = e.u32;
  u32[bw + B_COUNT] = u32[bw + B_COUNT] > n ? u32[bw + B_COUNT] - n : 0;
  cells.removed(e, nsId, n, expiring);
  e.writes += n;
}

module.exports = { delete: del, clear, clearDropping };
