'use strict';
// Eviction and expiry of the pure-JS engine (docs/format.md §8, "Expiry" and "Eviction"): the
// CLOCK hand over the pool, the incremental expiry sweep over the buckets and the lazy removal of
// an expired entry a reader met. Every removal is a delete under the entry's bucket lock (§9,
// "Writers"): readers see the old entry or nothing. Mirrors src/store/evict.cpp.
const { C, W, H, BASE, AT, UNIT_WORDS, UNIT_HALFS, CLASS_UNITS } = require('../../layout/layout');
const { NEED_REPAIR, LockError } = require('./locks');
const { ADVISORY_WAITED, ADVISORY_TIMEOUT } = require('../../ownership/waiter');
const { freeBlocks } = require('./alloc');
const { bucketOf } = require('./read');
const chain = require('./chain');
const { NSC_EVICTIONS, NSC_EXPIRATIONS, NSC_BYTES, removalAt } = require('./counts');
const { findLink } = require('./write');
const large = require('./large');
const repairs = require('./repair');
const cells = require('./cells');

const FREE_HEAD = AT.HEADER.FREE_HEAD;
const HAND = AT.EVICT_STATE.HAND;
const TURNS = AT.EVICT_STATE.TURNS;
const SWEEP = AT.EVICT_STATE.SWEEP;
const TTL_SEEN = AT.EVICT_STATE.TTL_SEEN;
const ROOM_LEASE = AT.EVICT_STATE.ROOM_LEASE;
const STORE_POLICY = AT.EVICT_STATE.POLICY;
const B_HEAD = W.BUCKET.HEAD;
const B_COUNT = W.BUCKET.COUNT;
const B_LOCK = W.BUCKET.LOCK;
const BUCKET_BASE = BASE.BUCKET;
const BUCKET_WORDS = W.BUCKET.WORDS;
const E_NEXT = W.ENTRY.NEXT;
const E_HASH = W.ENTRY.KEY_HASH;
const E_FLAGS = W.ENTRY.FLAGS;
// Fields of the namespace records, relative to the handle's e.nsBase and e.polBase.
const NS_STATE = W.NAMESPACE.STATE;
const NS_WORDS = W.NAMESPACE.WORDS;
const POL_POLICY = W.NS_POLICY.POLICY;
const POL_WORDS = W.NS_POLICY.WORDS;
const CLASS_SHIFT = C.FLAG_CLASS_SHIFT;
const CLASS_MASK = C.FLAG_CLASS_MASK;
const FLAG_FREE = C.FLAG_FREE;
const FLAG_ACCESSED = C.FLAG_ACCESSED;
const E_KEY_LENGTH = H.ENTRY.KEY_LENGTH;
// evictOne found nothing it could remove, of any class.
const NOTHING_TO_EVICT = -1;
// evictOne's search for a class stopped at EVICT_CLASS_STEPS, having removed nothing.
const SEARCH_CUT = -2;
// evictOne met, at the end of the run of a write making room, an entry it must not evict (a
// pinned namespace's, unexpired), and stopped there with the hand past it: e.keptUnit is its block,
// for the write to move below its run (format.md §8, "Joined runs").
const KEPT_AT_RUN_END = -3;
// Why an entry is removed: the hand evicted it, or it had expired; or the hand evicted it whatever
// its mark, as the block at the end of the run of free blocks a write making room grows
// (format.md §8, "Joined runs"; evictOne's runEnd).
const EVICT = 0;
const EXPIRE = 1;
const EVICT_IN_RUN = 2;

const expiryAt = (e, u) => chain.expiresAtOf(e, u);

const expired = (exp, now) => exp !== 0 && exp <= now;

// Whether the hand may evict entries of namespace `ns` (live, its policy or the store's clock).
// Whether a live entry may carry an expiry, so that the hand may find an expired one: the sum of
// the count cells' `expiring` is not 0 (format.md §5, "Count cells"). ttlSeen, one load, is 0 in a
// store that never had such an entry and spares the sixteen; it stays 1 after the last one went,
// so it alone would send every refused write of a pinned store around the pool. Asked only when
// a write found the store full. As native's MayExpire.
function mayExpire(e) {
  return Atomics.load(e.u32, TTL_SEEN) !== 0 && cells.expiringCount(e) !== 0;
}

function evictable(e, ns) {
  const u32 = e.u32;
  if (ns < 1 || ns > e.maxNs || Atomics.load(u32, e.nsBase + NS_STATE + ns * NS_WORDS) !== C.NS_STATE_LIVE) return false;
  let p = Atomics.load(u32, e.polBase + POL_POLICY + ns * POL_WORDS);
  if (p === C.POLICY_INHERIT) p = Atomics.load(u32, STORE_POLICY);
  return p === C.POLICY_CLOCK;
}

