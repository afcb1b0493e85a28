// shm::Store: hashing, creation and open validation, the operations, limits, the allocator,
// statistics, verify() and repair of corrupted regions (single thread).
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "base/hash.h"
#include "ownership/heartbeat.h"
#include "ownership/owners.h"
#include "ownership/waiter.h"
#include "store/alloc.h"
#include "store/store.h"
#include "test_util.h"

namespace shm::test {
namespace {

// ---- XXH32 --------------------------------------------------------------------------------

// xxHash's own sanity buffer (xsum_sanity_check.c): byte i is the top byte of PRIME32 *
// PRIME64^i.
std::vector<uint8_t> SanityBuffer(size_t len) {
  std::vector<uint8_t> b(len);
  uint64_t gen = 2654435761u;
  for (size_t i = 0; i < len; ++i) {
    b[i] = static_cast<uint8_t>(gen >> 56);
    gen *= 11400714785074694797ull;
  }
  return b;
}

TEST(Xxh32, KnownVectors) {
  const uint32_t prime32 = 2654435761u;
  auto buf = SanityBuffer(222);
  EXPECT_EQ(Xxh32(buf.data(), 0, 0), 0x02CC5D05u);
  EXPECT_EQ(Xxh32(buf.data(), 0, prime32), 0x36B78AE7u);
  EXPECT_EQ(Xxh32(buf.data(), 1, 0), 0xCF65B03Eu);
  EXPECT_EQ(Xxh32(buf.data(), 1, prime32), 0xB4545AA4u);
  EXPECT_EQ(Xxh32(buf.data(), 14, 0), 0x1208E7E2u);
  EXPECT_EQ(Xxh32(buf.data(), 14, prime32), 0x6AF1D1FEu);
  EXPECT_EQ(Xxh32(buf.data(), 222, 0), 0x5BD11DBDu);
  EXPECT_EQ(Xxh32(buf.data(), 222, prime32), 0x58803C5Fu);
  EXPECT_EQ(Xxh32("abc", 3, 0), 0x32D153FFu);
  EXPECT_EQ(Xxh32("", 0, 0), 0x02CC5D05u);
}

TEST(Xxh32, FormatDerivedHashes) {
  EXPECT_EQ(KeyHash("key", 3, 7), Xxh32("key", 3, 7));
  EXPECT_EQ(EntryChecksum("kv", 2, 0x1234u, 2), Xxh32("kv", 2, 0x1234u ^ 2u));
  // headerChecksum is over the little-endian 24-byte image.
  uint8_t image[24] = {};
  const uint32_t magic = 0x464C4F57, version = 1, buckets = 1024, maxEntries = 5000;
  const uint64_t total = 1 << 22;
  std::memcpy(image, &magic, 4);
  std::memcpy(image + 4, &version, 4);
  std::memcpy(image + 8, &total, 8);
  std::memcpy(image + 16, &buckets, 4);
  std::memcpy(image + 20, &maxEntries, 4);
  EXPECT_EQ(HeaderChecksum(magic, version, total, buckets, maxEntries), Xxh32(image, 24, 0));
}

// ---- size classes -----------------------------------------------------------------------------

TEST(Alloc, SizeClasses) {
  EXPECT_EQ(SizeClassFor(1), 0u);
  EXPECT_EQ(SizeClassFor(8), 7u);
  EXPECT_EQ(SizeClassFor(9), 8u);  // 10 units
  EXPECT_EQ(SizeClassFor(2048), 39u);
  EXPECT_EQ(SizeClassFor(2049), kClassCount);
  EXPECT_EQ(UnitsForEntry(14, 100), 3u);  // 146 bytes
  EXPECT_EQ(UnitsForEntry(0, 32), 1u);
  EXPECT_EQ(UnitsForEntry(0, 33), 2u);
  // The largest entry fits the largest class.
  EXPECT_LT(SizeClassFor(UnitsForEntry(kMaxKeyBytes, kMaxValueBytes)), kClassCount);
}

// ---- creation and open validation ---------------------------------------------------------------

TEST(StoreCreate, LayoutAfterCreate) {
  Region r(1 << 22);
  ASSERT_EQ(Store::Create(r.base(), r.size(), 1024, 5000), L::kOk);
  const L::Header* h = r.header();
  EXPECT_EQ(h->magic, 0x464C4F57u);
  EXPECT_EQ(std::memcmp(r.base(), "WOLF", 4), 0);
  EXPECT_EQ(h->version, 2u);
  EXPECT_EQ(h->totalSize, uint64_t{1} << 22);
  EXPECT_EQ(h->bucketCount, 1024u);
  EXPECT_EQ(h->maxEntries, 5000u);
  EXPECT_EQ(h->entryCount, 0u);
  EXPECT_EQ(EntriesOffset(1024), L::kBucketsOffset + 1024 * L::kBucketSize);
  EXPECT_EQ(h->freeHead, EntriesOffset(1024) / 64);
  EXPECT_EQ(h->headerChecksum, HeaderChecksum(h->magic, 2, h->totalSize, 1024, 5000));
  EXPECT_EQ(r.alloc()->classCount, 40u);
  EXPECT_EQ(Store::Validate(r.base(), r.size()), L::kOk);
}

TEST(StoreCreate, EntriesOffsetIsAligned) {
  // The regions of §2: the owner table (4096 records of 32 bytes) ends where the buckets begin.
  EXPECT_EQ(L::kBucketsOffset, 151552u);
  EXPECT_EQ(L::kOwnersOffset + L::kOwnerSlots * sizeof(L::Owner), L::kBucketsOffset);
  EXPECT_EQ(EntriesOffset(1), L::kBucketsOffset + 64);  // one 32-byte bucket, rounded up to 64
  EXPECT_EQ(EntriesOffset(2), L::kBucketsOffset + 64);
  EXPECT_EQ(EntriesOffset(4), L::kBucketsOffset + 128);
}

TEST(StoreCreate, RejectsBadArguments) {
  Region r(1 << 20);
  EXPECT_EQ(Store::Create(r.base(), r.size(), 0, 10), L::kErrInvalidArg);
  EXPECT_EQ(Store::Create(r.base(), r.size(), 3, 10), L::kErrInvalidArg);
  EXPECT_EQ(Store::Create(r.base(), r.size(), 1u << 27, 10), L::kErrInvalidArg);
  EXPECT_EQ(Store::Create(r.base() + 4, r.size() - 64, 16, 10), L::kErrInvalidArg);
  EXPECT_EQ(Store::Create(nullptr, r.size(), 16, 10), L::kErrInvalidArg);
  // Too small for the buckets plus one unit.
  EXPECT_EQ(Store::Create(r.base(), EntriesOffset(16), 16, 10), L::kErrBadSize);
  EXPECT_EQ(Store::Create(r.base(), EntriesOffset(16) + 64, 16, 10), L::kOk);
  // A size that is not a multiple of 64 is rounded down.
  const uint64_t odd = EntriesOffset(16) + 100000 + 17;
  EXPECT_EQ(Store::Create(r.base(), odd, 16, 10), L::kOk);
  EXPECT_EQ(r.header()->totalSize, odd / 64 * 64);
}

class StoreValidate : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(Store::Create(r.base(), r.size(), 64, 1000), L::kOk); }
  void Reseal() {
    L::Header* h = r.header();
    h->headerChecksum =
        HeaderChecksum(h->magic, h->version, h->totalSize, h->bucketCount, h->maxEntries);
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
  r.header()->version = 3;
  EXPECT_EQ(Open(), L::kErrBadVersion);
  Reseal();
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
  r.header()->freeHead = static_cast<uint32_t>(EntriesOffset(64) / 64) - 1;
  EXPECT_EQ(Open(), L::kErrCorrupt);
  r.header()->freeHead = static_cast<uint32_t>(r.size() / 64) + 1;
  EXPECT_EQ(Open(), L::kErrCorrupt);
  r.header()->freeHead = static_cast<uint32_t>(r.size() / 64);  // full: valid
  EXPECT_EQ(Open(), L::kOk);
}

TEST_F(StoreValidate, ClassCount) {
  r.alloc()->classCount = 39;
  EXPECT_EQ(Open(), L::kErrCorrupt);
}

// ---- operations ---------------------------------------------------------------------------------

class StoreOps : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Store::Create(r.base(), r.size(), 256, 5000), L::kOk);
    s = Open(r);
    ASSERT_TRUE(s);
    ns = Ns(*s, "agents");
  }
  Region r{1 << 22};
  std::unique_ptr<Store> s;
  uint32_t ns = 0;
};

