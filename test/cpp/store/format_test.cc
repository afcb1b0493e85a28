// The format of a store (src/store/format.cpp, docs/format.md §2-3, §10): the bytes Create writes
// and the checks that refuse to open a damaged or foreign region.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "base/hash.h"
#include "store/store.h"
#include "test_util.h"

namespace shm::test {
namespace {

TEST(StoreCreate, LayoutAfterCreate) {
  Region r(1 << 22);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 1024, 5000), L::kOk);
  const L::Header* h = r.header();
  EXPECT_EQ(h->magic, 0x464C4F57u);
  EXPECT_EQ(std::memcmp(r.base(), "WOLF", 4), 0);
  EXPECT_EQ(h->version, 9u);
  EXPECT_EQ(h->maxNamespaces, 255u);
  EXPECT_EQ(h->totalSize, uint64_t{1} << 22);
  EXPECT_EQ(h->bucketCount, 1024u);
  EXPECT_EQ(h->maxEntries, 5000u);
  EXPECT_EQ(h->grantedEntries, 0u);
  // §2: buckets, then 256 records of 128 + 64 + 256 bytes, an index of 512 slots and 16 count
  // cells of a 64-byte head and 256 counts.
  EXPECT_EQ(EntriesOffset(1024),
            L::kBucketsOffset + 1024 * L::kBucketSize + 256 * 448 + 512 * 4 + 16 * (64 + 1024));
  EXPECT_EQ(h->freeHead, EntriesOffset(1024) / kBlockUnit);
  EXPECT_EQ(h->headerChecksum, HeaderChecksum(h->magic, 9, h->totalSize, 1024, 5000, 255));
  EXPECT_EQ(r.alloc()->classCount, 48u);
  EXPECT_EQ(r.alloc()->listedUnits, 0u);  // no block is on a free list yet
  EXPECT_EQ(Store::Validate(r.base(), r.size()), L::kOk);
}

TEST(StoreCreate, EntriesOffsetIsAligned) {
  // The regions of §2: the owner table (4096 records of 32 bytes) ends where the buckets begin,
  // the namespace area starts on the unit after the buckets.
  EXPECT_EQ(L::kBucketsOffset, 135168u);
  EXPECT_EQ(L::kOwnersOffset + L::kOwnerSlots * sizeof(L::Owner), L::kBucketsOffset);
  EXPECT_EQ(L::ComputeStoreRegions(1, 1).namespaces, L::kBucketsOffset + 64);  // one bucket
  EXPECT_EQ(L::ComputeStoreRegions(2, 1).namespaces, L::kBucketsOffset + 64);
  EXPECT_EQ(L::ComputeStoreRegions(4, 1).namespaces, L::kBucketsOffset + 128);
  // Two records (id 0 and 1): 2 * 448 bytes, then an index of 4 slots padded to a unit, then 16
  // cells of a head and 2 counts padded to a unit.
  EXPECT_EQ(EntriesOffset(1, 1), L::kBucketsOffset + 64 + 2 * 448 + 64 + 16 * 128);
  const L::StoreRegions big = L::ComputeStoreRegions(1024, 65535);
  EXPECT_EQ(big.indexSlots, 131072u);
  EXPECT_EQ(big.cells, 30052352u);
  EXPECT_EQ(big.cellSize, 64u + 65536 * 4);
  EXPECT_EQ(big.entries, 30052352u + 16 * (64 + 65536 * 4));
  EXPECT_EQ(EntriesOffset(1024, 65535) % 64, 0u);
}