// Accounting of one entry removed from the bucket at word `bw` (its lock held), `expiring` 1 when
// it had an expiry. The namespace's counts go to the life the entry belongs to, whether or not
// this handle resolved it (counts.js removalAt).
function countRemoved(e, bw, ns, bytes, why, expiring) {
  const u32 = e.u32;
  if (u32[bw + B_COUNT] !== 0) u32[bw + B_COUNT]--;
  cells.removed(e, ns, 1, expiring);
  const at = removalAt(e, ns);
  e.nsc[at + NSC_BYTES] -= bytes;
  e.nsc[at + (why === EXPIRE ? NSC_EXPIRATIONS : NSC_EVICTIONS)]++;
  e.writes++;
}

// Takes the bucket of `hash`, finds `unit` on its chain and removes it if it still is a candidate
// (EVICT: not marked, of an evictable namespace; EVICT_IN_RUN: of an evictable namespace, marked
// or not; EXPIRE: expired at now). Returns the units it freed, 0 when it removed nothing.
// The hand looked at the block without a lock: since then its entry may have been deleted (or
// moved by compaction) and the block reused by an entry of another namespace whose key falls in
// the same bucket, so the entry found at `unit` is judged again under the lock, its namespace
// included; a pinned entry found there is never evicted (format.md §8, "Eviction", step 5).
function removeUnit(e, unit, hash, why, now) {
  const u32 = e.u32;
  const bw = bucketOf(e, hash);
  const lw = bw + B_LOCK;
  while (e.locks.acquire(lw) === NEED_REPAIR) repairs.repair(e, false);
  const c = e.chain;
  let freed = 0;
  let st = 0;
  // A chain that is invalid under its lock is left to the repair pass of the next writer or
  // reader that meets it: the hand only removes what it finds on a valid chain.
  for (let u = c.from(bw + B_HEAD); u !== 0 && c.atEntry(); u = c.next()) {
    if (u !== unit) continue;
    const w = u * UNIT_WORDS;
    const ns = chain.namespaceOf(e, u);
    const candidate = why === EXPIRE
      ? expired(expiryAt(e, u), now)
      : (why === EVICT_IN_RUN || (u32[w + E_FLAGS] & FLAG_ACCESSED) === 0) && evictable(e, ns);
    if (!candidate) break;
    const bytes = large.payloadOf(e, u);
    const expiring = expiryAt(e, u) !== 0 ? 1 : 0;
    // The units this removal frees, for the bound of a set that makes room: the entry's block (of
    // a valid class: the chain walk checked it) and the large block its reference names.
    const flags = u32[w + E_FLAGS];
    const kl = e.u16[u * UNIT_HALFS + E_KEY_LENGTH];
    freed = CLASS_UNITS[(flags >>> CLASS_SHIFT) & CLASS_MASK] +
      (large.refInBlock(flags, kl) ? large.unitsForLarge(large.refOf(e, u, kl)[1]) : 0);
    Atomics.store(u32, c.link, c.nextOfCurrent());
    e.freeList[0] = u;
    st = freeBlocks(e, e.freeList, 1);
    e.removedUnit = u; // for a write that joins what it freed (write.js, joinRemoved)
    if (ns >= 1 && ns <= e.maxNs) countRemoved(e, bw, ns, bytes, why, expiring);
    break;
  }
  e.locks.release(lw);
  if (st === NEED_REPAIR) repairs.repair(e);
  return freed;
}

// Whether the hand may find an entry to remove, from the counts alone (a hint, format.md §8,
// "Eviction"): the count cells count an entry with an expiry (which may have expired), or an
// evictable namespace counts an entry. Costs a look at every namespace id: asked only of a run
// that found nothing in EVICT_CLASS_STEPS steps. As native's AnyEvictable.
function anyEvictable(e) {
  if (mayExpire(e)) return true;
  for (let ns = 1; ns <= e.maxNs; ns++) {
    if (evictable(e, ns) && cells.nsCount(e, ns) !== 0) return true;
  }
  return false;
}

