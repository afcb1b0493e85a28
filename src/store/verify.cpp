// verify(): checks every invariant of docs/format.md §9 under all locks, changing nothing. The
// JS engine (lib/store/js/verify.js) makes the same checks in the same order with the same
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

namespace internal {

// What verify() has found so far: the report it fills and what the later checks read.
struct VerifyScan {
  explicit VerifyScan(VerifyReport* report) : out(report) {}

  bool Init(uint32_t firstUnit, uint32_t totalUnits, uint32_t maxNs) noexcept {
    nsLive.reset(new (std::nothrow) bool[maxNs + 1]());
    accepted.reset(new (std::nothrow) bool[maxNs + 1]());
    nsCounts.reset(new (std::nothrow) uint64_t[maxNs + 1]());
    if (!nsLive || !accepted || !nsCounts) return false;
    return starts.Init(firstUnit, totalUnits) && live.Init(firstUnit, totalUnits) &&
           onFree.Init(firstUnit, totalUnits) && seen.Init(firstUnit, totalUnits);
  }
  void Error(std::string message) {
    out->ok = false;
    if (out->errors.size() < kMaxVerifyErrors) out->errors.push_back(std::move(message));
  }
  // A unit a chain or a free list links to must be a block start met for the first time on that
  // kind of walk (`visited`); anything else is reported and ends the walk. (These walks have no
  // step limit: the bitmaps cut cycles.)
  bool FirstVisit(const std::string& where, ChainStep step, uint32_t u, UnitBitmap* visited,
                  const char* twice) {
    const char* problem = nullptr;
    if (step == ChainStep::kOutOfRange) {
      problem = "unit out of range";
    } else if ((step != ChainStep::kEntry && step != ChainStep::kFree) || !starts.Get(u)) {
      problem = "not a block start";
    } else if (visited->Get(u)) {
      problem = twice;
    }
    if (problem != nullptr) {
      Error(where + ": " + problem);
      return false;
    }
    visited->Set(u);
    return true;
  }

  VerifyReport* out;
  // A large block of a writer that is gone, linked by no entry, or a block parked by an owner
  // that is gone: both wait for a repair pass.
  bool goneWriter = false;
  uint8_t ownerVerdicts[kOwnerSlots] = {};  // Store::ParkedOwnerGone's, for this check
  UnitBitmap starts;                        // every block start of the tiling
  UnitBitmap live;                          // blocks of valid entries on the chains
  UnitBitmap onFree;                        // blocks met on the free lists
  UnitBitmap seen;                          // blocks met on the chains
  uint32_t tiledEnd = 0;
  std::unique_ptr<bool[]> nsLive;  // maxNamespaces + 1 each
  std::unique_ptr<bool[]> accepted;
  uint32_t liveNamespaces = 0;
  std::unique_ptr<uint64_t[]> nsCounts;
  uint64_t expiring = 0;  // the valid, unique entries whose expiresAt is not 0
};

}  // namespace internal

namespace {

std::string Str(uint64_t v) {
  return std::to_string(v);
}

}  // namespace