TEST_F(StoreOps, SetGetOverwriteDelete) {
  EXPECT_EQ(GetStr(*s, ns, "a"), "<miss>");
  EXPECT_EQ(Put(*s, ns, "a", "one"), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, "a"), "one");
  EXPECT_EQ(Put(*s, ns, "a", "two, longer than before"), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, "a"), "two, longer than before");
  EXPECT_EQ(s->Count(ns), 1u);
  EXPECT_EQ(s->Count(0), 1u);
  bool found;
  EXPECT_EQ(s->Has(ns, "a", 1, &found), L::kOk);
  EXPECT_TRUE(found);
  EXPECT_TRUE(Del(*s, ns, "a"));
  EXPECT_FALSE(Del(*s, ns, "a"));
  EXPECT_EQ(GetStr(*s, ns, "a"), "<miss>");
  EXPECT_EQ(s->Has(ns, "a", 1, &found), L::kOk);
  EXPECT_FALSE(found);
  EXPECT_EQ(s->Count(ns), 0u);
  VerifyOk(*s);
}

TEST_F(StoreOps, EncodingsRoundTrip) {
  uint32_t enc = 99;
  EXPECT_EQ(Put(*s, ns, "bin", std::string("\0\1\2", 3), 0), L::kOk);
  EXPECT_EQ(Put(*s, ns, "txt", "héllo", 1), L::kOk);
  EXPECT_EQ(Put(*s, ns, "json", "{\"a\":1}", 2), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, "bin", &enc), std::string("\0\1\2", 3));
  EXPECT_EQ(enc, 0u);
  EXPECT_EQ(GetStr(*s, ns, "txt", &enc), "héllo");
  EXPECT_EQ(enc, 1u);
  EXPECT_EQ(GetStr(*s, ns, "json", &enc), "{\"a\":1}");
  EXPECT_EQ(enc, 2u);
  EXPECT_EQ(Put(*s, ns, "x", "v", 16), L::kErrInvalidArg);
}