TEST(StoreCreate, RejectsBadArguments) {
  Region r(1 << 20);
  EXPECT_EQ(Store::Create(r.base(), r.size(), 0, 10), L::kErrInvalidArg);
  EXPECT_EQ(Store::Create(r.base(), r.size(), 3, 10), L::kErrInvalidArg);
  EXPECT_EQ(Store::Create(r.base(), r.size(), 1u << 27, 10), L::kErrInvalidArg);
  EXPECT_EQ(Store::Create(r.base() + 4, r.size() - 64, 16, 10), L::kErrInvalidArg);
  EXPECT_EQ(Store::Create(nullptr, r.size(), 16, 10), L::kErrInvalidArg);
  EXPECT_EQ(Store::Create(r.base(), r.size(), 16, 10, kPolicyNone, 0), L::kErrInvalidArg);
  EXPECT_EQ(Store::Create(r.base(), r.size(), 16, 10, kPolicyNone, 65536), L::kErrInvalidArg);
  // 65535 namespaces need about 29 MiB of namespace area: not in 1 MiB.
  EXPECT_EQ(Store::Create(r.base(), r.size(), 16, 10, kPolicyNone, 65535), L::kErrBadSize);
  // Too small for the buckets plus one unit.
  EXPECT_EQ(Store::Create(r.base(), EntriesOffset(16), 16, 10), L::kErrBadSize);
  EXPECT_EQ(Store::Create(r.base(), EntriesOffset(16) + 64, 16, 10), L::kOk);
  // A size that is not a multiple of 16 is rounded down.
  const uint64_t odd = EntriesOffset(16) + 100000 + 17;
  EXPECT_EQ(Store::Create(r.base(), odd, 16, 10), L::kOk);
  EXPECT_EQ(r.header()->totalSize, odd / 16 * 16);
  // A region longer than the largest store is refused whole, even by less than a unit (rounded
  // down it would be the largest store): never taken in part. Refused before any byte is written.
  const uint64_t largest = uint64_t{L::kMaxSegmentUnits} * kBlockUnit;
  for (const uint64_t extra : {uint64_t{1}, uint64_t{15}, uint64_t{16}}) {
    EXPECT_EQ(Store::Create(r.base(), largest + extra, 16, 10), L::kErrShmTooLarge) << extra;
  }
}

class StoreValidate : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(Store::Create(r.base(), r.size(), 64, 1000), L::kOk); }
  void Reseal() {
    L::Header* h = r.header();
    h->headerChecksum = HeaderChecksum(h->magic, h->version, h->totalSize, h->bucketCount,
                                       h->maxEntries, h->maxNamespaces);
  }
  Status Open() {
    std::unique_ptr<Store> s;
    return Store::Attach(r.base(), r.size(), static_cast<uint32_t>(getpid()), 1, 0, &s);
  }
  Region r{1 << 20};
};

TEST_F(StoreValidate, GoodStoreOpens) {
  EXPECT_EQ(Open(), L::kOk);
}

TEST_F(StoreValidate, TooSmallSegment) {
  EXPECT_EQ(Store::Validate(r.base(), 63), L::kErrBadSize);
  EXPECT_EQ(Store::Validate(r.base(), 0), L::kErrBadSize);
}

TEST_F(StoreValidate, BadMagic) {
  r.header()->magic = 0x12345678;
  EXPECT_EQ(Open(), L::kErrBadMagic);
  std::memset(r.base(), 0, 64);
  EXPECT_EQ(Open(), L::kErrBadMagic);
}

TEST_F(StoreValidate, BadVersion) {
  r.header()->version = static_cast<uint32_t>(L::kFormatVersion) + 1;
  EXPECT_EQ(Open(), L::kErrBadVersion);
  Reseal();
  EXPECT_EQ(Open(), L::kErrBadVersion);
}

// A store of format version 8 (its count cells' `expiring` words reserved, zero whatever entries
// with an expiry it holds; no AllocState.listedUnits, which its writers do not keep) is refused,
// not read with the version 9 layout, even with a header checksum that matches.
TEST_F(StoreValidate, FormatVersion8IsRefused) {
  r.header()->version = 8;
  Reseal();
  EXPECT_EQ(Store::Validate(r.base(), r.size()), L::kErrBadVersion);
  EXPECT_EQ(Open(), L::kErrBadVersion);
}

// A store of format version 7 (its indirect entries' checksums seeded without INDIRECT) is
// refused, not read with the version 8 layout, even with a header checksum that matches.
TEST_F(StoreValidate, FormatVersion7IsRefused) {
  r.header()->version = 7;
  Reseal();
  EXPECT_EQ(Store::Validate(r.base(), r.size()), L::kErrBadVersion);
  EXPECT_EQ(Open(), L::kErrBadVersion);
}

// A store of format version 6 (the counts in the header and the namespace records, no count
// cells) is refused, not read with the version 7 layout, even with a header checksum that matches.
TEST_F(StoreValidate, FormatVersion6IsRefused) {
  r.header()->version = 6;
  Reseal();
  EXPECT_EQ(Store::Validate(r.base(), r.size()), L::kErrBadVersion);
  EXPECT_EQ(Open(), L::kErrBadVersion);
}

// A store of format version 5 (64-byte units, a 32-byte entry header, 40 size classes) is
// refused, not read with the version 6 layout, even with a header checksum that matches.
TEST_F(StoreValidate, FormatVersion5IsRefused) {
  r.header()->version = 5;
  Reseal();
  EXPECT_EQ(Store::Validate(r.base(), r.size()), L::kErrBadVersion);
  EXPECT_EQ(Open(), L::kErrBadVersion);
}