Status Store::Verify(VerifyReport* out, uint32_t* progress) noexcept {
  *out = VerifyReport{};
  if (closed_) return layout::kErrClosed;
  progress_ = progress;
  struct Clear {
    uint32_t** p;
    ~Clear() { *p = nullptr; }
  } clear{&progress_};
  for (int attempt = 0;; ++attempt) {
    uint32_t held;
    LockResult r = AcquireLock(&repairState_->lock, env_, false, &held);
    if (r == LockResult::kAcquired) {
      passBeat_.Start(&repairState_->lock, held);
      r = AcquireAllLocks(false);
      if (r == LockResult::kAcquired) {
        Status s;
        bool goneWriter = false;
        try {
          s = VerifyLocked(out, &goneWriter);
        } catch (const std::bad_alloc&) {  // the messages, the index of a chain's keys
          s = layout::kErrNoMemory;
        }
        ReleaseAllLocks();
        passBeat_.Release();  // with the word held now: the heartbeats moved its version
        if (s != layout::kOk) *out = VerifyReport{};
        // A large block left by a writer that is gone (killed before linking it): repair first,
        // as for a lock left by a gone holder, then verify again.
        if (s == layout::kOk && goneWriter && attempt < 8) {
          *out = VerifyReport{};
          s = RepairPass();
          if (s != layout::kOk) return s;
          continue;
        }
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

Status Store::VerifyLocked(VerifyReport* out, bool* goneWriter) {
  internal::VerifyScan scan(out);
  if (progress_ != nullptr) {
    // The work: the pool walked twice (tiling, then leaks) by units, and every bucket once.
    const uint32_t freeHead = AtomicLoad(&hdr_->freeHead);
    const uint64_t pool = freeHead > firstUnit_ ? freeHead - firstUnit_ : 0;
    progressTotal_ = 2 * pool + bucketCount_;
    progressShift_ = 0;
    while ((progressTotal_ >> progressShift_) > 0x7fffffffu) ++progressShift_;
    AtomicStore(&progress_[0], 0u);
    AtomicStore(&progress_[1], static_cast<uint32_t>(progressTotal_ >> progressShift_));
  }
  VerifyHeader(&scan);
  if (!scan.Init(firstUnit_, totalUnits_, maxNs_)) return layout::kErrNoMemory;
  VerifyPool(&scan);
  VerifyChains(&scan);
  VerifyFreeLists(&scan);
  VerifyLeaks(&scan);
  VerifyCounters(&scan);
  VerifyProgress(progressTotal_);
  *goneWriter = scan.goneWriter;
  return layout::kOk;
}

void Store::VerifyProgress(uint64_t done) noexcept {
  if (progress_ == nullptr) return;
  if (done > progressTotal_) done = progressTotal_;
  AtomicStore(&progress_[0], static_cast<uint32_t>(done >> progressShift_));
}

// Establishes: the header passed the open checks of format.md §3, or its status is reported.
void Store::VerifyHeader(internal::VerifyScan* scan) {
  Status hs = Validate(base_, regionSize_);
  if (hs != layout::kOk) scan->Error(std::string("header: ") + layout::StatusCode(hs));
}

// Establishes: scan->starts holds every block start of [firstUnit, freeHead) up to the first
// block that is not valid, and scan->tiledEnd is where that tiling ends.
void Store::VerifyPool(internal::VerifyScan* scan) {
  uint32_t freeHead = AtomicLoad(&hdr_->freeHead);
  if (freeHead < firstUnit_ || freeHead > totalUnits_) {
    scan->Error("header: freeHead " + Str(freeHead) + " outside [" + Str(firstUnit_) + ", " +
                Str(totalUnits_) + "]");
    freeHead = freeHead < firstUnit_ ? firstUnit_ : totalUnits_;
  }
  scan->tiledEnd = firstUnit_;
  for (uint32_t u = firstUnit_; u < freeHead;) {
    const uint32_t flags = AtomicLoad(&EntryAt(u)->flags);
    const uint32_t cls = ClassOfFlags(flags);
    const uint32_t size = BlockUnitsOf(base_, u, flags);
    if (cls > kLargeClass) {
      scan->Error("pool: block " + Str(u) + ": invalid size class " + Str(cls));
      break;
    }
    if (size == 0 || uint64_t{u} + size > freeHead) {
      scan->Error("pool: block " + Str(u) + ": crosses freeHead " + Str(freeHead));
      break;
    }
    scan->starts.Set(u);
    u += size;
    scan->tiledEnd = u;
    passBeat_.Work();
    VerifyProgress(u - firstUnit_);
  }
}

// Establishes: every chain problem and wrong bucket count is reported, and scan->live and
// scan->nsCounts hold the valid, unique entries. (A live namespace record with an impossible
// nameLength is reported by VerifyCounters; its entries count as live here, until a repair pass
// drops it.)
void Store::VerifyChains(internal::VerifyScan* scan) {
  const uint64_t pool = (progressTotal_ - bucketCount_) / 2;  // for the progress words
  scan->liveNamespaces = LiveNamespaces(scan->nsLive.get());
  // verify() accepts the entries of a namespace being dropped (its drop removes them, or the next
  // repair pass does); a repair pass removes them.
  bool* accepted = scan->accepted.get();
  for (uint32_t i = 0; i <= maxNs_; ++i) {
    accepted[i] = scan->nsLive[i] || AtomicLoad(&nsTable_[i].state) == layout::kNsStateDropping;
  }
  const ChainBounds tiled{base_, firstUnit_, scan->tiledEnd, kNoStepLimit};
  internal::DupIndex dups;
  for (uint32_t bi = 0; bi < bucketCount_; ++bi) {
    Bucket* b = &buckets_[bi];
    dups.Clear();
    uint32_t count = 0;
    ChainCursor c(tiled, &b->head);
    passBeat_.Work();  // a bucket: on a store of many empty buckets these are the work
    if ((bi & 1023) == 0) VerifyProgress(progressTotal_ - bucketCount_ - pool + bi);
    for (;;) {
      const ChainStep step = c.Next();
      if (step == ChainStep::kEnd) break;
      passBeat_.Work();
      const uint32_t u = c.unit();
      const std::string where = "bucket " + Str(bi) + ", block " + Str(u);
      if (!scan->FirstVisit(where, step, u, &scan->seen,
                            "reached twice (a cycle or a shared chain)")) {
        break;
      }
      const Entry* e = c.entry();
      // Read only where it lies in the entry's block (EntryProblem has not checked its length yet).
      const uint32_t large = RefInBlock(c.flags(), e->keyLength) ? RefOf(e, e->keyLength).unit : 0;
      if (const char* problem = EntryProblem(c, bi, accepted)) {
        scan->Error(where + ": " + problem);
      } else if (dups.Contains(base_, e)) {
        scan->Error(where + ": repeats a key already on the chain");
      } else if (large != 0 && !scan->starts.Get(large)) {
        scan->Error(where + ": refers to a large block that is not a block start");
      } else if (large != 0 && scan->live.Get(large)) {
        scan->Error(where + ": refers to a large block another entry refers to");
      } else {
        if (large != 0) scan->live.Set(large);
        scan->live.Set(u);
        dups.Add(e->keyHash, u);
        ++count;
        ++scan->nsCounts[e->namespaceId];
        ++scan->out->entries;
        if (ExpiresAtOf(e) != 0) ++scan->expiring;
      }
    }
    if (b->count != count) {
      scan->Error("bucket " + Str(bi) + ": count " + Str(b->count) + ", found " + Str(count));
    }
  }
}

// Establishes: every free list problem is reported, scan->onFree holds the blocks met on the
// free lists, and, when every list could be followed to its end, a listedUnits that is not the
// units of their blocks is reported.
void Store::VerifyFreeLists(internal::VerifyScan* scan) {
  const ChainBounds tiled{base_, firstUnit_, scan->tiledEnd, kNoStepLimit};
  // The units of the blocks met, and whether every list was followed to its end.
  uint64_t listed = 0;
  bool whole = true;
  for (uint32_t cls = 0; cls < kClassCount; ++cls) {
    ChainCursor c(tiled, &alloc_->freeHeads[cls]);
    uint32_t prev = 0;
    for (;;) {
      const ChainStep step = c.Next();
      if (step == ChainStep::kEnd) break;
      passBeat_.Work();
      const uint32_t u = c.unit();
      const std::string where = "free list " + Str(cls) + ", block " + Str(u);
      if (!scan->FirstVisit(where, step, u, &scan->onFree,
                            "reached twice (a cycle, or on another list)")) {
        whole = false;
        break;
      }
      listed += layout::kSizeClasses[cls];
      if (step != ChainStep::kFree) scan->Error(where + ": FREE not set");
      if (ClassOfFlags(c.flags()) != cls) {
        scan->Error(where + ": size class differs from the list's");
      }
      if (scan->live.Get(u)) scan->Error(where + ": both live and free");
      if (AtomicLoad(&FreeAt(base_, u)->prev) != prev) {
        scan->Error(where + ": prev does not name the block before it");
      }
      prev = u;
    }
  }
  // The large list: its blocks are not of a table class, so the cursor (which would call them
  // invalid) is not used; the same checks, by hand.
  uint32_t* link = &alloc_->largeHead;
  uint32_t prev = 0;
  for (;;) {
    const uint32_t u = AtomicLoad(link);
    if (u == 0) break;
    passBeat_.Work();
    const std::string where = "free list large, block " + Str(u);
    if (u < firstUnit_ || u >= scan->tiledEnd || !scan->starts.Get(u)) {
      scan->Error(where + ": not a block start of the pool");
      whole = false;
      break;
    }
    if (scan->onFree.Get(u)) {
      scan->Error(where + ": reached twice (a cycle, or on another list)");
      whole = false;
      break;
    }
    scan->onFree.Set(u);
    const uint32_t flags = AtomicLoad(&EntryAt(u)->flags);
    // A block start of the tiling: its size is valid.
    listed += BlockUnitsOf(base_, u, flags);
    if ((flags & kFlagFree) == 0) scan->Error(where + ": FREE not set");
    if (ClassOfFlags(flags) != kLargeClass) {
      scan->Error(where + ": size class differs from the list's");
    }
    if (scan->live.Get(u)) scan->Error(where + ": both live and free");
    if (AtomicLoad(&FreeAt(base_, u)->prev) != prev) {
      scan->Error(where + ": prev does not name the block before it");
    }
    prev = u;
    link = &EntryAt(u)->next;
  }
  const uint32_t count = AtomicLoad(&alloc_->listedUnits);
  if (whole && listed != count) {
    scan->Error("allocator: listedUnits " + Str(count) + ", the free lists hold " + Str(listed));
  }
}

// Establishes: the report's liveUnits, freeUnits and leakedUnits, every block of the tiling
// counted once, and an error when some block is neither live nor free.
void Store::VerifyLeaks(internal::VerifyScan* scan) {
  const uint64_t pool = (progressTotal_ - bucketCount_) / 2;  // for the progress words
  VerifyReport* out = scan->out;
  uint32_t firstLeak = 0;
  for (uint32_t u = firstUnit_; u < scan->tiledEnd;) {
    const uint32_t flags = AtomicLoad(&EntryAt(u)->flags);
    const uint32_t units = BlockUnitsOf(base_, u, flags);
    // A large block no entry refers to yet, whose writer (LargeBlock.writer) is still there: a
    // set in flight (it fills the block before taking its bucket lock). A gone writer's block
    // is left for the repair pass Verify() runs first.
    const uint32_t writer = ClassOfFlags(flags) == kLargeClass && (flags & kFlagFree) == 0
                                ? AtomicLoad(&LargeAt(base_, u)->writer)
                                : 0;
    const bool inFlight = writer != 0 && writer < kOwnerSlots && !scan->live.Get(u) &&
                          ClassifyOwner(&owners_[writer], env_.self) != OwnerStatus::kGone;
    if (writer != 0 && !inFlight && !scan->live.Get(u)) scan->goneWriter = true;
    // A block parked by a live writer (this handle included) is that writer's; one parked by a
    // gone owner is left for the repair pass Verify() runs first (format.md §8, "Parked blocks").
    const bool parked = (flags & kFlagParked) != 0 && ClassOfFlags(flags) < kClassCount &&
                        !scan->live.Get(u) && !scan->onFree.Get(u);
    const uint32_t parker = parked ? AtomicLoad(&EntryAt(u)->next) : 0;
    const bool parkedLive =
        parked && (parker == env_.selfSlot || !ParkedOwnerGone(parker, scan->ownerVerdicts));
    if (parked && !parkedLive) scan->goneWriter = true;
    if (scan->live.Get(u) || inFlight) {
      out->liveUnits += units;
    } else if (parkedLive) {
      out->parkedUnits += units;
    } else if (scan->onFree.Get(u)) {
      out->freeUnits += units;
    } else {
      if (out->leakedUnits == 0) firstLeak = u;
      out->leakedUnits += units;
    }
    u += units;
    passBeat_.Work();
    VerifyProgress(progressTotal_ - pool + (u - firstUnit_));
  }
  if (out->leakedUnits != 0) {
    scan->Error("pool: " + Str(out->leakedUnits) +
                " units neither live nor free (leaked), the first at block " + Str(firstLeak));
  }
}

// Establishes: the header's entryCount, each live namespace record (name length, count) and
// NsState.liveCount are checked against what the chains hold (entries count only in live
// namespaces).
// Establishes: the count cells agree with the chains (§5, "Count cells"): no cell's entries above
// its limit, the header's grant the sum of the limits and within maxEntries, the cells' entries,
// their entries with an expiry and each live namespace's counts what the chains hold.
void Store::VerifyCells(internal::VerifyScan* scan) {
  uint32_t limits = cells_.SumLimits();
  for (uint32_t k = 0; k < CountCells::kCells; ++k) {
    const int32_t unused = cells_.UnusedOf(k);
    if (unused < 0) {
      scan->Error("count cell " + Str(k) + ": " +
                  Str(static_cast<uint64_t>(-static_cast<int64_t>(unused))) +
                  " entries above its limit");
    }
  }
  const uint32_t granted = AtomicLoad(&hdr_->grantedEntries);
  if (granted != limits) {
    scan->Error("header: grantedEntries " + Str(granted) + ", the cells' limits " + Str(limits));
  }
  if (granted > maxEntries_) {
    scan->Error("header: grantedEntries " + Str(granted) + " above maxEntries " + Str(maxEntries_));
  }
  const uint32_t entries = cells_.SumEntries();
  if (entries != scan->out->entries) {
    scan->Error("count cells: " + Str(entries) + " entries, found " + Str(scan->out->entries));
  }
  const uint32_t expiring = cells_.SumExpiring();
  if (expiring != scan->expiring) {
    scan->Error("count cells: " + Str(expiring) + " entries with an expiry, found " +
                Str(scan->expiring));
  }
  for (uint32_t i = 1; i <= maxNs_; ++i) {
    if (!scan->nsLive[i]) continue;
    const uint32_t count = cells_.SumNs(i);
    if (count != scan->nsCounts[i]) {
      scan->Error("namespace " + Str(i) + ": count " + Str(count) + ", found " +
                  Str(scan->nsCounts[i]));
    }
  }
}

void Store::VerifyCounters(internal::VerifyScan* scan) {
  for (uint32_t i = 1; i <= maxNs_; ++i) {
    if (!scan->nsLive[i]) continue;
    const uint32_t len = nsTable_[i].nameLength;
    if (len == 0 || len > kMaxNamespaceBytes) {
      scan->Error("namespace " + Str(i) + ": name length " + Str(len));
    } else if (nsTable_[i].nameHash != Xxh32(NameOf(i), len, kNsHashSeed)) {
      scan->Error("namespace " + Str(i) + ": nameHash is not its name's");
    } else {
      bool sure = false;
      const uint32_t gen = nsGen_[i];
      const uint32_t found = FindNamespace(NameOf(i), len, nsTable_[i].nameHash, &sure);
      nsGen_[i] = gen;  // a check, not a resolution by this handle
      if (found != i) scan->Error("namespace " + Str(i) + ": not found through the name index");
    }
  }
  VerifyCells(scan);
  uint32_t indexed = 0;
  for (uint32_t s = 0; s <= indexMask_; ++s) {
    const uint32_t slot = AtomicLoad(&nsIndex_[s]);
    if (slot == 0) continue;
    ++indexed;
    const uint32_t id = slot & kNsIndexIdMask;
    if (id == 0 || id > maxNs_ || !scan->nsLive[id]) {
      scan->Error("name index: slot " + Str(s) + " holds " + Str(id) + ", not a live namespace");
    } else if (slot != NsIndexSlot(id, nsTable_[id].nameHash)) {
      scan->Error("name index: slot " + Str(s) + " has a tag that is not its name's");
    }
  }
  if (indexed != scan->liveNamespaces) {
    scan->Error("name index: " + Str(indexed) + " ids, " + Str(scan->liveNamespaces) +
                " live namespaces");
  }
  const uint32_t liveCount = AtomicLoad(&nsState_->liveCount);
  if (liveCount != scan->liveNamespaces) {
    scan->Error("namespaces: liveCount " + Str(liveCount) + ", found " + Str(scan->liveNamespaces));
  }
}

}  // namespace shm
