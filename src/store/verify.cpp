// verify(): checks every invariant of docs/format.md §9 under all locks, changing nothing. The
// JS engine (lib/engine/maintenance.js) makes the same checks in the same order with the same
// messages: docs/api.md (store.verify()) lists them.
#include <new>
#include <string>

#include "base/hash.h"
#include "store/chain.h"
#include "store/internal.h"
#include "store/store.h"

namespace shm {

using layout::Bucket;
using layout::Entry;
using layout::kSizeClasses;

Status Store::Verify(VerifyReport* out) noexcept {
  *out = VerifyReport{};
  if (closed_) return layout::kErrClosed;
  for (int attempt = 0;; ++attempt) {
    uint32_t held;
    LockResult r = AcquireLock(&repairState_->lock, env_, false, &held);
    if (r == LockResult::kAcquired) {
      passBeat_.Start(&repairState_->lock, held);
      r = AcquireAllLocks(false);
      if (r == LockResult::kAcquired) {
        Status s;
        try {
          s = VerifyLocked(out);
        } catch (const std::bad_alloc&) {  // the messages, the index of a chain's keys
          s = layout::kErrNoMemory;
        }
        ReleaseAllLocks();
        passBeat_.Release();  // with the word held now: the heartbeats moved its version
        if (s != layout::kOk) *out = VerifyReport{};
        return s;
      }
      passBeat_.Release();
    }
    if (r == LockResult::kTimeout || attempt >= 8) return layout::kErrLockTimeout;
    // A gone holder: repair first, then verify.
    Status s = RepairPass();
    if (s != layout::kOk) return s;
  }
}

Status Store::VerifyLocked(VerifyReport* out) {
  auto error = [out](std::string message) {
    out->ok = false;
    if (out->errors.size() < kMaxVerifyErrors) out->errors.push_back(std::move(message));
  };
  auto str = [](uint64_t v) { return std::to_string(v); };

  // The header.
  Status hs = Validate(base_, regionSize_);
  if (hs != layout::kOk) error(std::string("header: ") + layout::StatusCode(hs));

  internal::UnitBitmap starts, live, onFree, seen;
  if (!starts.Init(firstUnit_, totalUnits_) || !live.Init(firstUnit_, totalUnits_) ||
      !onFree.Init(firstUnit_, totalUnits_) || !seen.Init(firstUnit_, totalUnits_)) {
    return layout::kErrNoMemory;
  }

  // The tiling of [firstUnit, freeHead).
  uint32_t freeHead = AtomicLoad(&hdr_->freeHead);
  if (freeHead < firstUnit_ || freeHead > totalUnits_) {
    error("header: freeHead " + str(freeHead) + " outside [" + str(firstUnit_) + ", " +
          str(totalUnits_) + "]");
    freeHead = freeHead < firstUnit_ ? firstUnit_ : totalUnits_;
  }
  uint32_t tiledEnd = firstUnit_;
  for (uint32_t u = firstUnit_; u < freeHead;) {
    const uint32_t cls = ClassOfFlags(AtomicLoad(&EntryAt(u)->flags));
    if (cls >= kClassCount) {
      error("pool: block " + str(u) + ": invalid size class " + str(cls));
      break;
    }
    if (uint64_t{u} + kSizeClasses[cls] > freeHead) {
      error("pool: block " + str(u) + ": crosses freeHead " + str(freeHead));
      break;
    }
    starts.Set(u);
    u += kSizeClasses[cls];
    tiledEnd = u;
    passBeat_.Work();
  }

  // A unit a chain or a free list links to must be a block start met for the first time on
  // that kind of walk; anything else ends the walk with an error. (These walks have no step
  // limit: the bitmaps cut cycles.)
  const ChainBounds tiled{base_, firstUnit_, tiledEnd, kNoStepLimit};
  auto firstVisit = [&](const std::string& where, ChainStep step, uint32_t u,
                        internal::UnitBitmap* visited, const char* twice) {
    const char* problem = nullptr;
    if (step == ChainStep::kOutOfRange) {
      problem = "unit out of range";
    } else if ((step != ChainStep::kEntry && step != ChainStep::kFree) || !starts.Get(u)) {
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

  // Every chain. (A live namespace record with an impossible nameLength is reported below; its
  // entries count as live here, until a repair pass drops it.)
  bool nsLive[kMaxNamespaceId + 1] = {};
  uint32_t liveNamespaces = 0;
  for (uint32_t i = 1; i <= kMaxNamespaceId; ++i) {
    nsLive[i] = NamespaceLive(i);
    if (nsLive[i]) ++liveNamespaces;
  }
  uint64_t nsCounts[kMaxNamespaceId + 1] = {};
  internal::DupIndex dups;
  for (uint32_t bi = 0; bi < bucketCount_; ++bi) {
    Bucket* b = &buckets_[bi];
    dups.Clear();
    uint32_t count = 0;
    ChainCursor c(tiled, &b->head);
    passBeat_.Work();  // a bucket: on a store of many empty buckets these are the work
    for (;;) {
      const ChainStep step = c.Next();
      if (step == ChainStep::kEnd) break;
      passBeat_.Work();
      const uint32_t u = c.unit();
      const std::string where = "bucket " + str(bi) + ", block " + str(u);
      if (!firstVisit(where, step, u, &seen, "reached twice (a cycle or a shared chain)")) break;
      const Entry* e = c.entry();
      if (const char* problem = EntryProblem(c, bi, nsLive)) {
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
    }
    if (b->count != count) {
      error("bucket " + str(bi) + ": count " + str(b->count) + ", found " + str(count));
    }
  }

  // Every free list.
  for (uint32_t cls = 0; cls < kClassCount; ++cls) {
    ChainCursor c(tiled, &alloc_->freeHeads[cls]);
    for (;;) {
      const ChainStep step = c.Next();
      if (step == ChainStep::kEnd) break;
      passBeat_.Work();
      const uint32_t u = c.unit();
      const std::string where = "free list " + str(cls) + ", block " + str(u);
      if (!firstVisit(where, step, u, &onFree, "reached twice (a cycle, or on another list)"))
        break;
      if (step != ChainStep::kFree) error(where + ": FREE not set");
      if (ClassOfFlags(c.flags()) != cls) error(where + ": size class differs from the list's");
      if (live.Get(u)) error(where + ": both live and free");
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
    error("pool: " + str(out->leakedUnits) +
          " units neither live nor free (leaked), the first at block " + str(firstLeak));
  }

  // The counters and the namespace records (entries are counted only in live namespaces).
  const uint32_t entryCount = AtomicLoad(&hdr_->entryCount);
  if (entryCount != out->entries) {
    error("header: entryCount " + str(entryCount) + ", found " + str(out->entries));
  }
  for (uint32_t i = 1; i <= kMaxNamespaceId; ++i) {
    if (!nsLive[i]) continue;
    const uint32_t len = nsTable_[i].nameLength;
    if (len == 0 || len > kMaxNamespaceBytes) {
      error("namespace " + str(i) + ": name length " + str(len));
    }
    const uint32_t count = AtomicLoad(&nsTable_[i].count);
    if (count != nsCounts[i]) {
      error("namespace " + str(i) + ": count " + str(count) + ", found " + str(nsCounts[i]));
    }
  }
  const uint32_t liveCount = AtomicLoad(&nsState_->liveCount);
  if (liveCount != liveNamespaces) {
    error("namespaces: liveCount " + str(liveCount) + ", found " + str(liveNamespaces));
  }
  return layout::kOk;
}

}  // namespace shm