TEST_F(StoreOps, EntryBytesFollowTheFormat) {
  const std::string key = "key:0000000001", value(100, 'v');
  const auto before = std::chrono::system_clock::now();
  ASSERT_EQ(Put(*s, ns, key, value, 2), L::kOk);
  const uint32_t h = Xxh32(key.data(), key.size(), ns);
  const L::Bucket* b = r.bucket(h & 255);
  ASSERT_NE(b->head, 0u);
  EXPECT_EQ(b->count, 1u);
  EXPECT_EQ(b->lock & 1, 0u);
  EXPECT_EQ(b->lock >> 20, 0u);
  const L::Entry* e = r.entry(b->head);
  EXPECT_EQ(e->next, 0u);
  EXPECT_EQ(e->keyHash, h);
  EXPECT_EQ(e->keyLength, 14);
  EXPECT_EQ(e->valueLength, 100);
  EXPECT_EQ(e->namespaceId, ns);
  EXPECT_EQ(e->flags, (2u << 8) | 2u);  // 146 bytes: 3 units, class 2; encoding 2
  std::string kv = key + value;
  EXPECT_EQ(std::memcmp(e + 1, kv.data(), kv.size()), 0);
  EXPECT_EQ(e->checksum, Xxh32(kv.data(), kv.size(), h ^ 2u));
  const uint64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(before.time_since_epoch()).count();
  EXPECT_GE(e->timestamp, ms);
  EXPECT_LT(e->timestamp, ms + 60000);
  EXPECT_EQ(b->head, static_cast<uint32_t>(EntriesOffset(256) / 64));  // the first block
  EXPECT_EQ(r.header()->freeHead, b->head + 3);
  EXPECT_EQ(r.ns(ns)->count, 1u);
}

TEST_F(StoreOps, EmptyKeyAndEmptyValue) {
  EXPECT_EQ(Put(*s, ns, "", "empty key"), L::kOk);
  EXPECT_EQ(Put(*s, ns, "k", ""), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, ""), "empty key");
  EXPECT_EQ(GetStr(*s, ns, "k"), "");
  EXPECT_TRUE(Del(*s, ns, ""));
  VerifyOk(*s);
}

TEST_F(StoreOps, Limits) {
  std::string k1024(1024, 'k'), k1025(1025, 'k');
  std::string v65535(65535, 'v'), v65536(65536, 'v');
  EXPECT_EQ(Put(*s, ns, k1024, v65535), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, k1024), v65535);
  EXPECT_EQ(Put(*s, ns, k1025, "v"), L::kErrKeyTooLong);
  EXPECT_EQ(Put(*s, ns, "k", v65536), L::kErrValueTooLong);
  EXPECT_EQ(GetStr(*s, ns, k1025), "<ERR_KEY_TOO_LONG>");
  EXPECT_EQ(s->Count(0), 1u);
  VerifyOk(*s);
}

