// verify(): checks every invariant of docs/format.md §9 under all locks, changing nothing.
#include <string>

#include "base/hash.h"
#include "store/internal.h"
#include "store/store.h"

namespace shm {

using layout::Bucket;
using layout::Entry;
using layout::kSizeClasses;

Status Store::Verify(VerifyReport* out) {
  *out = VerifyReport{};
  if (closed_) return layout::kErrClosed;
  for (int attempt = 0;; ++attempt) {
    uint32_t held;
    LockResult r = AcquireLock(&repairState_->lock, env_, false, &held);
    if (r == LockResult::kAcquired) {
      passBeat_.Start(&repairState_->lock, held);
      r = AcquireAllLocks(false);
      if (r == LockResult::kAcquired) {
        VerifyLocked(out);
        ReleaseAllLocks();
        passBeat_.Release();  // with the word held now: the heartbeats moved its version
        return layout::kOk;
      }
      passBeat_.Release();
    }
    if (r == LockResult::kTimeout || attempt >= 8) return layout::kErrLockTimeout;
    // A gone holder: repair first, then verify.
    Status s = RepairPass();
    if (s != layout::kOk) return s;
  }
}

void Store::VerifyLocked(VerifyReport* out) {
  auto error = [out](std::string message) {
    out->ok = false;
    if (out->errors.size() < kMaxVerifyErrors) out->errors.push_back(std::move(message));
  };
  auto unitName = [](uint32_t u) { return "block " + std::to_string(u); };

  // The header.
  Status hs = Validate(base_, regionSize_);
  if (hs != layout::kOk) error(std::string("header: ") + layout::StatusCode(hs));

  internal::UnitBitmap starts, live, onFree;
  if (!starts.Init(firstUnit_, totalUnits_) || !live.Init(firstUnit_, totalUnits_) ||
      !onFree.Init(firstUnit_, totalUnits_)) {
    error("out of memory for the verification bitmaps");
    return;
  }

  // The tiling of [firstUnit, freeHead).
  uint32_t freeHead = AtomicLoad(&hdr_->freeHead);
  if (freeHead < firstUnit_ || freeHead > totalUnits_) {
    error("freeHead " + std::to_string(freeHead) + " outside [firstUnit, totalUnits]");
    freeHead = freeHead < firstUnit_ ? firstUnit_ : totalUnits_;
  }
  uint32_t tiledEnd = firstUnit_;
  for (uint32_t u = firstUnit_; u < freeHead;) {
    const uint32_t cls = ClassOfFlags(AtomicLoad(&EntryAt(u)->flags));
    if (cls >= kClassCount) {
      error(unitName(u) + ": invalid size class " + std::to_string(cls));
      break;
    }
    if (uint64_t{u} + kSizeClasses[cls] > freeHead) {
      error(unitName(u) + ": crosses freeHead");
      break;
    }
    starts.Set(u);
    u += kSizeClasses[cls];
    tiledEnd = u;
    passBeat_.Work();
  }

  // A unit a chain or a free list links to must be a block start met for the first time on
  // that kind of walk; anything else ends the walk with an error.
  auto firstVisit = [&](const std::string& where, uint32_t u, internal::UnitBitmap* visited,
                        const char* twice) {
    const char* problem = nullptr;
    if (u < firstUnit_ || u >= tiledEnd) {
      problem = "unit out of range";
    } else if (!starts.Get(u)) {
      problem = "not a block start";
    } else if (visited->Get(u)) {
      problem = twice;
    }
    if (problem != nullptr) {
      error(where + ": " + problem);
      return false;
    }
    visited->Set(u);
    return true;
  };

  // Every chain.
  bool nsLive[kMaxNamespaceId + 1] = {};
  uint32_t liveNamespaces = 0;
  for (uint32_t i = 1; i <= kMaxNamespaceId; ++i) {
    nsLive[i] = NamespaceLive(i);
    if (nsLive[i]) ++liveNamespaces;
  }
  uint64_t nsCounts[kMaxNamespaceId + 1] = {};
  internal::UnitBitmap seen;
  if (!seen.Init(firstUnit_, totalUnits_)) {
    error("out of memory for the verification bitmaps");
    return;
  }
  internal::DupIndex dups;
  for (uint32_t bi = 0; bi < bucketCount_; ++bi) {
    const Bucket* b = &buckets_[bi];
    dups.Clear();
    uint32_t count = 0;
    uint32_t u = AtomicLoad(&b->head);
    passBeat_.Work();  // a bucket: on a store of many empty buckets these are the work
    while (u != 0) {
      passBeat_.Work();
      const std::string where = "bucket " + std::to_string(bi) + ", " + unitName(u);
      if (!firstVisit(where, u, &seen, "reached twice (a cycle or a shared chain)")) break;
      const Entry* e = EntryAt(u);
      const uint32_t flags = AtomicLoad(&e->flags);
      if (const char* problem = EntryProblem(u, flags, bi, nsLive)) {
        error(where + ": " + problem);
      } else if (dups.Contains(base_, e)) {
        error(where + ": repeats a key already on the chain");
      } else {
        live.Set(u);
        dups.Add(e->keyHash, u);
        ++count;
        ++nsCounts[e->namespaceId];
        ++out->entries;
      }
      u = AtomicLoad(&e->next);
    }
    if (b->count != count) {
      error("bucket " + std::to_string(bi) + ": count " + std::to_string(b->count) + ", chain " +
            std::to_string(count));
    }
  }

  // Every free list.
  for (uint32_t c = 0; c < kClassCount; ++c) {
    uint32_t u = AtomicLoad(&alloc_->freeHeads[c]);
    while (u != 0) {
      passBeat_.Work();
      const std::string where = "free list " + std::to_string(c) + ", " + unitName(u);
      if (!firstVisit(where, u, &onFree, "reached twice (a cycle)")) break;
      const Entry* e = EntryAt(u);
      const uint32_t flags = AtomicLoad(&e->flags);
      if ((flags & kFlagFree) == 0) error(where + ": FREE not set");
      if (ClassOfFlags(flags) != c) error(where + ": size class differs from the list's");
      if (live.Get(u)) error(where + ": both live and free");
      u = AtomicLoad(&e->next);
    }
  }

  // Every block is live or free, not both, not neither.
  uint32_t firstLeak = 0;
  for (uint32_t u = firstUnit_; u < tiledEnd;) {
    const uint32_t units = kSizeClasses[ClassOfFlags(AtomicLoad(&EntryAt(u)->flags))];
    if (live.Get(u)) {
      out->liveUnits += units;
    } else if (onFree.Get(u)) {
      out->freeUnits += units;
    } else {
      if (out->leakedUnits == 0) firstLeak = u;
      out->leakedUnits += units;
    }
    u += units;
    passBeat_.Work();
  }
  if (out->leakedUnits != 0) {
    error("pool: " + std::to_string(out->leakedUnits) +
          " units neither live nor free (leaked), the first at " + unitName(firstLeak));
  }

  // The counters.
  const uint32_t entryCount = AtomicLoad(&hdr_->entryCount);
  if (entryCount != out->entries) {
    error("entryCount " + std::to_string(entryCount) + ", chains hold " +
          std::to_string(out->entries));
  }
  for (uint32_t i = 1; i <= kMaxNamespaceId; ++i) {
    if (!nsLive[i]) {
      if (nsCounts[i] != 0)
        error("namespace " + std::to_string(i) + " is not live but has entries");
      continue;
    }
    const uint32_t count = AtomicLoad(&nsTable_[i].count);
    if (count != nsCounts[i]) {
      error("namespace " + std::to_string(i) + ": count " + std::to_string(count) + ", found " +
            std::to_string(nsCounts[i]));
    }
    const uint32_t len = nsTable_[i].nameLength;
    if (len == 0 || len > kMaxNamespaceBytes) {
      error("namespace " + std::to_string(i) + ": name length " + std::to_string(len));
    }
  }
  const uint32_t liveCount = AtomicLoad(&nsState_->liveCount);
  if (liveCount != liveNamespaces) {
    error("NsState.liveCount " + std::to_string(liveCount) + ", live records " +
          std::to_string(liveNamespaces));
  }
}

}  // namespace shm