// One step of the eviction hand for an insert of size class `cls` (-1: any class will do, the
// entry count is what is full): inspects at most EVICT_TURNS turns of the pool (a search for a
// class: at most EVICT_CLASS_STEPS steps, unless `whole`; any other search goes on past those
// only when anyEvictable says it may find something) and removes one entry. `runEnd` (0: none)
// is where the run of free blocks of a write making room ends (format.md §8, "Joined runs"): with
// `waive`, an entry of an evictable namespace whose block starts there is removed even when
// marked, as it lies in the way of the room the write makes (a second chance there would break the
// run, leave its blocks apart and send the write on to evict elsewhere, run after run). Returns
// the units its removal freed (its block and its large block), or when it removed nothing:
// SEARCH_CUT when a search for a class stopped at its bound, 0 when the hand passed over an
// unexpired entry of an evictable namespace of a class below cls (a search for any class might
// remove it), NOTHING_TO_EVICT when neither (a search for any class would not either),
// KEPT_AT_RUN_END when it stopped at a pinned entry at runEnd (e.keptUnit). As native's EvictOne.
function evictOne(e, cls, whole = false, runEnd = 0, waive = false) {
  const u32 = e.u32;
  let sawSmaller = false;
  const now = Date.now();
  // Blocks are at least one unit, so EVICT_TURNS turns are at most this many steps: the first
  // turn clears every mark, the second meets every candidate unmarked.
  const turns = C.EVICT_TURNS * (e.totalUnits - e.firstUnit);
  const budget = cls >= 0 && !whole && turns > C.EVICT_CLASS_STEPS ? C.EVICT_CLASS_STEPS : turns;
  let steps = 0;
  for (; steps < budget; steps++) {
    // A long search for any class in a store where the counts say nothing may be removed (every
    // entry pinned) ends here, instead of after two turns of the pool.
    if (steps === C.EVICT_CLASS_STEPS && (cls < 0 || whole) && !anyEvictable(e)) return NOTHING_TO_EVICT;
    const u = Atomics.load(u32, HAND);
    const top = Atomics.load(u32, FREE_HEAD);
    if (u < e.firstUnit || u >= top || top > e.totalUnits) {
      // The end of the pool (or a hand no block start has, after damage): a new turn.
      if (Atomics.compareExchange(u32, HAND, u, e.firstUnit) === u && u >= e.firstUnit) Atomics.add(u32, TURNS, 1);
      if (top <= e.firstUnit) break; // an empty pool
      continue;
    }
    const w = u * UNIT_WORDS;
    const flags = Atomics.load(u32, w + E_FLAGS);
    const bc = (flags >>> CLASS_SHIFT) & CLASS_MASK;
    const size = large.blockUnits(e, u, flags);
    if (size === 0 || u + size > top) {
      Atomics.compareExchange(u32, HAND, u, top); // not a block start: end this turn
      continue;
    }
    // The hand moves past the block first: concurrent evictors each take a different block.
    if (Atomics.compareExchange(u32, HAND, u, u + size) !== u) continue;
    // A large block goes with the entry that refers to it, never by itself; a parked block is
    // its writer's (format.md §8, "Parked blocks").
    if ((flags & (FLAG_FREE | C.FLAG_PARKED)) !== 0 || bc === large.LARGE_CLASS) continue;
    const ns = chain.namespaceOf(e, u);
    const hash = u32[w + E_HASH];
    const isExpired = expired(expiryAt(e, u), now);
    if (!isExpired) {
      if (cls >= 0 && bc < cls) {
        // Would not make room for this insert; a search for any class might take it.
        if (!sawSmaller && evictable(e, ns)) sawSmaller = true;
        continue;
      }
      if (!evictable(e, ns)) {
        // Pinned. At the end of the write's run it stops the hand: the write may move it below
        // the run, which then goes on past its block.
        if (u === runEnd) {
          e.keptUnit = u;
          return KEPT_AT_RUN_END;
        }
        continue;
      }
      if ((flags & FLAG_ACCESSED) !== 0 && (u !== runEnd || !waive)) {
        // Second chance: the mark is cleared (only if the flags did not change meanwhile).
        Atomics.compareExchange(u32, w + E_FLAGS, flags, (flags & ~FLAG_ACCESSED) >>> 0);
        continue;
      }
    }
    const why = isExpired ? EXPIRE : u === runEnd && waive ? EVICT_IN_RUN : EVICT;
    const freed = removeUnit(e, u, hash, why, now);
    // An expired block of a smaller class frees space but not this insert's room: go on.
    if (freed !== 0 && (cls < 0 || bc >= cls)) {
      // Quick demotion: the hand goes back to the freed block, where the insert puts its entry,
      // but once in EVICT_ADVANCE_EVERY evictions (scripts/layout-spec.js says why).
      e.evictions = (e.evictions + 1) % C.EVICT_ADVANCE_EVERY;
      if (e.evictions !== 0) Atomics.compareExchange(u32, HAND, u + size, u);
      return freed;
    }
  }
  // A search cut short by its bound did not see the whole pool.
  if (budget < turns && steps >= budget) return SEARCH_CUT;
  return sawSmaller ? 0 : NOTHING_TO_EVICT;
}