TEST_F(StoreOps, NamespacesAreSeparate) {
  const uint32_t other = Ns(*s, "sessions");
  EXPECT_NE(other, ns);
  EXPECT_EQ(Put(*s, ns, "k", "agents"), L::kOk);
  EXPECT_EQ(Put(*s, other, "k", "sessions"), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, "k"), "agents");
  EXPECT_EQ(GetStr(*s, other, "k"), "sessions");
  EXPECT_EQ(s->Count(ns), 1u);
  EXPECT_EQ(s->Count(other), 1u);
  EXPECT_EQ(s->Count(0), 2u);
  uint32_t removed = 0;
  EXPECT_EQ(s->Clear(other, &removed), L::kOk);
  EXPECT_EQ(removed, 1u);
  EXPECT_EQ(GetStr(*s, ns, "k"), "agents");
  EXPECT_EQ(GetStr(*s, other, "k"), "<miss>");
  VerifyOk(*s);
}

TEST_F(StoreOps, NamespaceResolution) {
  uint32_t id = 99;
  EXPECT_EQ(s->ResolveNamespace("agents", 6, false, &id), L::kOk);
  EXPECT_EQ(id, ns);
  EXPECT_EQ(s->ResolveNamespace("nobody", 6, false, &id), L::kOk);
  EXPECT_EQ(id, 0u);
  EXPECT_EQ(s->ResolveNamespace("", 0, true, &id), L::kErrInvalidArg);
  std::string n48(48, 'n'), n49(49, 'n');
  EXPECT_EQ(s->ResolveNamespace(n48.data(), 48, true, &id), L::kOk);
  EXPECT_EQ(id, 2u);
  EXPECT_EQ(s->ResolveNamespace(n49.data(), 49, true, &id), L::kErrInvalidArg);
  // Records as §5 describes.
  EXPECT_EQ(r.ns(2)->state, 2u);
  EXPECT_EQ(r.ns(2)->nameLength, 48u);
  EXPECT_EQ(std::memcmp(r.ns(2)->name, n48.data(), 48), 0);
  EXPECT_EQ(r.nsState()->liveCount, 2u);
  // 255 at most.
  for (int i = 3; i <= 255; ++i) {
    std::string name = "ns" + std::to_string(i);
    ASSERT_EQ(s->ResolveNamespace(name.data(), static_cast<uint32_t>(name.size()), true, &id),
              L::kOk);
    EXPECT_EQ(id, static_cast<uint32_t>(i));
  }
  EXPECT_EQ(s->ResolveNamespace("one-too-many", 12, true, &id), L::kErrTooManyNamespaces);
  EXPECT_EQ(s->ResolveNamespace("ns100", 5, true, &id), L::kOk);  // existing still resolve
  EXPECT_EQ(id, 100u);
  std::vector<NamespaceInfo> list;
  EXPECT_EQ(s->Namespaces(&list), L::kOk);
  EXPECT_EQ(list.size(), 255u);
  EXPECT_EQ(list[0].name, "agents");
  EXPECT_EQ(r.nsState()->liveCount, 255u);
  // Another handle sees the same ids.
  auto s2 = Open(r, 2);
  EXPECT_EQ(s2->ResolveNamespace("ns77", 4, false, &id), L::kOk);
  EXPECT_EQ(id, 77u);
  VerifyOk(*s);
}

TEST_F(StoreOps, SetNeedsALiveNamespace) {
  EXPECT_EQ(Put(*s, 200, "k", "v"), L::kErrInvalidArg);
  EXPECT_EQ(Put(*s, 0, "k", "v"), L::kErrInvalidArg);
  EXPECT_EQ(Put(*s, 256, "k", "v"), L::kErrInvalidArg);
  EXPECT_EQ(GetStr(*s, 200, "k"), "<miss>");
  EXPECT_EQ(GetStr(*s, 0, "k"), "<ERR_INVALID_ARG>");
}

TEST_F(StoreOps, CollisionChainsWithOneBucket) {
  Region one(1 << 20);
  ASSERT_EQ(Store::Create(one.base(), one.size(), 1, 1000), L::kOk);
  auto t = Open(one);
  const uint32_t id = Ns(*t, "x");
  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(Put(*t, id, "k" + std::to_string(i), std::to_string(i)), L::kOk);
  EXPECT_EQ(one.bucket(0)->count, 200u);
  for (int i = 0; i < 200; i += 3) EXPECT_TRUE(Del(*t, id, "k" + std::to_string(i)));
  for (int i = 1; i < 200; i += 3) ASSERT_EQ(Put(*t, id, "k" + std::to_string(i), "new"), L::kOk);
  for (int i = 0; i < 200; ++i) {
    const std::string want = i % 3 == 0 ? "<miss>" : i % 3 == 1 ? "new" : std::to_string(i);
    EXPECT_EQ(GetStr(*t, id, "k" + std::to_string(i)), want);
  }
  auto rep = VerifyOk(*t);
  EXPECT_EQ(rep.entries, 200u - 67u);
}

