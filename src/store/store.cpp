// shm::Store handles (docs/format.md §3, §6): attaching to a region (claiming an owner slot),
// closing, and the entry point of repair(). The format checks are in format.cpp, get/has and
// forEach in read.cpp, set in write.cpp, delete/clear in remove.cpp, namespaces in namespaces.cpp,
// stats() and the counters in stats.cpp, the repair pass in repair.cpp and verify() in verify.cpp.
#include <new>

#include "store/store.h"

namespace shm {

using layout::Bucket;
using layout::Header;

Status Store::Attach(uint8_t* base, uint64_t size, uint32_t pid, uint32_t tid,
                     uint32_t lockTimeoutMs, std::unique_ptr<Store>* out) noexcept {
  Geometry g;
  Status s = Validate(base, size, &g);
  if (s != layout::kOk) return s;
  if (pid == 0) return layout::kErrInvalidArg;
  std::unique_ptr<Store> st(new (std::nothrow) Store());
  if (!st) return layout::kErrNoMemory;
  st->scratch_.reset(new (std::nothrow) uint8_t[kMaxKeyBytes + kMaxInlineValueBytes + 64]);
  if (!st->scratch_) return layout::kErrNoMemory;
  st->nsCounts_.reset(new (std::nothrow) NsCounts[g.maxNamespaces + 1]);
  st->nsGen_.reset(new (std::nothrow) uint32_t[g.maxNamespaces + 1]());
  st->nsCountGen_.reset(new (std::nothrow) uint32_t[g.maxNamespaces + 1]());
  if (!st->nsCounts_ || !st->nsGen_ || !st->nsCountGen_) return layout::kErrNoMemory;
  const layout::StoreRegions regions = layout::ComputeStoreRegions(g.bucketCount, g.maxNamespaces);
  auto* h = reinterpret_cast<Header*>(base);
  st->base_ = base;
  st->regionSize_ = size;
  st->totalSize_ = g.totalSize;
  st->totalUnits_ = static_cast<uint32_t>(st->totalSize_ / layout::kBlockUnit);
  st->bucketCount_ = g.bucketCount;
  st->mask_ = st->bucketCount_ - 1;
  st->firstUnit_ = static_cast<uint32_t>(regions.entries / layout::kBlockUnit);
  st->maxNs_ = g.maxNamespaces;
  st->indexMask_ = static_cast<uint32_t>(regions.indexSlots - 1);
  st->maxEntries_ = g.maxEntries;
  st->chains_ = ChainBounds{base, st->firstUnit_, st->totalUnits_,
                            ChainStepLimit(st->maxEntries_, st->firstUnit_, st->totalUnits_)};
  st->hdr_ = h;
  st->alloc_ = reinterpret_cast<layout::AllocState*>(base + layout::kAllocOffset);
  st->nsState_ = reinterpret_cast<layout::NsState*>(base + layout::kNsstateOffset);
  st->repairState_ = reinterpret_cast<layout::RepairState*>(base + layout::kRepairOffset);
  st->cutsSeen_ = AtomicLoad(&st->repairState_->cuts);
  st->nsTable_ = reinterpret_cast<layout::Namespace*>(base + regions.namespaces);
  st->nsPolicy_ = reinterpret_cast<layout::NsPolicy*>(base + regions.policies);
  st->nsNames_ = base + regions.names;
  st->nsIndex_ = reinterpret_cast<uint32_t*>(base + regions.index);
  st->evict_ = reinterpret_cast<layout::EvictState*>(base + layout::kEvictOffset);
  st->compact_ = reinterpret_cast<layout::CompactState*>(base + layout::kCompactOffset);
  st->owners_ = reinterpret_cast<layout::Owner*>(base + layout::kOwnersOffset);
  st->buckets_ = reinterpret_cast<Bucket*>(base + layout::kBucketsOffset);
  st->cells_ = CountCells(&h->grantedEntries, reinterpret_cast<uint32_t*>(base + regions.cells),
                          regions.cellSize / 4, st->maxNs_, st->maxEntries_);
  st->pool_.base = base;
  st->pool_.header = h;
  st->pool_.alloc = st->alloc_;
  st->pool_.firstUnit = st->firstUnit_;
  st->pool_.totalUnits = st->totalUnits_;
  st->pool_.goneSeen = &st->allocGoneSeen_;
  st->env_.regionBase = base;
  st->env_.heartbeatWord = &st->repairState_->lock;
  st->env_.owners = st->owners_;
  st->env_.self = IdentityOf(pid, tid);
  st->env_.lockTimeoutMs = lockTimeoutMs == 0 ? kDefaultLockTimeoutMs : lockTimeoutMs;

  bool adopted = false;
  uint32_t slot = ClaimOwnerSlot(st->owners_, st->env_.self);
  if (slot == 0) {
    // Every slot is taken: adopt one whose owner is gone and repair (the repair takes over the
    // locks that still name the adopted slot and frees the other gone owners' slots).
    slot = AdoptDeadOwnerSlot(st->owners_, st->env_.self);
    if (slot == 0) return layout::kErrTooManyHandles;
    adopted = true;
  }
  st->env_.selfSlot = slot;
  st->cells_.SetSlot(slot);
  st->closed_ = false;
  RegisterLiveSlot(base, slot);
  if (adopted) {
    // Forced: a pass that ran meanwhile could not take over the locks naming this slot.
    s = st->RepairPass(true);
    if (s != layout::kOk) return s;  // ~Store releases the slot
  }
  *out = std::move(st);
  return layout::kOk;
}

Store::~Store() {
  Close();
}

void Store::Close() noexcept {
  if (closed_) return;
  FlushCounters();
  // Parked blocks go back before the slot that names them is released. Blocks left parked (the
  // allocator lock timed out) keep the slot claimed and marked dead instead: a released slot
  // could be claimed by a new handle first, whose repair passes would then keep them as its own.
  // A dead slot is gone for every repair pass, which frees the blocks and then the slot.
  ReturnParked();
  UnregisterLiveSlot(base_, env_.selfSlot);
  // So do blocks forgotten after a cut (orphaned_): marked with this slot, known to nobody.
  if ((parkedUnits_ == 0 && !orphaned_) || !MarkOwnerSlotDead(owners_, env_.selfSlot, env_.self)) {
    ReleaseOwnerSlot(owners_, env_.selfSlot);
  }
  closed_ = true;
}

Status Store::Repair() noexcept {
  if (closed_) return layout::kErrClosed;
  return RepairPass(true);
}

}  // namespace shm
