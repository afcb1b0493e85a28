// stats() and the per-handle counters (docs/format.md §3 header counters, §8 the pool): the
// live entry counts, the handle's private read/write counts and their flush into the header.
#include <algorithm>

#include "store/store.h"

namespace shm {

void Store::FlushCounters() noexcept {
  if (closed_) return;
  if (reads_ != 0) AtomicAdd64(&hdr_->readCounter, reads_);
  if (writes_ != 0) AtomicAdd64(&hdr_->writeCounter, writes_);
  reads_ = 0;
  writes_ = 0;
  nsCounts_[0] = NsCounts{};  // counts of lives that are over (ReadCounts, RemovalCounts)
  for (uint32_t i = 1; i <= maxNs_; ++i) {
    NsCounts& c = nsCounts_[i];
    if (c.hits == 0 && c.misses == 0 && c.evictions == 0 && c.expirations == 0 && c.bytes == 0) {
      continue;
    }
    // Counts of a life dropped since are dropped too: its record may belong to another.
    if (!CountsCurrent(i)) {
      c = NsCounts{};
      continue;
    }
    layout::NsPolicy* pol = &nsPolicy_[i];
    if (c.hits != 0) AtomicAdd64(&pol->hits, c.hits);
    if (c.misses != 0) AtomicAdd64(&pol->misses, c.misses);
    if (c.evictions != 0) AtomicAdd64(&pol->evictions, c.evictions);
    if (c.expirations != 0) AtomicAdd64(&pol->expirations, c.expirations);
    // Two's complement: adding the u64 of a negative change subtracts it.
    if (c.bytes != 0) AtomicAdd64(&pol->bytes, static_cast<uint64_t>(c.bytes));
    c = NsCounts{};
  }
}

Status Store::AddHits(uint32_t ns, uint32_t hits) noexcept {
  if (closed_) return layout::kErrClosed;
  if (ns == 0 || ns > maxNs_) return layout::kErrInvalidArg;
  reads_ += hits;
  // The hits of the life this handle resolved, as Get counts its own (ReadCounts).
  ReadCounts(ns).hits += hits;
  return layout::kOk;
}

uint32_t Store::Count(uint32_t ns) const noexcept {
  if (closed_) return 0;
  if (ns == 0) return cells_.EntryCount();
  if (!NamespaceLive(ns)) return 0;
  return cells_.NsCount(ns);
}

Status Store::Stats(StoreStats* out) noexcept {
  *out = StoreStats{};
  if (closed_) return layout::kErrClosed;
  uint64_t freeListUnits = 0;
  uint32_t freeHead = 0;
  uint32_t largestFree = 0;
  for (;;) {
    AllocStatus s = FreeListUnits(pool_, env_, &freeListUnits, &freeHead, &largestFree);
    if (s == AllocStatus::kOk) break;
    if (s == AllocStatus::kTimeout) return layout::kErrLockTimeout;
    Status r = s == AllocStatus::kGone ? RepairFor(&alloc_->lock, allocGoneSeen_) : RepairPass();
    if (r != layout::kOk) return r;
  }
  if (freeHead < firstUnit_) freeHead = firstUnit_;
  if (freeHead > totalUnits_) freeHead = totalUnits_;
  FlushCounters();
  out->entries = cells_.EntryCount();
  out->maxEntries = maxEntries_;
  out->maxNamespaces = maxNs_;
  out->buckets = bucketCount_;
  out->namespaces = AtomicLoad(&nsState_->liveCount);
  out->bytesTotal = totalSize_;
  out->bytesTail = uint64_t{totalUnits_ - freeHead} * layout::kBlockUnit;
  out->bytesFreeLists = freeListUnits * layout::kBlockUnit;
  out->bytesFree = out->bytesFreeLists + out->bytesTail;
  out->bytesParked = uint64_t{parkedUnits_} * layout::kBlockUnit;
  out->allocationMisses = allocMisses_;
  out->bytesLargestFree = std::max(uint64_t{largestFree} * layout::kBlockUnit, out->bytesTail);
  const uint64_t used = uint64_t{freeHead - firstUnit_} * layout::kBlockUnit;
  out->bytesLive = used > out->bytesFreeLists ? used - out->bytesFreeLists : 0;
  out->fragmentation =
      out->bytesFree != 0 ? static_cast<double>(out->bytesFreeLists) / out->bytesFree : 0.0;
  // Completed repair passes (RepairState.repairs, format.md §9 step 7), not gcCounter, which a
  // pass that failed part way moves too.
  out->repairs = AtomicLoad(&repairState_->repairs);
  out->reads = AtomicLoad64(&hdr_->readCounter);
  out->writes = AtomicLoad64(&hdr_->writeCounter);
  out->policy = AtomicLoad(&evict_->policy);
  out->hand = AtomicLoad(&evict_->hand);
  out->turns = AtomicLoad(&evict_->turns);
  const uint32_t cursor = AtomicLoad(&compact_->cursor);
  out->compactCursor = cursor < firstUnit_ ? firstUnit_ : cursor;
  out->compactSweeps = AtomicLoad(&compact_->sweeps);
  out->compactSteps = AtomicLoad(&compact_->steps);
  out->compactMoved = AtomicLoad(&compact_->moved);
  out->compactMerged = AtomicLoad(&compact_->merged);
  return layout::kOk;
}

}  // namespace shm