// Under the lock of the bucket at word `bw`: unlinks every expired entry of its chain. Returns
// false on an invalid link or a block the allocator did not take back.
function sweepChain(e, bw, now) {
  const u32 = e.u32;
  const c = e.chain;
  for (let u = c.from(bw + B_HEAD); u !== 0;) {
    if (!c.atEntry()) return false;
    if (!expired(expiryAt(e, u), now)) {
      u = c.next();
      continue;
    }
    const ns = chain.namespaceOf(e, u);
    const bytes = large.payloadOf(e, u);
    Atomics.store(u32, c.link, c.nextOfCurrent());
    e.freeList[0] = u;
    const st = freeBlocks(e, e.freeList, 1);
    if (ns >= 1 && ns <= e.maxNs) countRemoved(e, bw, ns, bytes, EXPIRE, 1);
    if (st !== 0) return false;
    u = c.afterUnlink();
  }
  return true;
}

// Acquires a bucket lock for work nobody waits for (the sweep, a lazy removal): false when the
// holder is gone (the next write that meets it repairs) or does not let go; the work is then
// skipped, and the call that asked for it (a set that succeeded, a read) does not fail for it.
function tryLock(e, lw) {
  try {
    return e.locks.acquire(lw) !== NEED_REPAIR;
  } catch (err) {
    if (err instanceof LockError) return false;
    throw err;
  }
}

// The incremental expiry sweep: SWEEP_BUCKETS buckets, expired entries removed.
function sweepExpired(e) {
  const u32 = e.u32;
  if (Atomics.load(u32, TTL_SEEN) === 0) return;
  const now = Date.now();
  for (let i = 0; i < C.SWEEP_BUCKETS; i++) {
    const bw = BUCKET_BASE + (Atomics.add(u32, SWEEP, 1) & e.mask) * BUCKET_WORDS;
    if (Atomics.load(u32, bw + B_HEAD) === 0) continue;
    const lw = bw + B_LOCK;
    if (!tryLock(e, lw)) return;
    const ok = sweepChain(e, bw, now);
    e.locks.release(lw);
    if (!ok) {
      repairs.repair(e); // an invalid chain under its lock, or a block not freed
      return;
    }
  }
}

// A get/has found the key's entry (in e.kb, kl bytes, hash h) expired: removes it if it still is.
function reclaimExpired(e, nsId, kl, h) {
  const u32 = e.u32;
  const bw = bucketOf(e, h);
  const lw = bw + B_LOCK;
  if (!tryLock(e, lw)) return;
  const link = findLink(e, bw, nsId, kl, h);
  let st = 0;
  if (link >= 0) {
    const u = u32[link];
    if (expired(expiryAt(e, u), Date.now())) {
      const bytes = large.payloadOf(e, u);
      Atomics.store(u32, link, u32[u * UNIT_WORDS + E_NEXT]);
      e.freeList[0] = u;
      st = freeBlocks(e, e.freeList, 1);
      countRemoved(e, bw, nsId, bytes, EXPIRE, 1);
    }
  }
  e.locks.release(lw);
  if (st === NEED_REPAIR) repairs.repair(e);
}

// Two writes that make room for large values at once took each other's freed blocks into their
// runs, and each one's join changed the stamp the other's run started with: both runs kept
// breaking and both writes evicted up to their bounds, several times their room. One write at a
// time makes room by joined runs; the others wait for it, then retry their allocation (the space
// may be there) before they evict (format.md §8, "The room lease"). Taken by a write before its
// first eviction of any class, holding no lock of the store and no parked block (it may hold the
// persistence layer's stripe and append locks); a write that waited lockTimeoutMs /
// ROOM_LEASE_WAIT_SHARE for a live holder goes on without it (state.leaseWaived), not waiting
// again.
// Returns whether the write met the lease held (it then retries its allocation first). As
// native's TakeRoomLease.
function takeRoomLease(e, state) {
  if (e.leaseHeld || state.leaseWaived) return false;
  const r = e.locks.acquireAdvisory(ROOM_LEASE, e.locks.timeout / C.ROOM_LEASE_WAIT_SHARE);
  if (r === ADVISORY_TIMEOUT) state.leaseWaived = true; // a live holder kept it: the store stays available
  else e.leaseHeld = true;
  return r === ADVISORY_WAITED || r === ADVISORY_TIMEOUT;
}

// Released when the allocation the write made room for succeeded, and on every way out of the
// write (write.js set). The release is a CAS that leaves a lease taken over meanwhile to its new
// holder.
function releaseRoomLease(e) {
  e.leaseHeld = false;
  e.locks.release(ROOM_LEASE);
}

module.exports = {
  evictOne, NOTHING_TO_EVICT, SEARCH_CUT, KEPT_AT_RUN_END, sweepExpired, reclaimExpired, evictable, anyEvictable, mayExpire,
  takeRoomLease, releaseRoomLease, ROOM_LEASE, countRemoved, EXPIRE,
};
