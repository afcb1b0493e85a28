// shm::Store eviction and expiry (docs/format.md §8, "Expiry" and "Eviction"): the CLOCK hand
// over the pool, the incremental expiry sweep over the buckets and the lazy removal of an expired
// entry a reader met. Every removal is a delete under the entry's bucket lock (§9, "Writers"), so
// readers see it exactly as they see a delete: the old entry or nothing, never a torn one.
#include "base/hash.h"
#include "store/chain.h"
#include "store/store.h"

namespace shm {

using layout::Bucket;
using layout::Entry;

void Store::CountRemoved(Bucket* b, uint32_t ns, uint32_t bytes, bool expiring,
                         Removal why) noexcept {
  if (b->count != 0) b->count = b->count - 1;
  cells_.Removed(ns, 1, expiring ? 1u : 0u);
  NsCounts& counts = RemovalCounts(ns);
  counts.bytes -= bytes;
  if (why == Removal::kExpire) {
    ++counts.expirations;
  } else {
    ++counts.evictions;
  }
  ++writes_;
}

Status Store::RemoveUnit(uint32_t unit, uint32_t hash, Removal why, uint64_t now,
                         uint32_t* freed) noexcept {
  *freed = 0;
  Bucket* b = BucketFor(hash);
  uint32_t held;
  Status s = LockBucket(b, &held);
  if (s != layout::kOk) return s;
  ChainCursor c(Chains(), &b->head);
  AllocStatus fs = AllocStatus::kOk;
  for (;;) {
    const ChainStep step = c.Next();
    // A chain that is invalid under its lock is left to the repair pass of the next writer or
    // reader that meets it: the hand only removes what it finds on a valid chain.
    if (step != ChainStep::kEntry) break;
    if (c.unit() != unit) continue;
    const Entry* e = c.entry();
    const uint32_t ns = e->namespaceId;
    // Still a candidate? A hit may have marked it, or a set replaced it with a later expiry. The
    // hand looked at the block without a lock: its entry may have been deleted (or moved by
    // compaction) since and the block reused by an entry of another namespace whose key falls in
    // this bucket, so the namespace is judged again too: a pinned entry is never evicted.
    const bool candidate =
        why == Removal::kExpire
            ? Expired(ExpiresAtOf(e), now)
            : (why == Removal::kEvictInRun || (c.flags() & kFlagAccessed) == 0) && Evictable(ns);
    if (!candidate) break;
    const uint32_t bytes = PayloadOf(e);
    const bool expiring = ExpiresAtOf(e) != 0;
    // The units this removal frees, for the bound of a set that makes room: the entry's block (of
    // a valid class: the chain walk checked it) and the large block its reference names.
    const uint32_t flags = c.flags();
    const uint32_t kl = e->keyLength;
    const uint32_t units =
        c.units() + (RefInBlock(flags, kl) ? UnitsForLarge(RefOf(e, kl).length) : 0u);
    c.Unlink();
    fs = FreeBlock(pool_, env_, unit);
    removedUnit_ = unit;  // for a write that joins what it freed (write.cpp, JoinRemoved)
    if (ns >= 1 && ns <= maxNs_) CountRemoved(b, ns, bytes, expiring, why);
    *freed = units;
    break;
  }
  Unlock(&b->lock, held);
  if (fs == AllocStatus::kGone || fs == AllocStatus::kCorrupt) return RepairPass(true);
  return layout::kOk;
}

bool Store::AnyEvictable() const noexcept {
  if (MayExpire()) return true;
  for (uint32_t ns = 1; ns <= maxNs_; ++ns) {
    if (Evictable(ns) && cells_.NsCount(ns) != 0) return true;
  }
  return false;
}

Status Store::EvictOne(uint32_t cls, uint32_t* freed, HandEnd* end, bool whole, uint32_t runEnd,
                       bool waive) noexcept {
  *freed = 0;
  if (end != nullptr) *end = HandEnd::kNothing;
  bool sawSmaller = false;
  const uint64_t now = NowMs();
  // Blocks are at least one unit, so EVICT_TURNS turns are at most this many steps: the first
  // turn clears every mark, the second meets every candidate unmarked.
  // A search for a class stops after EVICT_CLASS_STEPS steps (unless whole): the insert then asks
  // for any entry.
  const uint64_t turns = uint64_t{layout::kEvictTurns} * (totalUnits_ - firstUnit_);
  const uint64_t classSteps = static_cast<uint64_t>(layout::kEvictClassSteps);
  const bool classSearch = cls != kClassCount && !whole;
  const uint64_t budget = classSearch && turns > classSteps ? classSteps : turns;
  uint64_t steps = 0;
  for (; steps < budget; ++steps) {
    // A long search for any class in a store where the counts say nothing may be removed (every
    // entry pinned) ends here, instead of after two turns of the pool.
    if (steps == classSteps && !classSearch && !AnyEvictable()) return layout::kOk;
    const uint32_t u = AtomicLoad(&evict_->hand);
    const uint32_t freeHead = AtomicLoad(&hdr_->freeHead);
    if (u < firstUnit_ || u >= freeHead || freeHead > totalUnits_) {
      // The end of the pool (or a hand no block start has, after damage): a new turn.
      if (AtomicCas(&evict_->hand, u, firstUnit_) && u >= firstUnit_) AtomicAdd(&evict_->turns, 1);
      if (freeHead <= firstUnit_) break;  // an empty pool
      continue;
    }
    Entry* e = EntryAt(u);
    const uint32_t flags = AtomicLoad(&e->flags);
    const uint32_t bc = ClassOfFlags(flags);
    const uint32_t size = BlockUnitsOf(base_, u, flags);
    if (size == 0 || uint64_t{u} + size > freeHead) {
      AtomicCas(&evict_->hand, u, freeHead);  // not a block start: end this turn
      continue;
    }
    // The hand moves past the block first: concurrent evictors each take a different block.
    if (!AtomicCas(&evict_->hand, u, u + size)) continue;
    // A large block goes with the entry that refers to it, never by itself; a parked block is
    // its writer's (format.md §8, "Parked blocks").
    if ((flags & (kFlagFree | kFlagParked)) != 0 || bc == kLargeClass) continue;
    const uint32_t ns = RacyLoad(&e->namespaceId);
    const uint32_t hash = RacyLoad(&e->keyHash);
    const bool expired = Expired(ExpiresAtOf(e), now);
    if (!expired) {
      if (cls != kClassCount && bc < cls) {
        // Would not make room for this insert; a search for any class might take it.
        if (!sawSmaller && Evictable(ns)) sawSmaller = true;
        continue;
      }
      if (!Evictable(ns)) {
        // Pinned. At the end of the write's run it stops the hand: the write may move it below
        // the run, which then goes on past its block.
        if (u == runEnd) {
          keptUnit_ = u;
          return layout::kOk;
        }
        continue;
      }
      if ((flags & kFlagAccessed) != 0 && (u != runEnd || !waive)) {
        // Second chance: the mark is cleared (only if the flags did not change meanwhile).
        AtomicCas(&e->flags, flags, flags & ~kFlagAccessed);
        continue;
      }
    }
    uint32_t units = 0;
    const Removal why = expired                ? Removal::kExpire
                        : u == runEnd && waive ? Removal::kEvictInRun
                                               : Removal::kEvict;
    Status s = RemoveUnit(u, hash, why, now, &units);
    if (s != layout::kOk) return s;
    // An expired block of a smaller class frees space but not this insert's room: go on.
    if (units != 0 && (cls == kClassCount || bc >= cls)) {
      // Quick demotion: the hand goes back to the freed block, where the insert puts its entry,
      // but once in EVICT_ADVANCE_EVERY evictions (scripts/layout-spec.js says why).
      if (++evictions_ % static_cast<uint32_t>(layout::kEvictAdvanceEvery) != 0) {
        AtomicCas(&evict_->hand, u + size, u);
      }
      *freed = units;
      return layout::kOk;
    }
  }
  // A search cut short by its bound did not see the whole pool.
  if (end != nullptr) {
    if (budget < turns && steps >= budget) {
      *end = HandEnd::kCut;
    } else if (sawSmaller) {
      *end = HandEnd::kSmaller;
    }
  }
  return layout::kOk;
}

// Two writes that make room for large values at once took each other's freed blocks into their
// runs, and each one's join changed the stamp the other's run started with: both runs kept
// breaking and both writes evicted up to their bounds, several times their room. One write at a
// time makes room by joined runs; the others wait for it, then retry their allocation (the space
// may be there) before they evict (format.md §8, "The room lease").
void Store::TakeRoomLease(RoomState* room, bool* waited) noexcept {
  *waited = false;
  if (leaseHeld_ != 0 || room->leaseWaived) return;
  uint32_t held = 0;
  // The wait's limit: a share of lockTimeoutMs (layout-spec.js, ROOM_LEASE_WAIT_SHARE says why).
  LockEnv env = env_;
  env.lockTimeoutMs = static_cast<uint32_t>(env_.lockTimeoutMs / layout::kRoomLeaseWaitShare);
  if (env.lockTimeoutMs == 0) env.lockTimeoutMs = 1;
  if (AcquireAdvisory(&evict_->roomLease, env, &held, waited) == LockResult::kAcquired) {
    leaseHeld_ = held;
  } else {
    // A live holder kept it for the whole wait: the write goes on without it, and the store stays
    // available.
    room->leaseWaived = true;
  }
}

void Store::ReleaseRoomLease() noexcept {
  if (leaseHeld_ == 0) return;
  // A CAS from the word stored: a lease taken over meanwhile (this handle presumed gone) stays
  // its new holder's.
  Unlock(&evict_->roomLease, leaseHeld_);
  leaseHeld_ = 0;
}

void Store::ReleaseGoneLease() noexcept {
  const uint32_t w = AtomicLoad(&evict_->roomLease);
  if (!LockIsHeld(w)) return;
  const uint32_t o = LockOwnerOf(w);
  bool gone;
  if (o == env_.selfSlot) {
    gone = leaseHeld_ != w;  // left by an earlier owner of this slot
  } else if (o == 0 || o >= kOwnerSlots) {
    gone = true;
  } else {
    gone = ClassifyOwner(&owners_[o], env_.self) == OwnerStatus::kGone;
  }
  if (gone) AtomicCas(&evict_->roomLease, w, LockReleasedWord(w));
}

bool Store::SweepChainLocked(Bucket* b, uint64_t now) noexcept {
  ChainCursor c(Chains(), &b->head);
  for (;;) {
    const ChainStep step = c.Next();
    if (step == ChainStep::kEnd) return true;
    if (step != ChainStep::kEntry) return false;
    const Entry* e = c.entry();
    if (!Expired(ExpiresAtOf(e), now)) continue;
    const uint32_t ns = e->namespaceId;
    const uint32_t bytes = PayloadOf(e);
    const uint32_t unit = c.unit();
    c.Unlink();
    const AllocStatus fs = FreeBlock(pool_, env_, unit);
    if (ns >= 1 && ns <= maxNs_) CountRemoved(b, ns, bytes, true, Removal::kExpire);
    if (fs != AllocStatus::kOk) return false;
  }
}

void Store::SweepExpired() noexcept {
  if (AtomicLoad(&evict_->ttlSeen) == 0) return;
  const uint64_t now = NowMs();
  for (uint32_t i = 0; i < static_cast<uint32_t>(layout::kSweepBuckets); ++i) {
    Bucket* b = &buckets_[AtomicAdd(&evict_->sweep, 1) & mask_];
    if (AtomicLoad(&b->head) == 0) continue;
    uint32_t held;
    if (LockBucket(b, &held) != layout::kOk) return;
    const bool ok = SweepChainLocked(b, now);
    Unlock(&b->lock, held);
    if (!ok) {
      RepairPass(true);  // an invalid chain under its lock, or a block not freed
      return;
    }
  }
}

void Store::ReclaimExpired(uint32_t ns, const uint8_t* key, uint32_t keyLength,
                           uint32_t hash) noexcept {
  Bucket* b = BucketFor(hash);
  uint32_t held;
  if (LockBucket(b, &held) != layout::kOk) return;
  const Found f = FindLocked(b, ns, key, keyLength, hash);
  AllocStatus fs = AllocStatus::kOk;
  if (f.unit != 0 && Expired(ExpiresAtOf(EntryAt(f.unit)), NowMs())) {
    const Entry* e = EntryAt(f.unit);
    const uint32_t bytes = PayloadOf(e);
    AtomicStore(f.link, AtomicLoad(&e->next));
    fs = FreeBlock(pool_, env_, f.unit);
    CountRemoved(b, ns, bytes, true, Removal::kExpire);
  }
  Unlock(&b->lock, held);
  if (fs == AllocStatus::kGone || fs == AllocStatus::kCorrupt) RepairPass(true);
}

}  // namespace shm