TEST_F(StoreOps, ForEachVisitsEveryEntryOnce) {
  const uint32_t other = Ns(*s, "other");
  std::set<std::string> want;
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(Put(*s, ns, "key" + std::to_string(i), "v" + std::to_string(i)), L::kOk);
    want.insert("key" + std::to_string(i));
  }
  ASSERT_EQ(Put(*s, other, "key1", "elsewhere"), L::kOk);
  std::set<std::string> seen;
  size_t calls = 0;
  ASSERT_EQ(s->ForEach(ns,
                       [&](uint32_t id, const uint8_t* k, uint32_t kl, const uint8_t* v,
                           uint32_t vl, uint32_t enc) {
                         ++calls;
                         EXPECT_EQ(id, ns);
                         EXPECT_EQ(enc, 1u);
                         std::string key(reinterpret_cast<const char*>(k), kl);
                         EXPECT_EQ(std::string(reinterpret_cast<const char*>(v), vl),
                                   "v" + key.substr(3));
                         seen.insert(key);
                       }),
            L::kOk);
  EXPECT_EQ(calls, 500u);
  EXPECT_EQ(seen, want);
  calls = 0;
  ASSERT_EQ(s->ForEach(0, [&](uint32_t, const uint8_t*, uint32_t, const uint8_t*, uint32_t,
                              uint32_t) { ++calls; }),
            L::kOk);
  EXPECT_EQ(calls, 501u);
}

TEST_F(StoreOps, ClearRemovesOnlyItsNamespace) {
  const uint32_t other = Ns(*s, "other");
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(Put(*s, ns, "a" + std::to_string(i), "x"), L::kOk);
    ASSERT_EQ(Put(*s, other, "b" + std::to_string(i), "y"), L::kOk);
  }
  uint32_t removed = 0;
  EXPECT_EQ(s->Clear(ns, &removed), L::kOk);
  EXPECT_EQ(removed, 300u);
  EXPECT_EQ(s->Count(ns), 0u);
  EXPECT_EQ(s->Count(other), 300u);
  EXPECT_EQ(s->Count(0), 300u);
  EXPECT_EQ(s->Clear(ns, &removed), L::kOk);
  EXPECT_EQ(removed, 0u);
  VerifyOk(*s);
}

TEST_F(StoreOps, MaxEntriesGivesStoreFull) {
  Region small(1 << 20);
  ASSERT_EQ(Store::Create(small.base(), small.size(), 16, 10), L::kOk);
  auto t = Open(small);
  const uint32_t id = Ns(*t, "x");
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Put(*t, id, std::to_string(i), "v"), L::kOk);
  EXPECT_EQ(Put(*t, id, "10", "v"), L::kErrStoreFull);
  EXPECT_EQ(Put(*t, id, "5", "replacing is fine"), L::kOk);
  EXPECT_TRUE(Del(*t, id, "0"));
  EXPECT_EQ(Put(*t, id, "10", "v"), L::kOk);
  EXPECT_EQ(t->Count(0), 10u);
  VerifyOk(*t);
}

TEST_F(StoreOps, SpaceExhaustionGivesStoreFull) {
  Region small(EntriesOffset(16) + 64 * 1000);
  ASSERT_EQ(Store::Create(small.base(), small.size(), 16, 100000), L::kOk);
  auto t = Open(small);
  const uint32_t id = Ns(*t, "x");
  const std::string big(60000, 'b');  // 940 units: class 1024
  int stored = 0;
  Status st;
  while ((st = Put(*t, id, "k" + std::to_string(stored), big)) == L::kOk) ++stored;
  EXPECT_EQ(st, L::kErrStoreFull);
  EXPECT_EQ(stored, 0);  // 1024 units do not fit in 1000
  for (int i = 0; i < 1000; ++i) {
    st = Put(*t, id, "s" + std::to_string(i), std::string(100, 's'));  // 3 units
    if (st != L::kOk) break;
  }
  EXPECT_EQ(st, L::kErrStoreFull);
  EXPECT_EQ(t->Count(0), 333u);  // 333 * 3 = 999 units
  EXPECT_EQ(GetStr(*t, id, "s7"), std::string(100, 's'));
  VerifyOk(*t);
  // Freed blocks are reused.
  EXPECT_TRUE(Del(*t, id, "s7"));
  EXPECT_EQ(Put(*t, id, "again", std::string(60, 'a')), L::kErrStoreFull);  // 2 units: none free
  EXPECT_EQ(Put(*t, id, "again", std::string(100, 'a')), L::kOk);           // class 2: reused
}