// A store of format version 4 (no parked blocks, no prev links in free blocks, no CompactState)
// is refused, not read as version 5, even with a header checksum that matches.
TEST_F(StoreValidate, FormatVersion4IsRefused) {
  r.header()->version = 4;
  Reseal();
  EXPECT_EQ(Store::Validate(r.base(), r.size()), L::kErrBadVersion);
  EXPECT_EQ(Open(), L::kErrBadVersion);
}

// A store of format version 1 (8-byte owner records, buckets at 53248) is refused, never read
// with the version 2 layout, even with a header checksum that matches.
TEST_F(StoreValidate, FormatVersion1IsRefused) {
  r.header()->version = 1;
  Reseal();
  EXPECT_EQ(Store::Validate(r.base(), r.size()), L::kErrBadVersion);
  EXPECT_EQ(Open(), L::kErrBadVersion);
}

// A store of format version 2 (no expiry, marks or namespace policy table; buckets at 151552) is
// refused with the version 3 layout, even with a header checksum that matches.
TEST_F(StoreValidate, FormatVersion2IsRefused) {
  r.header()->version = 2;
  Reseal();
  EXPECT_EQ(Store::Validate(r.base(), r.size()), L::kErrBadVersion);
  EXPECT_EQ(Open(), L::kErrBadVersion);
}

// A store of format version 3 (256 namespaces of 48-byte names before the owners, no large
// blocks: class 40 and the INDIRECT flag meant nothing) is refused with the version 4 layout,
// even with a header checksum that matches.
TEST_F(StoreValidate, FormatVersion3IsRefused) {
  r.header()->version = 3;
  Reseal();
  EXPECT_EQ(Store::Validate(r.base(), r.size()), L::kErrBadVersion);
  EXPECT_EQ(Open(), L::kErrBadVersion);
}

TEST_F(StoreValidate, MaxNamespacesOutOfRangeIsCorrupt) {
  for (uint32_t bad : {0u, 65536u}) {
    r.header()->maxNamespaces = bad;
    Reseal();
    EXPECT_EQ(Open(), L::kErrCorrupt);
  }
  r.header()->maxNamespaces = 256;  // changed without resealing: the checksum tells
  EXPECT_EQ(Open(), L::kErrBadChecksum);
}

TEST_F(StoreValidate, BadChecksum) {
  r.header()->maxEntries = 1001;
  EXPECT_EQ(Open(), L::kErrBadChecksum);
  r.header()->maxEntries = 1000;
  r.header()->headerChecksum ^= 1;
  EXPECT_EQ(Open(), L::kErrBadChecksum);
}

TEST_F(StoreValidate, Truncated) {
  EXPECT_EQ(Store::Validate(r.base(), r.size() - 64), L::kErrBadSize);
  std::unique_ptr<Store> s;
  EXPECT_EQ(Store::Attach(r.base(), r.size() / 2, getpid(), 1, 0, &s), L::kErrBadSize);
}

TEST_F(StoreValidate, TotalSizeNotUnitMultiple) {
  r.header()->totalSize -= 8;
  Reseal();
  EXPECT_EQ(Open(), L::kErrBadSize);
}

TEST_F(StoreValidate, TotalSizeTooSmallForBuckets) {
  r.header()->totalSize = EntriesOffset(64);
  Reseal();
  EXPECT_EQ(Open(), L::kErrBadSize);
}

TEST_F(StoreValidate, BucketCountNotPowerOfTwo) {
  r.header()->bucketCount = 48;
  Reseal();
  EXPECT_EQ(Open(), L::kErrCorrupt);
  r.header()->bucketCount = 0;
  Reseal();
  EXPECT_EQ(Open(), L::kErrCorrupt);
}

TEST_F(StoreValidate, FreeHeadOutOfRange) {
  r.header()->freeHead = static_cast<uint32_t>(EntriesOffset(64) / kBlockUnit) - 1;
  EXPECT_EQ(Open(), L::kErrCorrupt);
  r.header()->freeHead = static_cast<uint32_t>(r.size() / kBlockUnit) + 1;
  EXPECT_EQ(Open(), L::kErrCorrupt);
  r.header()->freeHead = static_cast<uint32_t>(r.size() / kBlockUnit);  // full: valid
  EXPECT_EQ(Open(), L::kOk);
}

TEST_F(StoreValidate, ClassCount) {
  r.alloc()->classCount = 47;
  EXPECT_EQ(Open(), L::kErrCorrupt);
}

}  // namespace
}  // namespace shm::test
