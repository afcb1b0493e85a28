// The per-writer block cache (docs/format.md §8, "Parked blocks"). A set that replaces an entry
// parks the old block instead of freeing it, and takes its next block of that class from what it
// parked, so that a stream of overwrites of same-sized values never takes AllocState.lock: two
// writers of different keys then share no word but their buckets'. An insert that has no parked
// block of its class takes a batch under one hold of the lock and parks the rest (Refill), so
// that a stream of inserts takes it once per batch. The marks in the pool
// (FLAG_PARKED and the owner slot in `next`) are the recoverable truth; the handle's arrays only
// say where its own marks are, so that it need not search for them.
#include <algorithm>

#include "store/store.h"

namespace shm {

using layout::Entry;
using layout::kSizeClasses;

void Store::ForgetParkedIfCut() noexcept {
  const uint32_t cuts = AtomicLoad(&repairState_->cuts);
  if (cuts == cutsSeen_) return;
  cutsSeen_ = cuts;
  ForgetParked();
}

void Store::ForgetParked() noexcept {
  if (parkedUnits_ != 0) orphaned_ = true;
  for (uint8_t& c : parkedCount_) c = 0;
  parkedUnits_ = 0;
}

bool Store::TakeParked(uint32_t cls, uint32_t* unit) noexcept {
  ForgetParkedIfCut();
  while (parkedCount_[cls] != 0) {
    const uint32_t u = parked_[cls * kParkPerClass + --parkedCount_[cls]];
    parkedUnits_ -= kSizeClasses[cls];
    Entry* e = EntryAt(u);
    // Only this handle writes its own mark, and only a repair pass of this handle or one that
    // found it gone removes it: a block without the mark was not ours any more (defensive).
    if (AtomicLoad(&e->flags) != (kFlagParked | (cls << kClassShift)) ||
        AtomicLoad(&e->next) != env_.selfSlot) {
      continue;
    }
    // As the allocator hands a block out: its class, nothing else.
    AtomicStore(&e->flags, cls << kClassShift);
    *unit = u;
    return true;
  }
  return false;
}

AllocStatus Store::Refill(uint32_t cls, uint32_t* unit, bool larger) noexcept {
  const uint32_t size = kSizeClasses[cls];
  // The batch doubles with each refill of the class that follows one of the same class, up to
  // PARK_REFILL, and is one block after a refill of another class: a stream of sets of one size
  // soon takes the lock once per PARK_REFILL sets, while a handle whose sizes vary parks few
  // blocks it may not use again (each one an obstacle to compaction until it is used or
  // returned).
  refillStreak_ = cls == lastRefillClass_ ? std::min(refillStreak_ + 1, kRefillMaxStreak) : 0;
  lastRefillClass_ = cls;
  const uint32_t batch = std::min(kParkRefill, 1u << refillStreak_);
  // The extra blocks stay within PARK_PER_CLASS and PARK_MAX_UNITS: a handle whose parked blocks
  // of other classes fill its units takes one block at a time, as without a cache.
  uint32_t extra = std::min(batch - 1, kParkPerClass - parkedCount_[cls]);
  extra =
      parkedUnits_ >= kParkMaxUnits ? 0 : std::min(extra, (kParkMaxUnits - parkedUnits_) / size);
  uint32_t got[kParkRefill];
  uint32_t n = 0;
  const AllocStatus s = AllocBatch(pool_, env_, cls, 1 + extra, larger, got, &n);
  if (s != AllocStatus::kOk) return s;
  for (uint32_t i = 1; i < n; ++i) parked_[cls * kParkPerClass + parkedCount_[cls]++] = got[i];
  parkedUnits_ += (n - 1) * size;
  *unit = got[0];
  return AllocStatus::kOk;
}

bool Store::Park(uint32_t unit) noexcept {
  ForgetParkedIfCut();
  Entry* e = EntryAt(unit);
  const uint32_t flags = AtomicLoad(&e->flags);
  const uint32_t cls = ClassOfFlags(flags);
  if (cls >= kClassCount || (flags & (kFlagIndirect | kFlagFree | kFlagParked)) != 0) return false;
  const uint32_t size = kSizeClasses[cls];
  if (parkedCount_[cls] >= kParkPerClass || parkedUnits_ + size > kParkMaxUnits) return false;
  // The block left its chain under the bucket lock this handle holds; a reader still walking it
  // reads a `next` out of the chain's range or a version that moved, and retries. `next` first:
  // a block marked PARKED always names its owner (killed between the two stores, it is an
  // unreachable block that the repair pass frees).
  AtomicStore(&e->next, env_.selfSlot);
  AtomicStore(&e->flags, kFlagParked | (cls << kClassShift));
  parked_[cls * kParkPerClass + parkedCount_[cls]++] = unit;
  parkedUnits_ += size;
  return true;
}

Status Store::ReturnParked() noexcept {
  for (int attempt = 0; parkedUnits_ != 0; ++attempt) {
    uint32_t units[kClassCount * kParkPerClass];
    uint32_t n = 0;
    for (uint32_t c = 0; c < kClassCount; ++c) {
      for (uint32_t i = 0; i < parkedCount_[c]; ++i) units[n++] = parked_[c * kParkPerClass + i];
    }
    bool cut = false;
    const AllocStatus s = FreeParked(pool_, env_, units, n, &repairState_->cuts, cutsSeen_, &cut);
    if (s == AllocStatus::kOk) {
      if (cut) {
        cutsSeen_ = AtomicLoad(&repairState_->cuts);
        ForgetParked();  // left marked: this handle's slot is marked dead on close
      }
      for (uint8_t& c : parkedCount_) c = 0;
      parkedUnits_ = 0;
      return layout::kOk;
    }
    if (s != AllocStatus::kGone || attempt >= 8) return layout::kErrLockTimeout;
    // A gone allocator holder: the repair pass reclaims this handle's parked blocks with the rest
    // (ParkedOwnerGone) and empties the cache.
    const Status r = RepairFor(&alloc_->lock, allocGoneSeen_);
    if (r != layout::kOk) return r;
  }
  return layout::kOk;
}

bool Store::ParkedOwnerGone(uint32_t o, uint8_t* verdicts) const noexcept {
  if (o == 0 || o >= kOwnerSlots || o == env_.selfSlot) return true;
  if (verdicts[o] == 0) {
    verdicts[o] = ClassifyOwner(&owners_[o], env_.self) == OwnerStatus::kGone ? 2 : 1;
  }
  return verdicts[o] == 2;
}

}  // namespace shm