TEST_F(StoreOps, AllocatorReusesFreedBlocks) {
  const std::string v(100, 'v');
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), v), L::kOk);
  const uint32_t high = r.header()->freeHead;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(Del(*s, ns, "k" + std::to_string(i)));
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), v), L::kOk);
  }
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(Put(*s, ns, "k7", v), L::kOk);  // overwrite in place
  EXPECT_EQ(r.header()->freeHead, high + 3);  // one spare block for the replace
  StoreStats st;
  ASSERT_EQ(s->Stats(&st), L::kOk);
  EXPECT_EQ(st.bytesLive, 1000u * 3 * 64);
  EXPECT_EQ(st.bytesFreeLists, 3u * 64);
  VerifyOk(*s);
}

TEST_F(StoreOps, StatsAddUp) {
  const std::string v(100, 'v');
  for (int i = 0; i < 100; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), v), L::kOk);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(Del(*s, ns, "k" + std::to_string(i)));
  for (int i = 0; i < 50; ++i) GetStr(*s, ns, "k" + std::to_string(i));
  StoreStats st;
  ASSERT_EQ(s->Stats(&st), L::kOk);
  EXPECT_EQ(st.entries, 90u);
  EXPECT_EQ(st.maxEntries, 5000u);
  EXPECT_EQ(st.buckets, 256u);
  EXPECT_EQ(st.namespaces, 1u);
  EXPECT_EQ(st.bytesTotal, r.size());
  EXPECT_EQ(st.bytesLive, 90u * 3 * 64);
  EXPECT_EQ(st.bytesFreeLists, 10u * 3 * 64);
  EXPECT_EQ(st.bytesTail, (r.size() / 64 - r.header()->freeHead) * 64);
  EXPECT_EQ(st.bytesFree, st.bytesFreeLists + st.bytesTail);
  EXPECT_EQ(st.bytesLive + st.bytesFree, r.size() - EntriesOffset(256));
  EXPECT_DOUBLE_EQ(st.fragmentation, double(st.bytesFreeLists) / st.bytesFree);
  EXPECT_EQ(st.reads, 50u);
  EXPECT_EQ(st.writes, 110u);
  EXPECT_EQ(st.repairs, 0u);
  // Counters live in the header once flushed; other handles add theirs.
  EXPECT_EQ(r.header()->readCounter, 50u);
  auto t = Open(r, 2);
  GetStr(*t, ns, "k50");
  t->Close();
  ASSERT_EQ(s->Stats(&st), L::kOk);
  EXPECT_EQ(st.reads, 51u);
}

TEST_F(StoreOps, ClosedHandle) {
  EXPECT_FALSE(s->closed());
  const uint32_t slot = s->ownerSlot();
  EXPECT_EQ(r.owner(slot)->pid, static_cast<uint32_t>(getpid()));
  EXPECT_EQ(r.owner(slot)->tid, 1u);
  s->Close();
  s->Close();
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(r.owner(slot)->pid, 0u);
  EXPECT_EQ(r.owner(slot)->tid, 0u);
  EXPECT_EQ(Put(*s, ns, "k", "v"), L::kErrClosed);
  EXPECT_EQ(GetStr(*s, ns, "k"), "<ERR_CLOSED>");
  uint32_t n;
  EXPECT_EQ(s->Clear(ns, &n), L::kErrClosed);
  StoreStats st;
  EXPECT_EQ(s->Stats(&st), L::kErrClosed);
  VerifyReport rep;
  EXPECT_EQ(s->Verify(&rep), L::kErrClosed);
  EXPECT_EQ(s->Repair(), L::kErrClosed);
}

TEST_F(StoreOps, OwnerSlots) {
  auto a = Open(r, 10);
  auto b = Open(r, 11);
  EXPECT_NE(a->ownerSlot(), b->ownerSlot());
  EXPECT_EQ(r.owner(b->ownerSlot())->tid, 11u);
  const uint32_t slot = a->ownerSlot();
  a->Close();
  auto c = Open(r, 12);
  EXPECT_EQ(c->ownerSlot(), slot);  // the lowest free slot is reused
}

