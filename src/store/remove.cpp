// shm::Store removals (docs/format.md §9, "Writers"; §5 "Dropping"): delete, clear and the
// clearing of a dropped namespace, under the lock of one bucket at a time, as set (write.cpp).
// An entry leaves its chain by one atomic store into its predecessor's link, so a chain stays a
// valid list of valid entries at every instant; its block is freed after it is unlinked.
#include "base/hash.h"
#include "store/chain.h"
#include "store/store.h"

namespace shm {

using layout::Bucket;
using layout::Entry;

Status Store::Delete(uint32_t ns, const void* key, uint32_t keyLength, bool* existed) noexcept {
  *existed = false;
  if (closed_) return layout::kErrClosed;
  if (keyLength > kMaxKeyBytes) return layout::kErrKeyTooLong;
  if (ns == 0 || ns > maxNs_) return layout::kErrInvalidArg;
  const uint32_t hash = KeyHash(key, keyLength, ns);
  Bucket* b = BucketFor(hash);
  bool repaired = false;
  for (;;) {
    uint32_t held;
    Found f;
    Status s = LockAndFind(b, ns, key, keyLength, hash, &held, &f, &repaired);
    if (s != layout::kOk) return s;
    if (!NamespaceCurrent(ns)) {
      Unlock(&b->lock, held);
      return layout::kErrNamespaceDropped;
    }
    if (f.unit == 0) {
      Unlock(&b->lock, held);
      return layout::kOk;
    }
    const Entry* e = EntryAt(f.unit);
    // Read before the block is freed (and may be taken by another writer).
    const uint32_t bytes = PayloadOf(e);
    const uint64_t expiresAt = ExpiresAtOf(e);
    // The clock is read only for an entry that has an expiry, as a read reads it.
    const bool expired = expiresAt != 0 && Expired(expiresAt, NowMs());
    AtomicStore(f.link, AtomicLoad(&e->next));
    AllocStatus fs = FreeBlock(pool_, env_, f.unit);
    if (expired) {
      // Invisible to reads already: removed as a reader reclaims it (ReclaimExpired), counted as
      // an expiration, and no entry existed.
      CountRemoved(b, ns, bytes, true, Removal::kExpire);
    } else {
      nsCounts_[ns].bytes -= bytes;
      if (b->count != 0) b->count = b->count - 1;
      cells_.Removed(ns, 1, expiresAt != 0 ? 1u : 0u);
      ++writes_;
      *existed = true;
    }
    Unlock(&b->lock, held);
    if (fs == AllocStatus::kGone || fs == AllocStatus::kCorrupt) RepairPass(true);
    return layout::kOk;
  }
}

Status Store::Clear(uint32_t ns, uint32_t* removed) noexcept {
  *removed = 0;
  if (closed_) return layout::kErrClosed;
  if (ns == 0 || ns > maxNs_) return layout::kErrInvalidArg;
  if (!NamespaceCurrent(ns)) return layout::kErrNamespaceDropped;
  // One instant for the whole clear, as for a listing: an entry expired then is removed as an
  // expiration and not counted in *removed.
  return ClearAll(ns, removed, nullptr, NowMs());
}

// A bucket is skipped without its lock only when it is empty and no writer held its lock while
// that was seen: the lock word free, the head 0, then the lock word unchanged. A writer that
// takes the lock later sees what this sweep's caller stored before it (a drop's state), and one
// that released it earlier left its entry on the head.
Status Store::ClearAll(uint32_t ns, uint32_t* removed, const uint32_t* dropGen,
                       uint64_t now) noexcept {
  for (uint32_t i = 0; i < bucketCount_; ++i) {
    Bucket* b = &buckets_[i];
    const uint32_t w = AtomicLoad(&b->lock);
    if (!LockIsHeld(w) && AtomicLoad(&b->head) == 0 && AtomicLoad(&b->lock) == w) continue;
    Status s = ClearBucket(b, ns, removed, dropGen, now);
    if (s != layout::kOk) return s;
  }
  return layout::kOk;
}

bool Store::StillClearing(uint32_t ns, const uint32_t* dropGen) const noexcept {
  if (dropGen == nullptr) return NamespaceCurrent(ns);
  return AtomicLoad(&nsTable_[ns].state) == layout::kNsStateDropping &&
         AtomicLoad(&nsTable_[ns].generation) == *dropGen;
}

// Establishes: bucket b holds no entry of ns (or the status that stopped it). A sweep that met a
// corrupt chain gets one repair pass, one that could not free a block gets one each time.
Status Store::ClearBucket(Bucket* b, uint32_t ns, uint32_t* removed, const uint32_t* dropGen,
                          uint64_t now) noexcept {
  bool repaired = false;
  for (;;) {
    uint32_t held;
    Status s = LockBucket(b, &held);
    if (s != layout::kOk) return s;
    if (!StillClearing(ns, dropGen)) {
      Unlock(&b->lock, held);
      return layout::kErrNamespaceDropped;
    }
    const Sweep sweep = SweepNamespace(b, ns, removed, now);
    Unlock(&b->lock, held);
    if (sweep == Sweep::kDone) return layout::kOk;
    if (sweep == Sweep::kCorrupt) {
      if (repaired) return layout::kErrCorrupt;
      repaired = true;
    }
    s = RepairPass(true);
    if (s != layout::kOk) return s;
  }
}

// Under b's lock. Establishes: every entry of ns on the chain is unlinked, freed and uncounted
// (kDone), or those before the first invalid link (kCorrupt) or up to the first block the
// allocator could not take back (kFreeFailed: the repair pass reclaims it). An entry expired at
// `now` (0 for a drop: none) is counted as an expiration (CountRemoved), not in *removed.
Store::Sweep Store::SweepNamespace(Bucket* b, uint32_t ns, uint32_t* removed,
                                   uint64_t now) noexcept {
  ChainCursor c(Chains(), &b->head);
  for (;;) {
    const ChainStep step = c.Next();
    if (step == ChainStep::kEnd) return Sweep::kDone;
    if (step != ChainStep::kEntry) return Sweep::kCorrupt;
    if (c.entry()->namespaceId != ns) continue;
    const uint32_t bytes = PayloadOf(c.entry());
    const uint64_t expiresAt = ExpiresAtOf(c.entry());
    c.Unlink();
    const AllocStatus fs = FreeBlock(pool_, env_, c.unit());
    if (Expired(expiresAt, now)) {
      CountRemoved(b, ns, bytes, true, Removal::kExpire);
    } else {
      nsCounts_[ns].bytes -= bytes;
      if (b->count != 0) b->count = b->count - 1;
      cells_.Removed(ns, 1, expiresAt != 0 ? 1u : 0u);
      ++*removed;
      ++writes_;
    }
    if (fs != AllocStatus::kOk) return Sweep::kFreeFailed;
  }
}

}  // namespace shm
