// shm::Store lifecycle (docs/format.md §3, §6, §10): creating and validating a region, attaching
// (claiming an owner slot), closing, the per-handle counters and stats(). The operations live in
// store_read.cpp (get/has, forEach), store_write.cpp (set/delete/clear) and store_namespace.cpp;
// the repair pass and verify() in repair.cpp and verify.cpp.
#include <new>

#include "base/hash.h"
#include "store/store.h"

namespace shm {

using layout::Bucket;
using layout::Header;

namespace {

constexpr uint64_t kMaxTotalSize = layout::kMaxSegmentUnits * layout::kUnit;

bool ValidBucketCount(uint64_t n) {
  return n >= layout::kMinBuckets && n <= layout::kMaxBuckets && (n & (n - 1)) == 0;
}

}  // namespace

Status Store::Create(uint8_t* base, uint64_t size, uint32_t bucketCount,
                     uint32_t maxEntries) noexcept {
  if (base == nullptr || (reinterpret_cast<uintptr_t>(base) & 7) != 0) {
    return layout::kErrInvalidArg;
  }
  if (!ValidBucketCount(bucketCount)) return layout::kErrInvalidArg;
  uint64_t total = size & ~uint64_t{63};
  if (total > kMaxTotalSize) total = kMaxTotalSize;
  const uint64_t entriesOffset = EntriesOffset(bucketCount);
  if (entriesOffset + layout::kUnit > total) return layout::kErrBadSize;

  std::memset(base, 0, entriesOffset);
  auto* h = reinterpret_cast<Header*>(base);
  h->version = static_cast<uint32_t>(layout::kFormatVersion);
  h->totalSize = total;
  h->bucketCount = bucketCount;
  h->entryCount = 0;
  h->maxEntries = maxEntries;
  h->freeHead = static_cast<uint32_t>(entriesOffset / layout::kUnit);
  h->gcCounter = 0;
  h->headerChecksum = HeaderChecksum(static_cast<uint32_t>(layout::kMagic), h->version, total,
                                     bucketCount, maxEntries);
  auto* a = reinterpret_cast<layout::AllocState*>(base + layout::kAllocOffset);
  a->classCount = kClassCount;
  // magic last, with a sequentially consistent store: whoever sees it sees the rest.
  AtomicStore(&h->magic, static_cast<uint32_t>(layout::kMagic));
  return layout::kOk;
}

Status Store::Validate(const uint8_t* base, uint64_t size, Geometry* out) noexcept {
  if (size < layout::kHeaderSize) return layout::kErrBadSize;
  if (base == nullptr || (reinterpret_cast<uintptr_t>(base) & 7) != 0) {
    return layout::kErrInvalidArg;
  }
  const auto* h = reinterpret_cast<const Header*>(base);
  const uint32_t magic = AtomicLoad(&h->magic);
  if (magic != layout::kMagic) return layout::kErrBadMagic;
  const uint32_t version = RacyLoad(&h->version);
  if (version != layout::kFormatVersion) return layout::kErrBadVersion;
  const uint64_t totalSize = RacyLoad(&h->totalSize);
  const uint32_t bucketCount = RacyLoad(&h->bucketCount);
  const uint32_t maxEntries = RacyLoad(&h->maxEntries);
  if (HeaderChecksum(magic, version, totalSize, bucketCount, maxEntries) !=
      RacyLoad(&h->headerChecksum)) {
    return layout::kErrBadChecksum;
  }
  if ((totalSize & 63) != 0 || totalSize > size || totalSize > kMaxTotalSize) {
    return layout::kErrBadSize;
  }
  if (!ValidBucketCount(bucketCount)) return layout::kErrCorrupt;
  const uint64_t entriesOffset = EntriesOffset(bucketCount);
  if (entriesOffset + layout::kUnit > totalSize) return layout::kErrBadSize;
  const uint64_t firstUnit = entriesOffset / layout::kUnit;
  const uint64_t totalUnits = totalSize / layout::kUnit;
  const uint32_t freeHead = AtomicLoad(&h->freeHead);
  if (freeHead < firstUnit || freeHead > totalUnits) return layout::kErrCorrupt;
  const auto* a = reinterpret_cast<const layout::AllocState*>(base + layout::kAllocOffset);
  if (RacyLoad(&a->classCount) != kClassCount) return layout::kErrCorrupt;
  if (out != nullptr) *out = Geometry{totalSize, bucketCount, maxEntries};
  return layout::kOk;
}

Status Store::Attach(uint8_t* base, uint64_t size, uint32_t pid, uint32_t tid,
                     uint32_t lockTimeoutMs, std::unique_ptr<Store>* out) noexcept {
  Geometry g;
  Status s = Validate(base, size, &g);
  if (s != layout::kOk) return s;
  if (pid == 0) return layout::kErrInvalidArg;
  std::unique_ptr<Store> st(new (std::nothrow) Store());
  if (!st) return layout::kErrNoMemory;
  st->scratch_.reset(new (std::nothrow) uint8_t[kMaxKeyBytes + kMaxValueBytes + 64]);
  if (!st->scratch_) return layout::kErrNoMemory;
  auto* h = reinterpret_cast<Header*>(base);
  st->base_ = base;
  st->regionSize_ = size;
  st->totalSize_ = g.totalSize;
  st->totalUnits_ = static_cast<uint32_t>(st->totalSize_ / layout::kUnit);
  st->bucketCount_ = g.bucketCount;
  st->mask_ = st->bucketCount_ - 1;
  st->firstUnit_ = static_cast<uint32_t>(EntriesOffset(st->bucketCount_) / layout::kUnit);
  st->maxEntries_ = g.maxEntries;
  st->hdr_ = h;
  st->alloc_ = reinterpret_cast<layout::AllocState*>(base + layout::kAllocOffset);
  st->nsState_ = reinterpret_cast<layout::NsState*>(base + layout::kNsstateOffset);
  st->repairState_ = reinterpret_cast<layout::RepairState*>(base + layout::kRepairOffset);
  st->nsTable_ = reinterpret_cast<layout::Namespace*>(base + layout::kNamespacesOffset);
  st->owners_ = reinterpret_cast<layout::Owner*>(base + layout::kOwnersOffset);
  st->buckets_ = reinterpret_cast<Bucket*>(base + layout::kBucketsOffset);
  st->pool_.base = base;
  st->pool_.header = h;
  st->pool_.alloc = st->alloc_;
  st->pool_.firstUnit = st->firstUnit_;
  st->pool_.totalUnits = st->totalUnits_;
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

void Store::FlushCounters() noexcept {
  if (closed_) return;
  if (reads_ != 0) AtomicAdd64(&hdr_->readCounter, reads_);
  if (writes_ != 0) AtomicAdd64(&hdr_->writeCounter, writes_);
  reads_ = 0;
  writes_ = 0;
}

void Store::Close() noexcept {
  if (closed_) return;
  FlushCounters();
  UnregisterLiveSlot(base_, env_.selfSlot);
  ReleaseOwnerSlot(owners_, env_.selfSlot);
  closed_ = true;
}

uint32_t Store::Count(uint32_t ns) const noexcept {
  if (closed_) return 0;
  if (ns == 0) return AtomicLoad(&hdr_->entryCount);
  if (!NamespaceLive(ns)) return 0;
  return AtomicLoad(&nsTable_[ns].count);
}

Status Store::Stats(StoreStats* out) noexcept {
  *out = StoreStats{};
  if (closed_) return layout::kErrClosed;
  uint64_t freeListUnits = 0;
  uint32_t freeHead = 0;
  for (;;) {
    AllocStatus s = FreeListUnits(pool_, env_, &freeListUnits, &freeHead);
    if (s == AllocStatus::kOk) break;
    if (s == AllocStatus::kTimeout) return layout::kErrLockTimeout;
    Status r = s == AllocStatus::kGone ? RepairFor(&alloc_->lock, AtomicLoad(&alloc_->lock))
                                       : RepairPass();
    if (r != layout::kOk) return r;
  }
  if (freeHead < firstUnit_) freeHead = firstUnit_;
  if (freeHead > totalUnits_) freeHead = totalUnits_;
  FlushCounters();
  out->entries = AtomicLoad(&hdr_->entryCount);
  out->maxEntries = maxEntries_;
  out->buckets = bucketCount_;
  out->namespaces = AtomicLoad(&nsState_->liveCount);
  out->bytesTotal = totalSize_;
  out->bytesTail = uint64_t{totalUnits_ - freeHead} * layout::kUnit;
  out->bytesFreeLists = freeListUnits * layout::kUnit;
  out->bytesFree = out->bytesFreeLists + out->bytesTail;
  const uint64_t used = uint64_t{freeHead - firstUnit_} * layout::kUnit;
  out->bytesLive = used > out->bytesFreeLists ? used - out->bytesFreeLists : 0;
  out->fragmentation =
      out->bytesFree != 0 ? static_cast<double>(out->bytesFreeLists) / out->bytesFree : 0.0;
  out->repairs = AtomicLoad(&hdr_->gcCounter);
  out->reads = AtomicLoad64(&hdr_->readCounter);
  out->writes = AtomicLoad64(&hdr_->writeCounter);
  return layout::kOk;
}

Status Store::Repair() noexcept {
  if (closed_) return layout::kErrClosed;
  return RepairPass(true);
}

}  // namespace shm