TEST_F(StoreOps, TooManyHandles) {
  // Fill every free slot with this (live) process: nothing can be adopted.
  const uint32_t me = static_cast<uint32_t>(getpid());
  for (uint32_t o = 1; o < 4096; ++o) {
    if (r.owner(o)->pid == 0) r.owner(o)->pid = me;
  }
  std::unique_ptr<Store> t;
  EXPECT_EQ(Store::Attach(r.base(), r.size(), me, 5, 0, &t), L::kErrTooManyHandles);
  // A slot of a dead process is adopted (after a repair pass that frees the others).
  const uint32_t dead = DeadPid();
  r.owner(77)->pid = dead;
  r.owner(78)->pid = dead;
  ASSERT_EQ(Store::Attach(r.base(), r.size(), me, 5, 0, &t), L::kOk);
  EXPECT_EQ(t->ownerSlot(), 77u);
  EXPECT_EQ(r.owner(78)->pid, 0u);  // released by the repair pass
  EXPECT_EQ(r.header()->gcCounter, 1u);
}

// ---- verify() and repair of damaged regions ---------------------------------------------------

TEST_F(StoreOps, VerifyReportsAndRepairReclaimsALeak) {
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  // A writer that died between allocating and publishing leaves a leaked block.
  PoolView pool;
  pool.base = r.base();
  pool.header = r.header();
  pool.alloc = r.alloc();
  pool.firstUnit = s->firstUnit();
  pool.totalUnits = s->totalUnits();
  LockEnv env;
  env.regionBase = r.base();
  env.owners = r.owner(0);
  env.selfSlot = s->ownerSlot();
  env.self = IdentityOf(static_cast<uint32_t>(getpid()), 1);
  uint32_t unit;
  ASSERT_EQ(AllocBlock(pool, env, 3, &unit), AllocStatus::kOk);
  VerifyReport rep;
  ASSERT_EQ(s->Verify(&rep), L::kOk);
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.leakedUnits, 4u);
  ASSERT_FALSE(rep.errors.empty());
  EXPECT_NE(rep.errors[0].find("leaked"), std::string::npos) << rep.errors[0];
  ASSERT_EQ(s->Repair(), L::kOk);
  rep = VerifyOk(*s);
  EXPECT_EQ(rep.freeUnits, 4u);
  EXPECT_EQ(rep.entries, 1u);
  EXPECT_EQ(r.header()->gcCounter, 1u);
  EXPECT_EQ(r.repairState()->repairs, 1u);
  EXPECT_EQ(GetStr(*s, ns, "k"), "v");
}

TEST_F(StoreOps, CorruptValueIsDroppedByRepair) {
  ASSERT_EQ(Put(*s, ns, "good", "fine"), L::kOk);
  ASSERT_EQ(Put(*s, ns, "bad", "will be damaged"), L::kOk);
  const uint32_t h = Xxh32("bad", 3, ns);
  L::Entry* e = r.entry(r.bucket(h & 255)->head);
  reinterpret_cast<uint8_t*>(e + 1)[5] ^= 0x20;
  VerifyReport rep;
  ASSERT_EQ(s->Verify(&rep), L::kOk);
  EXPECT_FALSE(rep.ok);
  ASSERT_FALSE(rep.errors.empty());
  EXPECT_NE(rep.errors[0].find("checksum"), std::string::npos) << rep.errors[0];
  // A read that keeps meeting the bad checksum runs a repair pass, which unlinks the entry.
  EXPECT_EQ(GetStr(*s, ns, "bad"), "<miss>");
  EXPECT_EQ(GetStr(*s, ns, "good"), "fine");
  EXPECT_EQ(s->Count(ns), 1u);
  rep = VerifyOk(*s);
  EXPECT_EQ(rep.entries, 1u);
}

TEST_F(StoreOps, WildChainIndexNeverCrashes) {
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  const uint32_t h = Xxh32("k", 1, ns);
  L::Bucket* b = r.bucket(h & 255);
  const uint32_t good = b->head;
  for (uint32_t wild : {0xFFFFFFFFu, static_cast<uint32_t>(r.size() / 64), 1u, good + 1}) {
    b->head = wild;
    // A miss (a reader that meets an impossible index also runs a repair pass), never a crash.
    EXPECT_EQ(GetStr(*s, ns, "k"), "<miss>") << wild;
    ASSERT_EQ(s->Repair(), L::kOk);
    EXPECT_EQ(b->head, 0u);
    VerifyOk(*s);
    ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
    EXPECT_EQ(GetStr(*s, ns, "k"), "v");
  }
}

