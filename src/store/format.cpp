// The format of a store (docs/format.md §2-3, §10): creating an empty store in a region and the
// checks that open one (geometry and header), without attaching.
#include "base/hash.h"
#include "store/store.h"

namespace shm {

using layout::Header;

namespace {

// (2^32 - 1) units of 16 bytes: a u32 unit index addresses 64 GiB (docs/format.md §12).
constexpr uint64_t kMaxTotalSize = layout::kMaxSegmentUnits * layout::kBlockUnit;

bool ValidBucketCount(uint64_t n) {
  return n >= layout::kMinBuckets && n <= layout::kMaxBuckets && (n & (n - 1)) == 0;
}

bool ValidMaxNamespaces(uint64_t n) {
  return n >= 1 && n <= layout::kMaxNamespaces;
}

}  // namespace

Status Store::Create(uint8_t* base, uint64_t size, uint32_t bucketCount, uint32_t maxEntries,
                     uint32_t policy, uint32_t maxNamespaces) noexcept {
  if (base == nullptr || (reinterpret_cast<uintptr_t>(base) & 7) != 0) {
    return layout::kErrInvalidArg;
  }
  if (!ValidBucketCount(bucketCount) || !ValidMaxNamespaces(maxNamespaces)) {
    return layout::kErrInvalidArg;
  }
  if (policy != kPolicyNone && policy != kPolicyClock) return layout::kErrInvalidArg;
  // The length as given, not rounded down: a region longer than the largest store is refused
  // whole, even by less than a unit, never taken in part.
  if (size > kMaxTotalSize) return layout::kErrShmTooLarge;
  uint64_t total = size & ~uint64_t{layout::kBlockUnit - 1};
  const uint64_t entriesOffset = EntriesOffset(bucketCount, maxNamespaces);
  if (entriesOffset + layout::kUnit > total) return layout::kErrBadSize;

  // Zero bytes are an empty namespace area: every record free, every index slot empty.
  std::memset(base, 0, entriesOffset);
  auto* h = reinterpret_cast<Header*>(base);
  h->version = static_cast<uint32_t>(layout::kFormatVersion);
  h->totalSize = total;
  h->bucketCount = bucketCount;
  h->grantedEntries = 0;
  h->maxEntries = maxEntries;
  h->freeHead = static_cast<uint32_t>(entriesOffset / layout::kBlockUnit);
  h->gcCounter = 0;
  h->maxNamespaces = maxNamespaces;
  h->headerChecksum = HeaderChecksum(static_cast<uint32_t>(layout::kMagic), h->version, total,
                                     bucketCount, maxEntries, maxNamespaces);
  auto* a = reinterpret_cast<layout::AllocState*>(base + layout::kAllocOffset);
  a->classCount = kClassCount;
  auto* ev = reinterpret_cast<layout::EvictState*>(base + layout::kEvictOffset);
  ev->policy = policy;
  ev->marking = policy == kPolicyClock ? 1u : 0u;
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
  const uint32_t maxNamespaces = RacyLoad(&h->maxNamespaces);
  if (HeaderChecksum(magic, version, totalSize, bucketCount, maxEntries, maxNamespaces) !=
      RacyLoad(&h->headerChecksum)) {
    return layout::kErrBadChecksum;
  }
  if ((totalSize & (layout::kBlockUnit - 1)) != 0 || totalSize > size ||
      totalSize > kMaxTotalSize) {
    return layout::kErrBadSize;
  }
  if (!ValidBucketCount(bucketCount) || !ValidMaxNamespaces(maxNamespaces)) {
    return layout::kErrCorrupt;
  }
  const uint64_t entriesOffset = EntriesOffset(bucketCount, maxNamespaces);
  if (entriesOffset + layout::kUnit > totalSize) return layout::kErrBadSize;
  const uint64_t firstUnit = entriesOffset / layout::kBlockUnit;
  const uint64_t totalUnits = totalSize / layout::kBlockUnit;
  const uint32_t freeHead = AtomicLoad(&h->freeHead);
  if (freeHead < firstUnit || freeHead > totalUnits) return layout::kErrCorrupt;
  const auto* a = reinterpret_cast<const layout::AllocState*>(base + layout::kAllocOffset);
  if (RacyLoad(&a->classCount) != kClassCount) return layout::kErrCorrupt;
  if (out != nullptr) *out = Geometry{totalSize, bucketCount, maxEntries, maxNamespaces};
  return layout::kOk;
}

}  // namespace shm