TEST_F(StoreOps, CycleIsCut) {
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  const uint32_t h = Xxh32("k", 1, ns);
  L::Bucket* b = r.bucket(h & 255);
  r.entry(b->head)->next = b->head;  // a chain that loops on itself
  EXPECT_EQ(GetStr(*s, ns, "other-key-in-any-bucket"), "<miss>");
  // A miss in that bucket walks the cycle: the walk is cut and the repair keeps one copy.
  std::string miss;
  for (int i = 0;; ++i) {
    miss = "m" + std::to_string(i);
    if ((Xxh32(miss.data(), miss.size(), ns) & 255) == (h & 255)) break;
  }
  EXPECT_EQ(GetStr(*s, ns, miss), "<miss>");
  EXPECT_EQ(r.entry(b->head)->next, 0u);
  EXPECT_EQ(GetStr(*s, ns, "k"), "v");
  VerifyOk(*s);
}

TEST_F(StoreOps, WritersRepairCorruptChains) {
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  const uint32_t h = Xxh32("k", 1, ns);
  L::Bucket* b = r.bucket(h & 255);
  r.entry(b->head)->flags = 0xFF00;  // invalid size class
  EXPECT_EQ(Put(*s, ns, "k", "w"), L::kOk);
  EXPECT_EQ(GetStr(*s, ns, "k"), "w");
  EXPECT_EQ(r.header()->gcCounter, 1u);
  VerifyOk(*s);
}

TEST_F(StoreOps, CorruptFreeListIsRebuilt) {
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), "v"), L::kOk);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(Del(*s, ns, "k" + std::to_string(i)));
  r.alloc()->freeHeads[0] = 5;               // points into the header
  EXPECT_EQ(Put(*s, ns, "x", "y"), L::kOk);  // the allocator sees it and a repair rebuilds
  EXPECT_EQ(GetStr(*s, ns, "x"), "y");
  VerifyOk(*s);
}

TEST_F(StoreOps, RepairCutsABrokenPool) {
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), "v"), L::kOk);
  const uint32_t first = s->firstUnit();
  // The 6th block gets an invalid class: the pool is cut there, later entries are dropped.
  r.entry(first + 5)->flags = 0x7700;
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(r.header()->freeHead, first + 5);
  auto rep = VerifyOk(*s);
  EXPECT_EQ(rep.entries, 5u);
  EXPECT_EQ(s->Count(0), 5u);
  EXPECT_EQ(s->Count(ns), 5u);
}

TEST_F(StoreOps, DuplicateKeyOnAChainIsDropped) {
  ASSERT_EQ(Put(*s, ns, "dup", "first"), L::kOk);
  const uint32_t h = Xxh32("dup", 3, ns);
  L::Bucket* b = r.bucket(h & 255);
  // Forge a second copy of the entry behind the first.
  const uint32_t first = b->head;
  const uint32_t copy = r.header()->freeHead;
  std::memcpy(r.entry(copy), r.entry(first), 64);
  r.header()->freeHead = copy + 1;
  r.entry(first)->next = copy;
  b->count = 2;
  VerifyReport rep;
  ASSERT_EQ(s->Verify(&rep), L::kOk);
  EXPECT_FALSE(rep.ok);
  ASSERT_EQ(s->Repair(), L::kOk);
  rep = VerifyOk(*s);
  EXPECT_EQ(rep.entries, 1u);
  EXPECT_EQ(r.entry(first)->next, 0u);
  EXPECT_EQ(rep.freeUnits, 1u);
}

TEST_F(StoreOps, CountsAreRecomputedByRepair) {
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Put(*s, ns, "k" + std::to_string(i), "v"), L::kOk);
  r.header()->entryCount = 7;
  r.ns(ns)->count = 0;
  r.nsState()->liveCount = 9;
  VerifyReport rep;
  ASSERT_EQ(s->Verify(&rep), L::kOk);
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.errors.size(), 3u);
  // A decrement at 0 does not wrap.
  EXPECT_TRUE(Del(*s, ns, "k0"));
  EXPECT_EQ(r.ns(ns)->count, 0u);
  ASSERT_EQ(s->Repair(), L::kOk);
  EXPECT_EQ(s->Count(0), 19u);
  EXPECT_EQ(s->Count(ns), 19u);
  VerifyOk(*s);
}

}  // namespace
}  // namespace shm::test
